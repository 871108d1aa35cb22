{#
    A 64-bit hash of `columns` (a list of quoted column names), or none
    where the engine has none the project uses (Athena): a cheap key for the
    source duplicate tests' first pass (no_exact_duplicates,
    no_redelivered_rows, no_conflicting_duplicates), which groups rows by
    this hash instead of by every column, then compares exactly only the
    rows whose hash repeats. Equal rows always share a hash; two different
    rows may too (a collision), so the hash only narrows what the exact
    comparison reads. Dispatched (`derived_tables`).
#}
{% macro row_hash(columns) -%}
    {{ return(adapter.dispatch('row_hash', 'derived_tables')(columns)) }}
{%- endmacro %}

{% macro duckdb__row_hash(columns) -%}
    {{ return('hash(' ~ columns | join(', ') ~ ')') }}
{%- endmacro %}

{% macro spark__row_hash(columns) -%}
    {{ return('xxhash64(' ~ columns | join(', ') ~ ')') }}
{%- endmacro %}

{% macro default__row_hash(columns) -%}
    {{ return(none) }}
{%- endmacro %}
