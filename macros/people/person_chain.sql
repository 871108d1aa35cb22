{#
    The person chain, incremental: one home for how the models around the
    person linkage take in a daily extract (docs/linkage.md, "The person
    chain"). Each is `delete+insert` on its key; its config meta says
    `person_chain: true`.

    Upstream of the linkage, per record (int_person_records_unioned,
    int_person_record_versions_dated): a record is touched when its staged
    history (stg_<system>__..._history) has a row delivered after the latest
    `extraction_date` the model holds for that system; every row of a touched
    record is recomputed (person_records_touched).

    Downstream of the linkage, per person (int_person_states_derived,
    int_person_versions, dim_person): a record is changed when its row of
    int_person_records_linked (person, match probability, cluster size) or
    its latest extraction date differs from the one int_person_record_keys
    holds: that table, built after dim_person, records what the person models
    were last built from (person_records_changed). A person is touched when
    one of its records changed, now or before the change: every version row of
    a touched person is recomputed, the rows of a person that no longer exists
    (merged into another) are deleted (delete_vanished_persons, a pre-hook),
    other persons' rows are untouched. int_person_record_keys then replaces the
    rows of the changed records.

    A full rebuild of each (person_chain_full_rebuild_reason, through
    should_full_refresh) where patching is unsound:
      - one of the person history staging models was rebuilt in full in this
        invocation (a partition withdrawn or rewritten: rows can vanish
        without a newer extraction date), or did not run in it (a selection
        without staging: nothing says what changed);
      - (downstream of the linkage) int_person_record_keys is missing or was
        built by an older version of the project (no snapshot columns).
    Not seen: a build that rebuilt staging in full and then failed before
    the person chain ran (the next build patches from the staged rows as they
    are); run `--full-refresh` after such a failure.
#}

{#- The staging models whose rows make a person record's history. -#}
{% macro person_history_models() -%}
    {{ return([
        'stg_common_platform__defendant_history',
        'stg_nomis__offender_history',
        'stg_delius__offender_history',
    ]) }}
{%- endmacro %}

{#- The columns of int_person_record_keys the downstream models compare. -#}
{% macro person_snapshot_columns() -%}
    {{ return([
        'record_key', 'person_id', 'match_probability', 'cluster_size',
        'extraction_date',
    ]) }}
{%- endmacro %}

{#-
    The stored int_person_record_keys, read without ref() (it is built after
    the models that read it, so that it still holds their last inputs).
-#}
{% macro person_snapshot_relation() -%}
    {%- set node = graph.nodes.get(
        'model.' ~ project_name ~ '.int_person_record_keys') -%}
    {{ return(api.Relation.create(
        database=node.database, schema=node.schema,
        identifier=node.alias, type='table')) }}
{%- endmacro %}

{#
    Why a person chain model must be rebuilt in full on this run (a sentence
    for the log), or an empty string when it can be patched (see the header).
#}
{% macro person_chain_full_rebuild_reason() -%}
    {%- if not (config.get('meta') or {}).get('person_chain')
        or load_relation(this) is none -%}
        {{ return('') }}
    {%- endif -%}
    {#- the staging records of this invocation, wherever the engine keeps
        them (a table on DuckDB, table properties on Spark) -#}
    {%- set patched = staging_invocation_patched() -%}
    {%- set problem = person_history_problem(patched) -%}
    {%- if problem -%}
        {{ return(problem) }}
    {%- endif -%}
    {%- if config.get('meta').get('person_chain') == 'records' -%}
        {{ return('') }}
    {%- endif -%}
    {{ return(person_snapshot_problem()) }}
{%- endmacro %}

{#
    Why the person history staging models (person_history_models()) were not
    all patched by key in this invocation, given `patched` (a dict by model
    name of its watermark before the patch, none when rebuilt in full), or an
    empty string. Used by the person chain and the courts chain.
#}
{% macro person_history_problem(patched) -%}
    {{ return(staging_patch_problem(patched, person_history_models())) }}
{%- endmacro %}

{#
    Why the stored person snapshot (int_person_record_keys) cannot be patched
    against on this run (missing, or lacking a column of
    person_snapshot_columns()), or an empty string. Used by the person chain
    and the courts chain (court_chain_watermarks).
#}
{% macro person_snapshot_problem() -%}
    {%- set snapshot = load_relation(person_snapshot_relation()) -%}
    {%- if snapshot is none -%}
        {{ return('int_person_record_keys is missing') }}
    {%- endif -%}
    {%- set stored = adapter.get_columns_in_relation(snapshot)
        | map(attribute='name') | map('lower') | list -%}
    {%- for column in person_snapshot_columns() if column not in stored -%}
        {{ return('int_person_record_keys lacks ' ~ column
            ~ ' (built by an older version of the project)') }}
    {%- endfor -%}
    {{ return('') }}
{%- endmacro %}

{#
    Upstream of the linkage: a condition on `id_column` (of a CTE of the
    `system`'s records) true for the records whose staged history
    (`history`, a CTE with `extraction_date`) has a row delivered after the
    latest extraction date this model holds for the system. True on a full
    build.
#}
{% macro person_records_touched(history, id_column, system) -%}
    {%- if is_incremental() -%}
        {{ id_column }} in (
            select {{ history }}.{{ id_column }}
            from {{ history }}
            where {{ history }}.extraction_date > (
                select coalesce(
                    max(stored.extraction_date), cast('1900-01-01' as date)
                )
                from {{ this }} as stored
                where stored.system = '{{ system }}'
            )
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#
    Downstream of the linkage: the records whose linked row or latest
    extraction date differs from the stored int_person_record_keys (or that it
    lacks), with their person now (`person_id`) and before
    (`stored_person_id`). `linked` and `records`: int_person_records_linked
    and int_person_records_unioned (relations or CTE names).
#}
{% macro person_records_changed(linked, records) -%}
    select
        linked.record_key,
        linked.person_id,
        stored.person_id as stored_person_id
    from {{ linked }} as linked
    inner join {{ records }} as records
        on linked.record_key = records.record_key
    left join {{ person_snapshot_relation() }} as stored
        on linked.record_key = stored.record_key
    where
        stored.record_key is null
        or stored.person_id != linked.person_id
        or stored.match_probability is distinct from linked.match_probability
        or stored.cluster_size != linked.cluster_size
        or stored.extraction_date != records.extraction_date
{%- endmacro %}

{#
    The CTEs of a person model's incremental run, each ending with a comma:
    changed_records (person_records_changed) and touched_persons (one
    `person_id` column: the persons holding a changed record now or before
    the change). Nothing on a full build. `linked` and `records`:
    int_person_records_linked and int_person_records_unioned (pass the
    `ref()`s: the model depends on them on every build).
#}
{% macro persons_touched_ctes(linked, records) -%}
{% if is_incremental() %}
changed_records as (

    {{ person_records_changed(linked, records) }}

),

touched_persons as (

    select person_id from changed_records
    union
    select stored_person_id as person_id from changed_records
    where stored_person_id is not null

),
{% endif %}
{%- endmacro %}

{#
    A condition true for the rows of the persons a run recomputes
    (`person_id`, a clear person id column): the touched persons on an
    incremental run (persons_touched_ctes), every row on a full build.
#}
{% macro person_is_touched(person_id) -%}
    {%- if is_incremental() -%}
        {{ person_id }} in (select person_id from touched_persons)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#
    pre-hook of the person models downstream of the linkage: on an
    incremental run, deletes the rows of the persons that no longer exist
    (merged into another). Compared with the model's own rows, not with
    int_person_record_keys alone, so that a person added by a build that
    failed before int_person_record_keys was replaced is deleted too:
      - clear ids (`pseudonymised` false): the model's persons that no
        linked record holds;
      - pseudonymised ids (dim_person): the model's persons other than the
        pseudonyms of today's persons, which are those int_person_record_keys
        holds for a person still linked, and those of the changed records
        (person_records_changed): only these few are hashed. The default
        members are deleted too, and inserted again with the batch.
    `select 1` otherwise.
#}
{% macro delete_vanished_persons(pseudonymised=false) -%}
    {%- if execute and model.resource_type == 'model' and is_incremental() -%}
        {%- set linked = ref('int_person_records_linked') -%}
        {%- set snapshot = person_snapshot_relation() -%}
        {%- set gone -%}
            select distinct stored.person_id
            from {{ this }} as stored
            where stored.person_id not in (
            {%- if pseudonymised %}
                select kept.pseudonymised_person_id
                from {{ snapshot }} as kept
                where kept.person_id in (
                    select linked.person_id from {{ linked }} as linked
                )
                union
                select {{ pseudonymise('changed.person_id') }}
                from (
                    {{ person_records_changed(
                        linked, ref('int_person_records_unioned')) }}
                ) as changed
            {%- else %}
                select linked.person_id from {{ linked }} as linked
            {%- endif %}
            )
        {%- endset -%}
        {{ delete_rows_by_key(this, 'person_id', gone) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#
    pre-hook of int_person_records_unioned: records, like an incremental
    staging model (record_staging_watermark, touched_rows.sql), the watermark
    its data tests may restrict to: on an incremental run the earliest of its
    per-system watermarks (every record it recomputes has a later
    `extraction_date`), on a full build of an existing table a null (every
    test of the invocation then reads all rows). The mark becomes the model's
    staging_patched_from() for this run and is kept where the engine keeps
    the staging models' records (staging_watermark_record_sql: a row of
    `_staging_watermarks` on DuckDB, the table's properties on Spark).
#}
{% macro record_person_records_watermark() -%}
    {%- if execute and model is mapping and model.resource_type == 'model'
        and load_relation(this) is not none -%}
        {%- set mark = none -%}
        {%- if is_incremental() -%}
            {%- set mark = run_query(
                'select cast(min(watermark) as ' ~ dbt.type_string() ~ ') from'
                ~ ' (select max(extraction_date) as watermark from ' ~ this
                ~ ' group by system) as systems').rows[0][0] or none -%}
        {%- endif -%}
        {#- the cache staging_patched_from() reads -#}
        {%- do model.update({'_derived_staging_patched_from': [mark]}) -%}
        {{ staging_watermark_record_sql() }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
