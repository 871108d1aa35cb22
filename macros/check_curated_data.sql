{#
    on-run-start guard, before any model is built: stop the run with a clear
    message when no curated data has been generated (instead of failing later
    on a missing Parquet file deep inside a staging model), and when a curated
    partition is dated after the build's as-of date (a wrong clock upstream
    would otherwise move the incremental facts' high-water marks into the
    future), naming the table, the partition and both dates.
    Engines that cannot read Parquet in place (Spark) also register the curated
    tables here, so that every `source()` resolves: see
    register_curated_sources.
#}
{% macro check_curated_data() %}
    {% if execute and flags.WHICH in ('build', 'run', 'test', 'seed', 'snapshot', 'compile', 'show') %}
        {% set root = var('curated_root') %}
        {% set n_files = derived_tables.count_curated_files(root) %}
        {% if n_files == 0 %}
            {{ exceptions.raise_compiler_error(
                "No curated data found under '" ~ root ~ "'. Run the generator first: "
                ~ "`derived generate --scale 1` (or `make data`), or set DERIVED_DATA_DIR."
            ) }}
        {% endif %}
        {% set future_probe %}
            with files as ({{ curated_partition_files() }})
            select
                source_system || '.' || source_table
                    || '/extraction_date='
                    || cast(extraction_date as {{ dbt.type_string() }}),
                cast(extraction_date as {{ dbt.type_string() }}),
                cast({{ build_as_of_date() }} as {{ dbt.type_string() }}),
                count(*) over ()
            from files
            where extraction_date > {{ build_as_of_date() }}
            order by extraction_date, 1
            limit 1
        {% endset %}
        {% set future = run_query(future_probe).rows %}
        {% if future | length > 0 %}
            {% set row = future[0] %}
            {{ exceptions.raise_compiler_error(
                "future-dated partition " ~ row[0] ~ " (" ~ row[3]
                ~ " file(s) in all): its date " ~ row[1]
                ~ " is after the build's as-of date " ~ row[2]
                ~ "; nothing was built. Remove or re-date it upstream, or set"
                ~ " DERIVED_AS_OF (derived build --as-of) to the right date."
            ) }}
        {% endif %}
        {% do derived_tables.register_curated_sources(root) %}
    {% endif %}
    select 1
{% endmacro %}

