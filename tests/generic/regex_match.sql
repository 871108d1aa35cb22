{#
    Fails with every row whose column value does not match `pattern` in
    full (the pattern is anchored at both ends). Nulls pass.
    Engine-specific regex via regex_full_match().
#}
{% test regex_match(model, column_name, pattern, condition=none) %}

with

validation_errors as (

    select *

    from {{ model }}

    where
        not {{ regex_full_match(column_name, pattern) }}
        {%- if condition %}
        and ({{ condition }})
        {%- endif %}

)

select * from validation_errors

{% endtest %}
