{#
    Fails with one row when the model (after any `config: where`) has no
    rows.
#}
{% test not_empty(model, column_name=none) %}

with

measured as (

    select count(*) as n_rows from {{ model }}

),

validation_errors as (

    select * from measured where n_rows = 0

)

select * from validation_errors

{% endtest %}
