{#
    DuckDB implementation of dbt's cross-database `dbt.safe_cast(field, type)`.

    dbt-core's default__safe_cast is a plain CAST (dbt-duckdb ships no duckdb__ version), so
    a malformed value would fail the whole query instead of becoming null. DuckDB has
    TRY_CAST, the behaviour the macro's name promises; with no dispatch config, dbt searches
    the root project before its own macros for the `dbt` namespace, so this implementation is
    used wherever `dbt.safe_cast` runs on DuckDB. Other engines keep their adapter's version.
#}
{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{#-
    Spark: dbt-spark's spark__safe_cast is a plain CAST, which under ANSI mode (Spark 4's
    default) fails the query on a malformed value. TRY_CAST gives null, as on DuckDB.
-#}
{% macro spark__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}
