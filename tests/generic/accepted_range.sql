{#
    Fails with every row whose column value lies outside [min_value,
    max_value] (or the open interval when inclusive is false). Either bound
    may be omitted, not both. Bounds are SQL expressions. Nulls pass.
    `condition` restricts the rows checked.
#}
{% test accepted_range(
    model,
    column_name,
    min_value=none,
    max_value=none,
    inclusive=true,
    condition=none
) %}

{%- if min_value is none and max_value is none %}
    {{ exceptions.raise_compiler_error(
        "accepted_range on " ~ column_name
        ~ ": give min_value, max_value or both") }}
{%- endif %}
{%- set operator_low = '>=' if inclusive else '>' %}
{%- set operator_high = '<=' if inclusive else '<' %}

with

validation_errors as (

    select *

    from {{ model }}

    where
        not (
            1 = 1
            {%- if min_value is not none %}
            and {{ column_name }} {{ operator_low }} {{ min_value }}
            {%- endif %}
            {%- if max_value is not none %}
            and {{ column_name }} {{ operator_high }} {{ max_value }}
            {%- endif %}
        )
        {%- if condition %}
        and ({{ condition }})
        {%- endif %}

)

select * from validation_errors

{% endtest %}
