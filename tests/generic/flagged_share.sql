{#
    Rows flagged by a boolean data-quality column (`is_*_invalid`,
    `has_malformed_*`...) stay within a share of the model. Fails with every
    flagged row when the flagged share is above `at_most`: with the default 0
    any flagged row is reported and the test warns (the rows are kept and
    counted); with a share (e.g. 0.01) it is an error, because that many bad
    rows mean a broken extract rather than a few bad records.
#}
{% test flagged_share(model, column_name, at_most=0) %}

{{ config(severity='warn' if at_most == 0 else 'error') }}

with

measured as (

    select
        count(*) as n_rows,
        sum(case when {{ column_name }} then 1 else 0 end) as n_flagged
    from {{ model }}

),

flagged as (

    select * from {{ model }}
    where {{ column_name }}

),

validation_errors as (

    select flagged.*
    from flagged
    cross join measured
    where measured.n_flagged > {{ at_most }} * measured.n_rows

)

select * from validation_errors

{% endtest %}
