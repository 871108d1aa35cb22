{#
    Incremental staging: one home for how a staging model that reads a curated
    source takes in a new daily extract.

    A staging model of a curated table is incremental (`delete+insert` on its
    natural key, the model's `unique_key`). An incremental run restages only
    the natural keys that appear in the partitions newer than the latest
    `extraction_date` the table holds (its watermark): every delivery of
    those keys, from every partition, goes through the model's steps again
    (de-duplication, versioning, flags), and replaces the stored rows of
    those keys. Rows of other keys depend on nothing that changed, so the
    table equals a full refresh. A key's new version thus recomputes
    `valid_to`, `is_current` and `version_number` of its older versions.

    The run falls back to a full rebuild of the model (as under
    `--full-refresh`, see should_full_refresh) when the stored table can no
    longer be patched by key:
      - a partition it holds rows from is gone from the curated data
        (withdrawn, or re-dated: a backfill delivered as another extraction
        date); rows only that partition held would otherwise stay;
      - a newer partition delivers rows whose natural key is null: such rows
        cannot be matched by key (they are kept and flagged by the model's
        tests, as in a full build).
      - its source holds another number of rows up to the watermark than
        its last run recorded (record_staging_source, `_staging_sources`):
        a partition was rewritten in place (or added with an older date),
        or there is no such record (the first run after an upgrade).
    A partition rewritten in place with exactly as many rows is not seen:
    deliver a correction as a new extraction date, or run `--full-refresh`. A change in
    reference data (a seed a flag is checked against) also needs
    `--full-refresh`, as for the incremental facts.
#}

{#
    The rows of `relation` (a CTE of the model with the staged natural key
    and `extraction_date`) to stage in this run: all of them on a full build;
    on an incremental run, every row of a natural key delivered in a
    partition after the watermark.
#}
{% macro staging_rows(relation, natural_key) -%}
    select * from {{ relation }}
    {{- restaged_keys(natural_key, relation) }}
{%- endmacro %}

{#
    On an incremental run, a `where` clause keeping the rows whose key
    (`key_sql`, an expression over `relation`'s columns) was delivered in a
    partition after the watermark; nothing on a full build. Put it on the
    model's renamed CTE (`from source {{ restaged_keys(standardise_id('x')) }}`,
    `key_sql` the very expression that stages the natural key) so that the
    renaming, casting and flagging run on those keys' rows only, not on all
    history before staging_rows keeps them (2.5 s -> 1 s at scale 10 for the
    LPA history). `relation` defaults to the model's curated source itself
    (so that the engine reads only the partitions after the watermark to
    find the keys; the model's import CTE in a unit test).
#}
{% macro restaged_keys(key_sql, relation=none) -%}
    {%- if is_incremental() %}
    {%- set node = staging_source_node() if relation is none else none %}
    {%- if relation is none %}
        {%- set relation = source(node.source_name, node.name)
            if node is not none else 'source' %}
    {%- endif %}
    where {{ key_sql }} in (
        select {{ key_sql }}
        from {{ relation }}
        where cast(extraction_date as date) > {{ staging_watermark() }}
    )
    {%- endif %}
{%- endmacro %}

{#
    The watermark of an incremental staging model as a SQL date: the latest
    `extraction_date` its stored table holds, as a literal (so that the
    engine prunes the older Hive partitions), or as a subquery on `this` in a
    unit test (where `this` is a CTE).
#}
{% macro staging_watermark() -%}
    {%- if model.resource_type == 'unit_test' or not execute -%}
        (select max(extraction_date) from {{ this }})
    {%- else -%}
        {%- set mark = run_query(
            'select cast(max(extraction_date) as ' ~ dbt.type_string()
            ~ ') from ' ~ this).rows[0][0] -%}
        cast('{{ mark or "1900-01-01" }}' as date)
    {%- endif -%}
{%- endmacro %}

{#
    The curated source (`graph.sources` node) an incremental staging model
    reads: its only `source()`; none for any other node.
#}
{% macro staging_source_node() -%}
    {%- if not execute or model.resource_type != 'model'
        or config.get('materialized') != 'incremental' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set found = [] -%}
    {%- for unique_id in model.depends_on.nodes
        if unique_id.startswith('source.') -%}
        {%- do found.append(graph.sources[unique_id]) -%}
    {%- endfor -%}
    {{ return(found[0] if found | length == 1 else none) }}
{%- endmacro %}

{#
    Why an incremental staging model must be rebuilt in full on this run (a
    sentence for the log), or an empty string when its stored table can be
    patched by key. See the header of this file.
#}
{% macro staging_full_rebuild_reason() -%}
    {%- set node = staging_source_node() -%}
    {%- if node is none or load_relation(this) is none -%}
        {{ return('') }}
    {%- endif -%}
    {{ return(staging_patch_state(this, config.get('unique_key'), node).reason) }}
{%- endmacro %}

{#
    Whether the stored table `relation` of an incremental staging model
    (natural key `natural_key`, reading the source `source_node`, a
    `graph.sources` node) can be patched by key: a dict of `reason` (why it
    must be rebuilt in full, see the header of this file, or an empty
    string) and `watermark` (the latest extraction date it holds, a string,
    or none when it is empty). One probe query. Used by the model itself (staging_full_rebuild_reason) and by the
    source tests (source_checked_through, touched_rows.sql), which take the
    watermark of a table that can be patched as the partitions an earlier
    build checked.
#}
{% macro staging_patch_state(relation, natural_key, source_node) -%}
    {%- set source_relation = source(
        source_node.source_name, source_node.name) -%}
    {%- set recorded_rows = staging_recorded_rows_sql(relation) -%}
    {%- if recorded_rows is none -%}
        {{ return({
            'reason': 'no record of the source rows it was built from',
            'watermark': none}) }}
    {%- endif -%}
    {%- set probe -%}
        with

        partitions as (
            {{ curated_partition_files() }}
        ),

        source_dates as (
            select distinct extraction_date
            from partitions
            where
                source_system = '{{ source_node.schema }}'
                and source_table = '{{ source_node.identifier }}'
        ),

        stored_dates as (
            select distinct extraction_date from {{ relation }}
        ),

        watermark as (
            select max(extraction_date) as extraction_date from stored_dates
        )

        select
            (
                select cast(min(extraction_date) as {{ dbt.type_string() }})
                from stored_dates
                where extraction_date not in (
                    select extraction_date from source_dates
                )
            ) as withdrawn_date,
            (
                select count(*)
                from {{ source_relation }} as delivered
                where
                    delivered.extraction_date
                    > (select extraction_date from watermark)
                    and {{ standardise_id('delivered.' ~ natural_key) }}
                    is null
            ) as null_keys,
            (
                select count(*)
                from {{ source_relation }} as delivered
                where
                    delivered.extraction_date
                    <= (select extraction_date from watermark)
            ) as source_rows,
            {{ recorded_rows }} as recorded_rows,
            (
                select cast(extraction_date as {{ dbt.type_string() }})
                from watermark
            ) as watermark
    {%- endset -%}
    {%- set row = run_query(probe).rows[0] -%}
    {%- set state = {'reason': '', 'watermark': row[4] or none} -%}
    {%- if row[0] is not none -%}
        {%- do state.update({'reason':
            'it holds rows of extraction_date=' ~ row[0] ~ ', a partition no'
            ~ ' longer in the curated data'}) -%}
    {%- elif row[1] > 0 -%}
        {%- do state.update({'reason':
            row[1] ~ ' new row(s) with a null ' ~ natural_key
            ~ ' cannot be matched by key'}) -%}
    {%- elif row[3] is none -%}
        {%- do state.update({'reason':
            'no record of the source rows its last build read'}) -%}
    {%- elif row[2] != row[3] -%}
        {%- do state.update({'reason':
            'its source holds ' ~ row[2] ~ ' row(s) up to its latest extraction'
            ~ ' date, where its last build recorded ' ~ row[3]
            ~ ': an older partition was rewritten in place'}) -%}
    {%- endif -%}
    {{ return(state) }}
{%- endmacro %}

{#
    Why an incremental model with `meta: {grain_source: <model>}` (an
    accumulating snapshot, one row per key of that model) must be rebuilt in
    full on this run, or an empty string: its stored table holds keys that are
    no longer in the grain source (a case, application or order withdrawn
    with its partition), which `delete+insert` cannot remove. Empty for every
    other model.
#}
{% macro grain_source_full_rebuild_reason() -%}
    {%- set grain_source = (config.get('meta') or {}).get('grain_source') -%}
    {%- if not grain_source or load_relation(this) is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set key = config.get('unique_key') -%}
    {%- set probe -%}
        select count(*)
        from {{ this }} as stored
        where not exists (
            select 1
            from {{ ref(grain_source) }} as upstream
            where upstream.{{ key }} = stored.{{ key }}
        )
    {%- endset -%}
    {%- set gone = run_query(probe).rows[0][0] -%}
    {%- if gone > 0 -%}
        {{ return(
            gone ~ ' stored row(s) whose ' ~ key ~ ' is no longer in '
            ~ grain_source ~ ' (delete+insert cannot remove them)') }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}

{#
    dbt's should_full_refresh (its incremental materialisation and
    is_incremental() call it), extended: true on --full-refresh or the
    model's `full_refresh` config as in dbt, and also when an incremental
    staging model cannot be patched by key (staging_full_rebuild_reason), a
    current-state staging model's history model was not patched
    (current_versions_full_rebuild_reason, current_versions.sql), a
    model of the person chain cannot be patched
    (person_chain_full_rebuild_reason, macros/people/person_chain.sql), a
    model of a chain patched by key (courts, OPG) cannot be patched
    (patched_chain_full_rebuild_reason, macros/chains/patched_chain.sql), or an
    accumulating snapshot holds keys that left its grain source
    (grain_source_full_rebuild_reason), logged with the reason. Every other
    node keeps dbt's behaviour.
#}
{% macro should_full_refresh() %}
    {%- set configured = config.get('full_refresh') -%}
    {%- if configured is none -%}
        {%- set configured = flags.FULL_REFRESH -%}
    {%- endif -%}
    {%- if configured -%}
        {{ return(configured) }}
    {%- endif -%}
    {%- if not execute or model.resource_type != 'model' -%}
        {{ return(configured) }}
    {%- endif -%}
    {#- decided once per model and run, before the model writes: a later call
        (dbt-duckdb asks again after the merge) gets the same answer -#}
    {%- set cache_key = '_derived_full_rebuild_reason' -%}
    {%- if model is mapping and cache_key in model -%}
        {%- set reason = model[cache_key] -%}
    {%- else -%}
        {%- set reason = staging_full_rebuild_reason()
            or current_versions_full_rebuild_reason()
            or person_chain_full_rebuild_reason()
            or patched_chain_full_rebuild_reason()
            or grain_source_full_rebuild_reason() -%}
        {%- if model is mapping -%}
            {%- do model.update({cache_key: reason}) -%}
        {%- endif -%}
        {%- if reason -%}
            {%- do log(this.identifier ~ ': rebuilt in full: ' ~ reason, info=true) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if reason -%}
        {{ return(true) }}
    {%- endif -%}
    {{ return(configured) }}
{% endmacro %}