{#- The number of curated Parquet files under `root` (any table, any partition). -#}
{% macro count_curated_files(root) -%}
    {{ return(adapter.dispatch('count_curated_files', 'derived_tables')(root)) }}
{%- endmacro %}

{% macro duckdb__count_curated_files(root) -%}
    {% set probe %}
        select count(*) as n_files
        from glob('{{ root }}/*/*/*/*.parquet')
    {% endset %}
    {{ return(run_query(probe).columns[0].values()[0]) }}
{%- endmacro %}

{#-
    Spark SQL cannot list files; reading every curated file's path through the
    `_metadata` column of a glob over all tables counts them (an empty or
    missing folder raises Spark's "Path does not exist", naming it).
-#}
{% macro spark__count_curated_files(root) -%}
    {% set probe %}
        select count(distinct _metadata.file_path) as n_files
        from parquet.`{{ derived_tables.absolute_path(root) }}/*/*/*/*.parquet`
    {% endset %}
    {{ return(run_query(probe).columns[0].values()[0]) }}
{%- endmacro %}

{#-
    Athena: the curated tables are Glue tables already (no local folder);
    Trino's "$path" pseudo-column names each row's S3 object, so the files
    holding at least one row are counted over every curated source.
-#}
{% macro athena__count_curated_files(root) -%}
    {% set probe %}
        select count(distinct file_path) as n_files
        from (
            {{ derived_tables.athena__curated_source_files() }}
        )
    {% endset %}
    {{ return(run_query(probe).columns[0].values()[0]) }}
{%- endmacro %}

{#-
    Athena: one row per curated source and S3 object holding one of its rows,
    columns `source_system`, `source_table`, `extraction_date` and `file_path`.
-#}
{% macro athena__curated_source_files() -%}
    {%- if not execute -%}
        {{ return(
            "select '' as source_system, '' as source_table,"
            ~ " cast(null as date) as extraction_date, '' as file_path") }}
    {%- endif -%}
    {%- for node in graph.sources.values()
        if node.package_name == project_name %}
    select distinct
        '{{ node.schema }}' as source_system,
        '{{ node.identifier }}' as source_table,
        cast(extraction_date as date) as extraction_date,
        "$path" as file_path
    from {{ api.Relation.create(
        database=node.database, schema=node.schema,
        identifier=node.identifier) }}
    {{ 'union all' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#
    Make every curated source readable by `source()`. DuckDB reads the Parquet in place through
    the sources' `meta.external_location`: nothing to do. Spark reads tables of its metastore:
    each source becomes an external Parquet table over its folder (`<root>/<schema>/<name>`),
    partitioned by `extraction_date` (Hive-style folders), with `mergeSchema` so that columns
    added in later partitions are read by name as DuckDB's `union_by_name` does. The table is
    dropped and created again on every run (dropping an external table never touches its
    files), then its partitions are listed, so a run sees exactly the partitions present when
    it starts.
#}
{% macro register_curated_sources(root) -%}
    {{ return(adapter.dispatch('register_curated_sources', 'derived_tables')(root)) }}
{%- endmacro %}

{% macro default__register_curated_sources(root) -%}
{%- endmacro %}

{% macro spark__register_curated_sources(root) -%}
    {%- set folder = derived_tables.absolute_path(root) -%}
    {%- set needed = derived_tables.sources_of_selected_nodes() -%}
    {%- set schemas = [] -%}
    {%- for node in graph.sources.values()
        if node.package_name == project_name and node.unique_id in needed -%}
        {%- if node.schema not in schemas -%}
            {%- do run_query('create database if not exists ' ~ node.schema) -%}
            {%- do schemas.append(node.schema) -%}
        {%- endif -%}
        {%- set table = node.schema ~ '.' ~ node.identifier -%}
        {%- do run_query('drop table if exists ' ~ table) -%}
        {%- do run_query(
            'create table ' ~ table ~ ' using parquet options (path '
            ~ "'" ~ folder ~ '/' ~ node.schema ~ '/' ~ node.identifier ~ "'"
            ~ ", mergeSchema 'true')"
        ) -%}
        {%- do run_query('msck repair table ' ~ table) -%}
    {%- endfor -%}
{%- endmacro %}

{#-
    The unique ids of the sources the selected nodes read (or that are selected themselves,
    for source tests): registering a table costs seconds on Spark, so a run selecting one
    domain registers that domain's sources only. Every source when nothing is selected.
-#}
{% macro sources_of_selected_nodes() -%}
    {%- set selected = selected_resources | default([], true) -%}
    {%- if selected | length == 0 -%}
        {{ return(graph.sources.keys() | list) }}
    {%- endif -%}
    {%- set needed = [] -%}
    {%- for unique_id in selected -%}
        {%- if unique_id.startswith('source.') -%}
            {%- do needed.append(unique_id) -%}
        {%- endif -%}
        {%- set node = graph.nodes.get(unique_id) -%}
        {%- if node is not none -%}
            {%- for parent in node.depends_on.nodes if parent.startswith('source.') -%}
                {%- do needed.append(parent) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(needed) }}
{%- endmacro %}

{#-
    `path` as an absolute path: Spark resolves a relative table location against
    its warehouse folder, not the working directory. dbt runs from the project
    folder (flags.PROJECT_DIR, else the working directory in PWD).
-#}
{% macro absolute_path(path) -%}
    {%- if path.startswith('/') or ':' in path.split('/')[0] -%}
        {{ return(path) }}
    {%- endif -%}
    {%- set base = (flags.PROJECT_DIR or env_var('PWD', '.')) | string -%}
    {{ return(base.rstrip('/') ~ '/' ~ path) }}
{%- endmacro %}
