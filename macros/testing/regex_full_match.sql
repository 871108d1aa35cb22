{#
    Boolean SQL expression: true when the whole of `expression` matches the
    regular expression `pattern` (anchored at both ends), null when
    `expression` is null. `pattern` is a plain string (not SQL); single
    quotes in it are escaped here. Regex dialects differ by engine (DuckDB
    uses RE2, Postgres POSIX ARE), so keep patterns to the common subset:
    classes, ranges, quantifiers, alternation, `\d`, `\s`.
#}
{% macro regex_full_match(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match', 'derived_tables')(
        expression, pattern)) }}
{%- endmacro %}

{% macro duckdb__regex_full_match(expression, pattern) -%}
    regexp_full_match(
        {{ expression }}, '{{ dbt.escape_single_quotes(pattern) }}'
    )
{%- endmacro %}

{#-
    Spark: RLIKE (Java regex) with the pattern anchored. Spark SQL string
    literals take backslash escapes (an unknown one such as `\x` or `\d`
    loses its backslash), so the pattern's backslashes are doubled
    (spark_string_literal_body) for the regex engine to receive them.
-#}
{% macro spark__regex_full_match(expression, pattern) -%}
    ({{ expression }} rlike
        '^({{ derived_tables.spark_string_literal_body(pattern) }})$')
{%- endmacro %}

{% macro postgres__regex_full_match(expression, pattern) -%}
    ({{ expression }} ~ '^({{ dbt.escape_single_quotes(pattern) }})$')
{%- endmacro %}

{#- ANSI-style regexp_like (Snowflake, Oracle, MySQL 8, Trino), anchored. -#}
{% macro default__regex_full_match(expression, pattern) -%}
    regexp_like(
        {{ expression }}, '^({{ dbt.escape_single_quotes(pattern) }})$'
    )
{%- endmacro %}
