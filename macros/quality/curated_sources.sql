{#
    Helpers behind the source-level data-quality tests (tests/generic/): which
    curated source a test is attached to, where its Parquet files are, what
    the files really hold. Execution-time only (they read `graph` and the
    files); at parse time they return none or an empty list.
#}

{#
    The source node (from `graph.sources`) of the relation a source test is
    attached to, matched on schema and identifier.
#}
{% macro curated_source_node(relation) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for node in graph.sources.values() -%}
        {%- if node.schema == relation.schema
            and node.identifier == relation.identifier -%}
            {{ return(node) }}
        {%- endif -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error(
        "curated_source_node: no source has schema '" ~ relation.schema
        ~ "' and table '" ~ relation.identifier ~ "'") }}
{%- endmacro %}

{#
    The glob of a curated source's Parquet files, read from its
    `meta.external_location` (`read_parquet('<root>/{schema}/{name}/...')`).
    With `every_table`, the glob of every curated table's files instead (the
    `{schema}` and `{name}` parts become wildcards).
#}
{% macro curated_files_glob(node, every_table=false) -%}
    {%- set location = node.config.meta.get('external_location')
        or node.meta.get('external_location') -%}
    {%- set found = modules.re.search("read_parquet\(\s*'([^']+)'", location or '') -%}
    {%- if not found -%}
        {{ exceptions.raise_compiler_error(
            node.source_name ~ "." ~ node.name ~ ": meta.external_location is not"
            ~ " a read_parquet('<glob>', ...) call: " ~ location) }}
    {%- endif -%}
    {%- set glob = found.group(1) -%}
    {%- if every_table -%}
        {{ return(glob.replace('{schema}', '*').replace('{name}', '*')) }}
    {%- endif -%}
    {{ return(glob.replace('{schema}', node.schema).replace('{name}', node.identifier)) }}
{%- endmacro %}

{#
    The declared columns of a source node as a list of [name, data_type]
    (data_type upper case without spaces, '' when not declared), leaving out
    `skip` (the Hive partition columns, which no file holds).
#}
{% macro curated_declared_columns(node, skip=[]) -%}
    {%- set columns = [] -%}
    {%- for column in node.columns.values() if column.name not in skip -%}
        {%- do columns.append([
            column.name,
            (column.data_type or '') | upper | replace(' ', ''),
        ]) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}

{#
    SQL listing the columns of every Parquet file matching `glob`: one row per
    file and column with `file_name`, `partition_label` (the Hive partition
    folder, e.g. 'extraction_date=2024-06-03') and `column_name`,
    `column_type` (the engine's type name, upper case, no spaces).
    Engine-specific, hence dispatched.
#}
{% macro curated_file_columns(glob) -%}
    {{ return(adapter.dispatch('curated_file_columns', 'derived_tables')(glob)) }}
{%- endmacro %}

{% macro duckdb__curated_file_columns(glob) -%}
    select
        file_name,
        regexp_extract(file_name, '([a-z_]+=[^/]+)/[^/]*$', 1)
            as partition_label,
        name as column_name,
        replace(upper(duckdb_type), ' ', '') as column_type
    from parquet_schema('{{ glob }}')
    where num_children is null
{%- endmacro %}

{% macro default__curated_file_columns(glob) -%}
    {{ exceptions.raise_compiler_error(
        "curated_file_columns: reading Parquet file schemas is implemented for"
        ~ " DuckDB only (adapter '" ~ adapter.type() ~ "')") }}
{%- endmacro %}

{#
    SQL listing the extraction dates delivered by any curated table under
    `glob` (a glob over every table's files): one row per date, column
    `extraction_date` (a date). Engine-specific, hence dispatched.
#}
{% macro curated_extraction_dates(glob) -%}
    {{ return(adapter.dispatch('curated_extraction_dates', 'derived_tables')(glob)) }}
{%- endmacro %}

{% macro duckdb__curated_extraction_dates(glob) -%}
    select distinct
        cast(
            regexp_extract(file, 'extraction_date=([0-9-]+)', 1) as date
        ) as extraction_date
    from glob('{{ glob }}')
{%- endmacro %}

{#- Spark: its `binaryFile` source lists a glob's files (none is read). -#}
{% macro spark__curated_extraction_dates(glob) -%}
    select distinct
        cast(
            regexp_extract(path, 'extraction_date=([0-9-]+)', 1) as date
        ) as extraction_date
    from binaryfile.`{{ derived_tables.absolute_path(glob) }}`
{%- endmacro %}

{#-
    Athena: the extraction dates of every curated source's rows ("$path"
    objects); `glob` (a local-file pattern) does not apply to Glue tables.
-#}
{% macro athena__curated_extraction_dates(glob) -%}
    select distinct extraction_date
    from (
        {{ derived_tables.athena__curated_source_files() }}
    )
{%- endmacro %}

{% macro default__curated_extraction_dates(glob) -%}
    {{ exceptions.raise_compiler_error(
        "curated_extraction_dates: listing files is implemented for DuckDB"
        ~ " only (adapter '" ~ adapter.type() ~ "')") }}
{%- endmacro %}

{#
    SQL describing the schema drift of one curated source: one row per
    (column, problem, declared type, delivered type), with `problem` one of
    'missing' (declared, absent from some files), 'retyped' (another type than
    declared), 'text' (text where a type in `text_types` is declared: staging
    parses it value by value) or 'undeclared' (in the files, not in the sources
    YAML); `n_files`, `n_all_files` and `first_partition` (the earliest
    partition folder with the problem). No rows when the files hold exactly the
    declared columns and types.
#}
{% macro curated_schema_drift_sql(
    node, skip=['extraction_date'], text_types=['DATE', 'TIMESTAMP']
) -%}
    {%- set declared = curated_declared_columns(node, skip) -%}
    with

    delivered as (

        {{ curated_file_columns(curated_files_glob(node)) }}

    ),

    declared (column_name, declared_type) as (

        values
        {%- for name, data_type in declared %}
            ('{{ name }}', '{{ data_type }}'){{ ',' if not loop.last }}
        {%- endfor %}

    ),

    files as (

        select distinct
            file_name,
            partition_label
        from delivered

    ),

    expected as (

        select
            files.file_name,
            files.partition_label,
            declared.column_name,
            declared.declared_type
        from files
        cross join declared

    ),

    problems as (

        select
            expected.column_name,
            expected.declared_type,
            delivered.column_type as delivered_type,
            expected.partition_label,
            case
                when delivered.column_name is null then 'missing'
                when expected.declared_type = '' then null
                when delivered.column_type = expected.declared_type then null
                when
                    delivered.column_type = 'VARCHAR'
                    and expected.declared_type in (
                        {%- for text_type in text_types -%}
                            '{{ text_type | upper }}'{{ ', ' if not loop.last }}
                        {%- endfor -%}
                    )
                    then 'text'
                else 'retyped'
            end as problem
        from expected
        left join delivered
            on
                expected.file_name = delivered.file_name
                and expected.column_name = delivered.column_name

        union all

        select
            delivered.column_name,
            null as declared_type,
            delivered.column_type as delivered_type,
            delivered.partition_label,
            'undeclared' as problem
        from delivered
        left join declared
            on delivered.column_name = declared.column_name
        where declared.column_name is null

    ),

    drift as (

        select
            '{{ node.source_name }}.{{ node.name }}' as source_table,
            column_name,
            problem,
            declared_type,
            delivered_type,
            count(*) as n_files,
            (select count(*) from files) as n_all_files,
            min(partition_label) as first_partition
        from problems
        where problem is not null
        group by column_name, problem, declared_type, delivered_type

    )

    select * from drift
{%- endmacro %}

{#
    One readable line per drift row, e.g.
    "nomis.bookings: column establishment_code missing (1 of 1 files, first in
    extraction_date=2024-06-03)".
#}
{% macro describe_schema_drift(node, row) -%}
    {%- set what -%}
        {%- if row['problem'] == 'missing' -%}
            missing
        {%- elif row['problem'] == 'undeclared' -%}
            not declared in the sources YAML (type {{ row['delivered_type'] }})
        {%- else -%}
            has type {{ row['delivered_type'] }}, expected {{ row['declared_type'] }}
        {%- endif -%}
    {%- endset -%}
    {{ return(
        node.source_name ~ "." ~ node.name ~ ": column " ~ row['column_name']
        ~ " " ~ what ~ " (" ~ row['n_files'] ~ " of " ~ row['n_all_files']
        ~ " files, first in " ~ row['first_partition'] ~ ")"
    ) }}
{%- endmacro %}
