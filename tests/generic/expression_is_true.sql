{#
    Fails with every row for which `expression` is false. At column level
    the column name is put in front of the expression (`column_name ~ ' ' ~
    expression`). Rows where the expression is null pass (use not_null for
    nulls). `condition` restricts the rows checked.
#}
{% test expression_is_true(
    model,
    expression,
    column_name=none,
    condition=none
) %}

{%- set full_expression = (
    column_name ~ ' ' ~ expression if column_name else expression) %}

with

validation_errors as (

    select *

    from {{ model }}

    where
        not ({{ full_expression }})
        {%- if condition %}
        and ({{ condition }})
        {%- endif %}

)

select * from validation_errors

{% endtest %}
