{#
    The "now" that time-based generic tests (recency) measure against, as a
    SQL timestamp expression. When the var `generic_tests_reference_now`
    holds an ISO date or timestamp (e.g. '2024-06-30' or '2024-06-30
    12:00:00'), that instant is used, so results are deterministic on
    synthetic data generated "as of" a fixed day; when it is unset or
    empty, the warehouse's current timestamp is used.

        dbt build --vars '{generic_tests_reference_now: "2024-06-30"}'
#}
{% macro reference_now_timestamp() -%}
    {%- set reference_now = var('generic_tests_reference_now', none) -%}
    {%- if reference_now -%}
        cast('{{ dbt.escape_single_quotes(reference_now | string) }}'
            as {{ dbt.type_timestamp() }})
    {%- else -%}
        cast({{ dbt.current_timestamp() }} as {{ dbt.type_timestamp() }})
    {%- endif -%}
{%- endmacro %}
