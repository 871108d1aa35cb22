{#
    SQL listing the curated Parquet files this run reads, one row per file:
    `source_system`, `source_table`, `extraction_date` (a date) and
    `file_name`. The same files as the sources' globs (`extraction_date=*`
    folders, no name starting with '.' or '_') under the `curated_root` var:
    under `derived build`, the partitions it pinned when it started.
    Engine-specific, hence dispatched.
#}
{% macro curated_partition_files() -%}
    {{ return(adapter.dispatch('curated_partition_files', 'derived_tables')()) }}
{%- endmacro %}

{% macro duckdb__curated_partition_files() -%}
    {%- set pattern = '/([^/]+)/([^/]+)/extraction_date=([^/]+)/([^/]+)$' -%}
    select
        regexp_extract(file, '{{ pattern }}', 1) as source_system,
        regexp_extract(file, '{{ pattern }}', 2) as source_table,
        try_cast(regexp_extract(file, '{{ pattern }}', 3) as date)
            as extraction_date,
        regexp_extract(file, '{{ pattern }}', 4) as file_name
    from glob(
        '{{ var("curated_root") }}/*/*/extraction_date=*/[!._]*.parquet'
    )
{%- endmacro %}

{#-
    Spark SQL has no glob(): its `binaryFile` source lists the files of a
    glob, empty ones included (only `path` is selected, so no file is read).
    Names starting with '.' or '_' are skipped by Spark's file listing, as
    by the DuckDB pattern.
-#}
{% macro spark__curated_partition_files() -%}
    {%- set pattern = '/([^/]+)/([^/]+)/extraction_date=([^/]+)/([^/]+)$' -%}
    {%- set root = derived_tables.absolute_path(var("curated_root")) -%}
    select
        regexp_extract(path, '{{ pattern }}', 1) as source_system,
        regexp_extract(path, '{{ pattern }}', 2) as source_table,
        try_cast(regexp_extract(path, '{{ pattern }}', 3) as date)
            as extraction_date,
        regexp_extract(path, '{{ pattern }}', 4) as file_name
    from binaryfile.`{{ root }}/*/*/extraction_date=*/*.parquet`
{%- endmacro %}

{#-
    Athena: no file listing in SQL; the "$path" pseudo-column of every curated
    source names the S3 objects holding rows (an empty file is not listed).
-#}
{% macro athena__curated_partition_files() -%}
    select
        source_system,
        source_table,
        extraction_date,
        element_at(split(file_path, '/'), -1) as file_name
    from (
        {{ derived_tables.athena__curated_source_files() }}
    )
{%- endmacro %}

{% macro default__curated_partition_files() -%}
    {{ exceptions.raise_compiler_error(
        "curated_partition_files: listing files is implemented for DuckDB"
        ~ " only (adapter '" ~ adapter.type() ~ "')") }}
{%- endmacro %}

{#
    The build's as-of date as a SQL date expression: the DERIVED_AS_OF
    environment variable `derived build` sets (from --as-of, else the
    machine's UTC date), else the current date of the engine.
#}
{% macro build_as_of_date() -%}
    {%- set as_of = env_var('DERIVED_AS_OF', '') -%}
    {%- if as_of -%}
        cast('{{ as_of }}' as date)
    {%- else -%}
        current_date
    {%- endif -%}
{%- endmacro %}
