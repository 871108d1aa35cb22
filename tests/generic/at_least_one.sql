{#
    Fails with one row when the column holds no non-null value at all
    (including when the model is empty): catches a column silently nulled
    by a broken join or cast.
#}
{% test at_least_one(model, column_name) %}

with

measured as (

    select
        count(*) as n_rows,
        count({{ column_name }}) as n_not_null

    from {{ model }}

),

validation_errors as (

    select * from measured where n_not_null = 0

)

select * from validation_errors

{% endtest %}
