{#
    True when `expression` holds a value that does not parse as `data_type`
    (text delivered for a date, say, that dbt.safe_cast turns into null);
    false when it is null or parses. Never null. Portable SQL (dbt.safe_cast).
#}
{% macro is_unparseable(expression, data_type) -%}
    coalesce(
        {{ expression }} is not null
        and {{ dbt.safe_cast(expression, data_type) }} is null,
        false
    )
{%- endmacro %}
