{#
    Fails with one row per combination of `combination_of_columns` that
    occurs more than once, with the number of rows holding it. Nulls
    compare equal (as in group by).
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

{%- set columns = as_column_list(
    combination_of_columns, 'combination_of_columns') %}

with

validation_errors as (

    select
        {% for column in columns -%}
        {{ column }},
        {% endfor -%}
        count(*) as n_rows

    from {{ model }}

    group by
        {% for column in columns -%}
        {{ column }}{{ ',' if not loop.last }}
        {% endfor %}

    having count(*) > 1

)

select * from validation_errors

{% endtest %}
