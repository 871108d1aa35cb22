{#
    A select list of every column of the relation read, except `columns`
    (those that are absent are ignored), without knowing the other column
    names: a source test compares rows "identical but for the partition
    column" this way. Engine-specific, hence dispatched.
#}
{% macro columns_except(columns) -%}
    {{ return(adapter.dispatch('columns_except', 'derived_tables')(columns)) }}
{%- endmacro %}

{% macro duckdb__columns_except(columns) -%}
    {%- if columns | length == 0 -%}
        *
    {%- else -%}
    columns(lambda c: c not in (
        {%- for column in columns -%}
            '{{ column }}'{{ ', ' if not loop.last }}
        {%- endfor -%}
    ))
    {%- endif -%}
{%- endmacro %}

{% macro default__columns_except(columns) -%}
    {{ exceptions.raise_compiler_error(
        "columns_except: selecting all columns but some is implemented for"
        ~ " DuckDB only (adapter '" ~ adapter.type() ~ "')") }}
{%- endmacro %}
