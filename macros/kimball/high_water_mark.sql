{#
    The high-water mark of an incremental fact: the latest load timestamp the stored table
    holds, or the beginning of time (1900-01-01) while it is empty, so that
    `source_extracted_at > <high-water mark>` selects every row newer than the last load
    and, on an empty table, all of them. An aggregate expression: select it from the CTE
    that reads {{ this }}.

    column: the stored timestamp column (default extracted_at).

    Example:
        high_water_mark as (
            select {{ high_water_mark() }} as max_extracted_at
            from existing_hearings
        ),
#}
{% macro high_water_mark(column='extracted_at') -%}
    coalesce(
        max({{ column }}),
        cast('1900-01-01' as {{ dbt.type_timestamp() }})
    )
{%- endmacro %}
