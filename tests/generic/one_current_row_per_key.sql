{#
    SCD2: each key (one or more columns) has exactly one row flagged
    current (or at most one when allow_no_current is true). Fails with one
    row per offending key.
#}
{% test one_current_row_per_key(
    model,
    key_columns,
    is_current_column='is_current',
    allow_no_current=false
) %}

{%- set columns = as_column_list(key_columns, 'key_columns') %}

with

per_key as (

    select
        {% for column in columns -%}
        {{ column }},
        {% endfor -%}
        count(*) as n_rows,
        sum(
            case when {{ is_current_column }} then 1 else 0 end
        ) as n_current_rows

    from {{ model }}

    group by
        {% for column in columns -%}
        {{ column }}{{ ',' if not loop.last }}
        {% endfor %}

),

validation_errors as (

    select * from per_key
    where
        n_current_rows > 1
        {%- if not allow_no_current %}
        or n_current_rows = 0
        {%- endif %}

)

select * from validation_errors

{% endtest %}
