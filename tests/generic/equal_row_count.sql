{#
    Fails with one row when the model and `compare_model` hold different
    numbers of rows. `config: where` filters the model; `compare_condition`
    filters compare_model.
#}
{% test equal_row_count(
    model,
    compare_model,
    compare_condition=none,
    column_name=none
) %}

with

model_rows as (

    select count(*) as n_rows from {{ model }}

),

compare_rows as (

    select count(*) as n_rows

    from {{ compare_model }}

    {%- if compare_condition %}
    where {{ compare_condition }}
    {%- endif %}

),

compared as (

    select
        model_rows.n_rows as model_rows,
        compare_rows.n_rows as compare_model_rows,
        model_rows.n_rows - compare_rows.n_rows as difference

    from model_rows
    cross join compare_rows

),

validation_errors as (

    select * from compared where difference <> 0

)

select * from validation_errors

{% endtest %}
