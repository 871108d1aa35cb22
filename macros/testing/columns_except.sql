{#
    A select list of every column of the relation read, except `columns`
    (those that are absent are ignored), without knowing the other column
    names: a source test compares rows "identical but for the partition
    column" this way. Engine-specific, hence dispatched.
#}
{% macro columns_except(columns, relation=none) -%}
    {{ return(adapter.dispatch('columns_except', 'derived_tables')(
        columns, relation)) }}
{%- endmacro %}

{% macro duckdb__columns_except(columns, relation=none) -%}
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

{#-
    Spark 4: `* except (...)`. Unlike DuckDB's lambda, a name absent from the
    relation is an error (UNRESOLVED_COLUMN) rather than ignored.
-#}
{% macro spark__columns_except(columns, relation=none) -%}
    {%- if columns | length == 0 -%}
        *
    {%- else -%}
    * except ({{ columns | join(', ') }})
    {%- endif -%}
{%- endmacro %}

{#-
    Athena (Trino) has no star-except: the select list is the declared
    columns of the curated source `relation` (the test's model), minus
    `columns`; `*` while parsing (nothing runs then).
-#}
{% macro athena__columns_except(columns, relation=none) -%}
    {%- if not execute -%}
        {{ return('*') }}
    {%- endif -%}
    {%- if relation is none -%}
        {{ exceptions.raise_compiler_error(
            "columns_except on Athena needs the relation read") }}
    {%- endif -%}
    {%- set node = derived_tables.curated_source_node(relation) -%}
    {%- set kept = [] -%}
    {%- for column in node.columns.values() if column.name not in columns -%}
        {%- do kept.append(adapter.quote(column.name)) -%}
    {%- endfor -%}
    {{ kept | join(', ') if kept else '*' }}
{%- endmacro %}

{% macro default__columns_except(columns, relation=none) -%}
    {{ exceptions.raise_compiler_error(
        "columns_except: selecting all columns but some is implemented for"
        ~ " DuckDB only (adapter '" ~ adapter.type() ~ "')") }}
{%- endmacro %}
