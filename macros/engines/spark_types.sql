{#
    Type names on Spark. The project's YAML declares the portable ANSI names that DuckDB reads
    (`varchar`, `integer`, `timestamp`, ...); Spark's parser rejects a bare `varchar` (it wants a
    length) and names it `string`. spark_type_name() translates one declared type name;
    dbt's cross-database `cast` (which contracts use to read the declared types of a model's
    columns) and the seeds' `column_types` go through it on Spark, so the YAML stays the same
    for every engine.
#}
{% macro spark_type_name(type) -%}
    {%- set name = type | string | trim -%}
    {%- if name | lower in ('varchar', 'text', 'char varying', 'character varying') -%}
        {{ return('string') }}
    {%- endif -%}
    {{ return(name) }}
{%- endmacro %}

{#- dbt.cast on Spark, with the declared type translated. -#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ derived_tables.spark_type_name(type) }})
{%- endmacro %}
