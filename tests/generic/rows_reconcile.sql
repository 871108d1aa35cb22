{#
    Row reconciliation from an upstream model (`compare_model`, rows in) to
    the tested model (rows out): rows in = rows out + rows flagged, where
    flagged rows are the upstream rows matching `flagged_condition` (rows
    rightly held back: rejected, invalid, deleted...). Fails with one row
    holding the three counts and the unexplained difference.
#}
{% test rows_reconcile(
    model,
    compare_model,
    flagged_condition=none,
    compare_condition=none,
    column_name=none
) %}

with

rows_out as (

    select count(*) as n_rows from {{ model }}

),

rows_in as (

    select
        count(*) as n_rows,
        {%- if flagged_condition %}
        sum(case when {{ flagged_condition }} then 1 else 0 end)
        {%- else %}
        0
        {%- endif %} as n_flagged

    from {{ compare_model }}

    {%- if compare_condition %}
    where {{ compare_condition }}
    {%- endif %}

),

reconciled as (

    select
        rows_in.n_rows as rows_in,
        rows_out.n_rows as rows_out,
        coalesce(rows_in.n_flagged, 0) as rows_flagged,
        rows_in.n_rows - rows_out.n_rows - coalesce(rows_in.n_flagged, 0)
            as unexplained_difference

    from rows_in
    cross join rows_out

),

validation_errors as (

    select * from reconciled where unexplained_difference <> 0

)

select * from validation_errors

{% endtest %}
