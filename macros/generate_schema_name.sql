{#
    Use a model's custom schema name as it is (staging, courts, ...) instead of dbt's default
    <target_schema>_<custom_schema>, so analysts see domain-named schemas in the warehouse.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
