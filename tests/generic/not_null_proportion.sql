{#
    Fails with one row when the share of non-null values in the column lies
    outside [at_least, at_most]. An empty model passes (nothing to measure;
    see not_empty).
#}
{% test not_null_proportion(model, column_name, at_least, at_most=1.0) %}

with

measured as (

    select
        count(*) as n_rows,
        count({{ column_name }}) as n_not_null,
        count({{ column_name }}) * 1.0 / nullif(count(*), 0)
            as not_null_proportion

    from {{ model }}

),

validation_errors as (

    select
        *,
        {{ at_least }} as at_least,
        {{ at_most }} as at_most

    from measured

    where
        not_null_proportion < {{ at_least }}
        or not_null_proportion > {{ at_most }}

)

select * from validation_errors

{% endtest %}
