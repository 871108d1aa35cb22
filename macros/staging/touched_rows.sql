{#
    Data tests on the rows a run touched.

    On an incremental run (`dbt build` or `dbt run` then tests in the same
    invocation), the data tests of an incremental staging model check only
    the rows of the natural keys the run restaged, where that is sound: every
    other row is unchanged since the build that last tested it (a staging row
    is a function of its key's deliveries and the reference seeds only). Full
    builds, `--full-refresh`, a `dbt test` on its own, and any run in which an
    incremental staging model was rebuilt in full test every row. The list of
    tests that always run on all rows, and why: docs/data-quality.md.

    How: each incremental staging model records, in a pre-hook, the watermark
    it patches from (staging_watermark) in the table `_staging_watermarks` of
    the staging schema, tagged with the dbt invocation id; the table is
    emptied at the start of every invocation (reset_staging_watermarks, an
    on-run-start hook). dbt's get_where_subquery (the relation every generic
    test reads) restricts a test of such a model to the rows of the keys
    delivered after that watermark (touched_rows_condition).

    The other incremental models (the incremental facts and intermediates,
    `delete+insert` on their `unique_key`) are not a function of one source's
    keys: a run also rewrites rows for other reasons (a person re-keyed, a
    dimension member arrived). Their `delete+insert` records the keys it
    writes instead (record_touched_keys, called by get_incremental_delete_insert_sql
    on the batch it is about to insert) in `_touched_keys`, and a mark
    'touched keys' in `_staging_watermarks`; their tests are restricted to the
    rows of those keys. Every other row is the row an earlier build wrote and
    tested. A model rebuilt in full records nothing, so its tests read every
    row.
#}

{#-
    The relation holding this invocation's staging watermarks (in the
    target's database; Spark has none, so `target.get`).
-#}
{% macro staging_watermarks_relation() -%}
    {{ return(api.Relation.create(
        database=target.get('database'),
        schema=generate_schema_name('staging', none) | trim,
        identifier='_staging_watermarks',
        type='table',
    )) }}
{%- endmacro %}

{#
    on-run-start: an empty watermark table for this invocation (dropped and
    created again) on the commands that run models or tests; nothing on the
    others.
#}
{% macro reset_staging_watermarks() %}
    {%- if execute and flags.WHICH in ('build', 'run', 'test', 'retry') -%}
        {%- set relation = staging_watermarks_relation() -%}
        {%- set columns = 'model_name ' ~ dbt.type_string()
            ~ ', invocation_id ' ~ dbt.type_string()
            ~ ', watermark ' ~ dbt.type_string() -%}
        {%- set create = create_staging_watermarks_sql(relation, columns) -%}
        {%- if create -%}
            {%- do adapter.create_schema(relation) -%}
            {%- do run_query('drop table if exists ' ~ relation) -%}
            {%- do run_query(create) -%}
            {%- do adapter.cache_added(relation) -%}
            {%- set keys = touched_keys_relation() -%}
            {%- do run_query('drop table if exists ' ~ keys) -%}
            {%- do run_query(create_staging_watermarks_sql(keys,
                'model_name ' ~ dbt.type_string()
                ~ ', invocation_id ' ~ dbt.type_string()
                ~ ', key_value ' ~ dbt.type_string())) -%}
            {%- do adapter.cache_added(keys) -%}
        {%- endif -%}
    {%- endif -%}
    select 1
{% endmacro %}

{#- The relation holding the keys this invocation's incremental models wrote. -#}
{% macro touched_keys_relation() -%}
    {{ return(staging_watermarks_relation().incorporate(
        path={'identifier': '_touched_keys'})) }}
{%- endmacro %}

{#
    The mark an incremental model (other than staging) records in
    `_staging_watermarks` when its run wrote by key, so that its tests read
    only the keys listed in `_touched_keys`.
-#}
{% macro touched_keys_mark() -%}
    {{ return('touched keys') }}
{%- endmacro %}

{#
    Called by get_incremental_delete_insert_sql on an incremental run, inside
    the model's transaction and before the batch replaces the stored rows:
    records the distinct `unique_key` values of `batch` (the rows this run
    writes) in `_touched_keys` and the model's mark in `_staging_watermarks`.
    Nothing for an incremental staging model (its watermark says which keys
    it restaged), a composite key, or when the tables are missing (then the
    model's tests read every row).
-#}
{% macro record_touched_keys(batch, unique_key) %}
    {%- if not execute or model.resource_type != 'model'
        or unique_key is not string
        or staging_source_node() is not none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set marks = staging_watermarks_relation() -%}
    {%- set keys = touched_keys_relation() -%}
    {%- if load_relation(marks) is none or load_relation(keys) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- do run_query(
        'insert into ' ~ keys ~ ' select distinct '
        ~ "'" ~ this.identifier ~ "', '" ~ invocation_id ~ "', cast("
        ~ unique_key ~ ' as ' ~ dbt.type_string() ~ ') from ' ~ batch) -%}
    {%- do run_query(
        'insert into ' ~ marks ~ " values ('" ~ this.identifier ~ "', '"
        ~ invocation_id ~ "', '" ~ touched_keys_mark() ~ "')") -%}
{% endmacro %}

{#
    dbt's get_incremental_delete_insert_sql (the `delete+insert` strategy of
    an incremental model, dbt-core and dbt-duckdb), with the batch's keys
    recorded first (record_touched_keys). dbt-spark does not reach it (its
    delete+insert is macros/engines/spark_incremental.sql): there the tests
    of these models read every row.
-#}
{% macro get_incremental_delete_insert_sql(arg_dict) %}
    {%- do record_touched_keys(
        arg_dict['temp_relation'], arg_dict['unique_key']) -%}
    {{ return(adapter.dispatch(
        'get_incremental_delete_insert_sql', 'dbt')(arg_dict)) }}
{% endmacro %}

{#-
    The statement creating the watermark table, or none where the engine
    keeps no such table (then no test is restricted). Dispatched.
-#}
{% macro create_staging_watermarks_sql(relation, columns) -%}
    {{ return(adapter.dispatch('create_staging_watermarks_sql', 'derived_tables')(
        relation, columns)) }}
{%- endmacro %}

{% macro duckdb__create_staging_watermarks_sql(relation, columns) -%}
    {{ return('create table ' ~ relation ~ ' (' ~ columns ~ ')') }}
{%- endmacro %}

{#-
    Spark: no such tables. The staging models would insert into them from
    several threads at once, and concurrent inserts into one Parquet table
    clash in Hadoop's output committer (`_temporary/0` of the table folder);
    each model keeps its record in its own table's properties instead
    (macros/engines/spark_staging_records.sql).
-#}
{% macro spark__create_staging_watermarks_sql(relation, columns) -%}
    {{ return(none) }}
{%- endmacro %}

{% macro default__create_staging_watermarks_sql(relation, columns) -%}
    {{ return(none) }}
{%- endmacro %}

{#
    pre-hook of the staging models: an incremental staging model patched by
    key records its watermark (the latest extraction date it holds before
    this run); one rebuilt in full records a null watermark, which makes
    every test of the invocation run on all rows. Nothing for other models.
    Where the record is kept is the engine's (staging_watermark_record_sql).
#}
{% macro record_staging_watermark() %}
    {%- if execute and staging_source_node() is not none
        and load_relation(this) is not none -%}
        {{ staging_watermark_record_sql() }}
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}

{#-
    The watermark an existing incremental staging model patches from in
    this run, or none when it is rebuilt in full; computed once per model
    and run (kept in the model's node for the post-hook).
-#}
{% macro staging_patched_from() -%}
    {%- set cache_key = '_derived_staging_patched_from' -%}
    {%- if model is mapping and cache_key in model -%}
        {{ return(model[cache_key][0]) }}
    {%- endif -%}
    {%- set mark = none -%}
    {%- if is_incremental() -%}
        {%- set mark = run_query(
            'select cast(max(extraction_date) as ' ~ dbt.type_string()
            ~ ') from ' ~ this).rows[0][0] or none -%}
    {%- endif -%}
    {%- if model is mapping -%}
        {%- do model.update({cache_key: [mark]}) -%}
    {%- endif -%}
    {{ return(mark) }}
{%- endmacro %}

{#-
    The statement recording this invocation's watermark of the model being
    run (staging_patched_from), or `select 1` where the engine keeps no
    record. Dispatched.
-#}
{% macro staging_watermark_record_sql() -%}
    {{ return(adapter.dispatch('staging_watermark_record_sql', 'derived_tables')()) }}
{%- endmacro %}

{#- a row of `_staging_watermarks` (one table, inserted into by every model) -#}
{% macro default__staging_watermark_record_sql() -%}
    {%- if load_relation(staging_watermarks_relation()) is none -%}
        {{ return('select 1') }}
    {%- endif -%}
    {%- set mark = staging_patched_from() -%}
    {%- set mark_sql = "'" ~ mark ~ "'" if mark else 'null' -%}
    {{ return(
        'insert into ' ~ staging_watermarks_relation()
        ~ " values ('" ~ this.identifier ~ "', '" ~ invocation_id ~ "', "
        ~ mark_sql ~ ')') }}
{%- endmacro %}

{#
    The invocation's watermarks: a list of [model name, watermark or none
    when rebuilt in full], one per incremental staging model that recorded
    one in this dbt invocation; none where the engine keeps no record (then
    no test is restricted). Dispatched.
#}
{% macro staging_invocation_watermarks() -%}
    {{ return(adapter.dispatch('staging_invocation_watermarks', 'derived_tables')()) }}
{%- endmacro %}

{% macro default__staging_invocation_watermarks() -%}
    {%- set marks = staging_watermarks_relation() -%}
    {%- if load_relation(marks) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set found = [] -%}
    {%- for row in run_query(
        'select model_name, watermark from ' ~ marks
        ~ " where invocation_id = '" ~ invocation_id ~ "'").rows -%}
        {%- do found.append([row[0], row[1]]) -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#
    This invocation's patches, from its watermarks (staging_invocation_watermarks):
    a dict by model name of the latest watermark the model patched from, none
    when any of its runs in this invocation rebuilt it in full; none where
    the engine keeps no record.
#}
{% macro staging_invocation_patched() -%}
    {%- set marks = staging_invocation_watermarks() -%}
    {%- if marks is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set patched = {} -%}
    {%- for model_name, watermark in marks -%}
        {%- if model_name not in patched or watermark is none
            or (patched[model_name] is not none
                and watermark > patched[model_name]) -%}
            {%- do patched.update({model_name: watermark}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(patched) }}
{%- endmacro %}

{#
    Why the staging models `names` were not all patched by key in this
    invocation, given `patched` (staging_invocation_patched: none where the
    engine keeps no record), as a sentence, or an empty string.
#}
{% macro staging_patch_problem(patched, names) -%}
    {%- if patched is none -%}
        {{ return('no record of the staging runs of this invocation') }}
    {%- endif -%}
    {%- for name in names -%}
        {%- if name not in patched -%}
            {{ return(name ~ ' did not run in this invocation') }}
        {%- elif patched[name] is none -%}
            {{ return(name ~ ' was rebuilt in full') }}
        {%- endif -%}
    {%- endfor -%}
    {{ return('') }}
{%- endmacro %}

{#
    The data tests that may check only the touched keys' rows (of error
    severity: a warning counts every flagged row of the table). Row-level
    rules hold row by row; the key-level ones (uniqueness, one current row,
    non-overlapping ranges) hold within the rows of one natural key, so they
    are restricted only when their key is the model's natural key (or a
    version key, a hash of it and `valid_from`). A relationships test checks
    the touched child rows against ALL rows of the parent.
#}
{% macro is_touched_rows_test(test_metadata, natural_key) -%}
    {%- set name = test_metadata.get('name') -%}
    {%- set kwargs = test_metadata.get('kwargs', {}) -%}
    {%- if name in (
        'not_null', 'accepted_values', 'accepted_range', 'expression_is_true',
        'no_invalid_characters', 'relationships', 'column_constraints'
    ) -%}
        {{ return(true) }}
    {%- elif name == 'unique' -%}
        {%- set column = kwargs.get('column_name') -%}
        {{ return(column == natural_key or column.endswith('_version_key')) }}
    {%- elif name == 'one_current_row_per_key' -%}
        {{ return(kwargs.get('key_columns') in (natural_key, [natural_key])) }}
    {%- elif name == 'mutually_exclusive_ranges' -%}
        {{ return(kwargs.get('partition_by') == natural_key) }}
    {%- elif name == 'unique_combination_of_columns' -%}
        {{ return(natural_key in kwargs.get('combination_of_columns', [])) }}
    {%- endif -%}
    {{ return(false) }}
{%- endmacro %}

{#
    How the model `alias` was written in this invocation, from the recorded
    marks (staging_invocation_watermarks): a dict of `watermark` (the latest
    watermark it patched from, or none) and `touched` (it recorded the keys
    its delete+insert wrote); none when its tests must read every row: no
    record at all, any incremental staging model rebuilt in full in this
    invocation, or the model recorded neither. A model with both a
    watermark and touched keys (int_person_records_unioned) is restricted
    to the keys it wrote, the narrower set.
#}
{% macro touched_state(alias) -%}
    {%- set marks = staging_invocation_watermarks() -%}
    {%- if marks is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set state = namespace(watermark=none, rebuilt=false, touched=false) -%}
    {%- for model_name, watermark in marks -%}
        {%- if watermark is none -%}
            {%- set state.rebuilt = true -%}
        {%- elif model_name == alias
            and watermark == touched_keys_mark() -%}
            {%- set state.touched = true -%}
        {%- elif model_name == alias
            and (state.watermark is none or watermark > state.watermark) -%}
            {%- set state.watermark = watermark -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if state.rebuilt
        or (state.watermark is none and not state.touched) -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return({'watermark': state.watermark, 'touched': state.touched}) }}
{%- endmacro %}

{#
    The condition restricting the generic test being compiled to the rows of
    the touched keys of the model it tests, or an empty string when it must
    see every row (see the header of this file).
#}
{% macro touched_rows_condition(relation) -%}
    {%- if not execute or model.resource_type != 'test'
        or not model.get('attached_node') -%}
        {{ return('') }}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.attached_node) -%}
    {%- if tested is none or tested.resource_type != 'model'
        or tested.config.materialized != 'incremental'
        or not tested.config.get('unique_key')
        or tested.config.unique_key is not string
        or relation.identifier != tested.alias -%}
        {{ return('') }}
    {%- endif -%}
    {%- set natural_key = tested.config.unique_key -%}
    {#- a warning counts the flagged rows of the whole table (trust panel) -#}
    {%- if (model.config.get('severity') or 'error') | lower != 'error'
        or not is_touched_rows_test(model.get('test_metadata') or {}, natural_key) -%}
        {{ return('') }}
    {%- endif -%}
    {%- set state = touched_state(tested.alias) -%}
    {%- if state is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- if state.touched -%}
        {%- set condition -%}
            cast({{ natural_key }} as {{ dbt.type_string() }}) in (
                select key_value from {{ touched_keys_relation() }}
                where
                    model_name = '{{ tested.alias }}'
                    and invocation_id = '{{ invocation_id }}'
            )
        {%- endset -%}
        {{ return(condition) }}
    {%- endif -%}
    {%- set condition -%}
        {{ natural_key }} in (
            select {{ natural_key }} from {{ relation }}
            where extraction_date > cast('{{ state.watermark }}' as date)
        )
    {%- endset -%}
    {{ return(condition) }}
{%- endmacro %}

{#
    dbt's get_where_subquery (the relation a generic test reads): the test's
    `where` config as in dbt, and on an incremental run the touched-rows
    restriction of touched_rows_condition.
#}
{% macro default__get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set touched = touched_rows_condition(relation) -%}
    {%- if touched -%}
        {%- do conditions.append('(' ~ touched ~ ')') -%}
    {%- endif -%}
    {%- if conditions -%}
        {#- the relation is aliased: Spark reads `<table> where (...)` as the
            table aliased `where` with a column list (ASSIGNMENT_ARITY_MISMATCH) -#}
        {%- set filtered -%}
            (select * from {{ relation }} as dbt_where_relation
            where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{#
    The record of what each incremental staging model was built from: one
    row per successful run of the model (`model_name`, `recorded_at`,
    `watermark`: the latest extraction date it then held, `source_rows`: the
    curated rows of its source up to that date). Kept across builds in the
    staging schema (`_staging_sources`); a later run that finds another
    number of source rows up to the same date knows that an older partition
    was rewritten in place, and rebuilds the model in full.
#}
{% macro staging_sources_relation() -%}
    {{ return(staging_watermarks_relation().incorporate(
        path={'identifier': '_staging_sources'})) }}
{%- endmacro %}

{#- on-run-start: create `_staging_sources` when missing (never emptied). -#}
{% macro create_staging_sources() %}
    {%- if execute and flags.WHICH in ('build', 'run', 'retry') -%}
        {%- set relation = staging_sources_relation() -%}
        {%- set columns = 'model_name ' ~ dbt.type_string()
            ~ ', recorded_at ' ~ dbt.type_timestamp()
            ~ ', watermark ' ~ dbt.type_string()
            ~ ', source_rows ' ~ dbt.type_bigint() -%}
        {%- set create = create_staging_watermarks_sql(relation, columns) -%}
        {%- if create and load_relation(relation) is none -%}
            {%- do adapter.create_schema(relation) -%}
            {%- do run_query(create) -%}
            {%- do adapter.cache_added(relation) -%}
        {%- endif -%}
    {%- endif -%}
    select 1
{% endmacro %}

{#- SQL counting the rows of `source_relation` up to extraction date `mark`. -#}
{% macro staging_source_rows_sql(source_relation, mark) -%}
    select count(*) from {{ source_relation }} as delivered
    where delivered.extraction_date <= cast('{{ mark }}' as date)
{%- endmacro %}

{#
    post-hook of the staging models: an incremental staging model records its
    new watermark and the number of source rows up to it, where the engine
    keeps it (staging_source_record_sql). `select 1` for every other model.
#}
{% macro record_staging_source() %}
    {%- set node = staging_source_node() -%}
    {%- if execute and node is not none -%}
        {{ staging_source_record_sql(source(node.source_name, node.name)) }}
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}

{#-
    The statement recording what the model just run was built from (its
    latest extraction date and its source's rows up to it), or `select 1`.
    Dispatched.
-#}
{% macro staging_source_record_sql(source_relation) -%}
    {{ return(adapter.dispatch('staging_source_record_sql', 'derived_tables')(
        source_relation)) }}
{%- endmacro %}

{#- a row of `_staging_sources` (one table, inserted into by every model) -#}
{% macro default__staging_source_record_sql(source_relation) -%}
    {%- if load_relation(staging_sources_relation()) is none -%}
        {{ return('select 1') }}
    {%- endif -%}
    {%- set mark = run_query(
        'select cast(max(extraction_date) as ' ~ dbt.type_string()
        ~ ') from ' ~ this).rows[0][0] -%}
    {%- if not mark -%}
        {{ return('select 1') }}
    {%- endif -%}
    {%- set insert -%}
        insert into {{ staging_sources_relation() }}
        select
            '{{ this.identifier }}',
            cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}'
                as {{ dbt.type_timestamp() }}),
            '{{ mark }}',
            ({{ staging_source_rows_sql(source_relation, mark) }})
    {%- endset -%}
    {{ return(insert) }}
{%- endmacro %}

{#
    The source rows the model's last build recorded for its current
    watermark, as a SQL expression for staging_patch_state's probe (whose
    CTE `watermark` holds the model's latest extraction date); null when
    there is no such record; none where the engine keeps no record at all.
    `relation` is the model's stored table (default: the model being run).
    Dispatched.
#}
{% macro staging_recorded_rows_sql(relation=none) -%}
    {{ return(adapter.dispatch('staging_recorded_rows_sql', 'derived_tables')(
        relation if relation is not none else this)) }}
{%- endmacro %}

{% macro default__staging_recorded_rows_sql(relation) -%}
    {%- set recorded = staging_sources_relation() -%}
    {%- if load_relation(recorded) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set recorded_rows -%}
            (
                select max(recorded.source_rows)
                from {{ recorded }} as recorded
                where
                    recorded.model_name = '{{ relation.identifier }}'
                    and recorded.watermark = (
                        select cast(extraction_date as {{ dbt.type_string() }})
                        from watermark
                    )
                    and recorded.recorded_at = (
                        select max(latest.recorded_at)
                        from {{ recorded }} as latest
                        where latest.model_name = '{{ relation.identifier }}'
                    )
            )
    {%- endset -%}
    {{ return(recorded_rows) }}
{%- endmacro %}

{#
    Source tests on the new partitions.

    The duplicate tests of a curated source (no_exact_duplicates,
    no_redelivered_rows, no_conflicting_duplicates) compare rows across
    partitions. On an incremental `dbt build`, the partitions up to the
    watermark of the incremental staging model reading the source (the
    latest extraction date its stored table holds) were compared with each
    other by the build that staged them: in a `dbt build` a staging model
    runs only after its source's tests, and `derived build` publishes (and
    keeps the private build file) only when every error test passed. So
    these tests compare only the rows of the partitions after it against
    all rows.

    The watermark is trusted only where the staging model itself may be
    patched by key (staging_patch_state, the same probe and records as
    staging_full_rebuild_reason): no partition it holds withdrawn or
    re-dated, no older partition rewritten in place (the source rows up to
    the watermark are those its last build recorded), a record present.
    Everything is compared on a first build, under `--full-refresh`, in a
    `dbt test` on its own (as for the staging tests), for a source read by
    no incremental staging model, and when any of those checks fails. When
    several staging models read the source, the earliest watermark counts.
    A `dbt run` does not test: a partition staged by a `dbt run` counts as
    checked by the next `dbt build` only after a `dbt test` or a full
    refresh, as for the staging tests above.
#}

{#-
    The latest extraction date (a string) up to which the partitions of the
    source tested by the test being compiled were checked by an earlier
    build, or none when every row must be compared (see above). Computed
    once per test node.
-#}
{% macro source_checked_through() -%}
    {%- if not execute or model.resource_type != 'test'
        or flags.WHICH != 'build' or flags.FULL_REFRESH -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set cache_key = '_derived_source_checked_through' -%}
    {%- if model is mapping and cache_key in model -%}
        {{ return(model[cache_key][0]) }}
    {%- endif -%}
    {%- set depends = model.depends_on.nodes -%}
    {%- set checked = namespace(watermark=none, found=false, trusted=true) -%}
    {%- if depends | length == 1 and depends[0].startswith('source.') -%}
        {%- for node in graph.nodes.values()
            if node.resource_type == 'model'
            and node.config.materialized == 'incremental'
            and node.config.unique_key is string
            and depends[0] in node.depends_on.nodes
            and source_count(node.depends_on.nodes) == 1 -%}
            {%- set relation = adapter.get_relation(
                database=node.database, schema=node.schema,
                identifier=node.alias) -%}
            {%- set state = {'reason': 'not built yet', 'watermark': none} -%}
            {%- if relation is not none -%}
                {%- set state = staging_patch_state(
                    relation, node.config.unique_key,
                    graph.sources[depends[0]]) -%}
            {%- endif -%}
            {%- set checked.found = true -%}
            {%- if state.reason or not state.watermark -%}
                {%- set checked.trusted = false -%}
            {%- elif checked.watermark is none
                or state.watermark < checked.watermark -%}
                {%- set checked.watermark = state.watermark -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set mark = checked.watermark
        if checked.found and checked.trusted else none -%}
    {%- if model is mapping -%}
        {%- do model.update({cache_key: [mark]}) -%}
    {%- endif -%}
    {{ return(mark) }}
{%- endmacro %}

{#- How many of `unique_ids` name a source. -#}
{% macro source_count(unique_ids) -%}
    {%- set counted = namespace(n=0) -%}
    {%- for unique_id in unique_ids if unique_id.startswith('source.') -%}
        {%- set counted.n = counted.n + 1 -%}
    {%- endfor -%}
    {{ return(counted.n) }}
{%- endmacro %}

{#-
    The condition selecting the rows of the source test's relation `model`
    delivered in a partition not yet checked (after source_checked_through;
    `partition_column`, qualified as the caller reads it), or an empty
    string when every row is to be compared: also when `model` is not a
    plain relation (a test with a `where` config reads a subquery).
-#}
{% macro source_new_rows_condition(model, partition_column) -%}
    {%- if model is string -%}
        {{ return('') }}
    {%- endif -%}
    {%- set mark = source_checked_through() -%}
    {%- if mark is none -%}
        {{ return('') }}
    {%- endif -%}
    {{ return(partition_column ~ " > cast('" ~ mark ~ "' as date)") }}
{%- endmacro %}

{#-
    The relation a cross-partition duplicate test of a curated source reads
    (no_redelivered_rows, no_conflicting_duplicates): on an incremental
    build (source_new_rows_condition), only the rows that share every one of
    `match_columns` with a row delivered in a partition not yet checked (the
    new rows and every row they can duplicate), as a subquery aliased
    `checked`; otherwise `model` itself, every row. `partition_column` is
    the test's partition column: the restriction applies only when it is
    `extraction_date`, the column the checked watermark is a value of.
-#}
{% macro source_rows_to_compare(model, match_columns, partition_column) -%}
    {%- set new_rows = source_new_rows_condition(
        model, 'new_delivery.' ~ partition_column)
        if partition_column == 'extraction_date' else '' -%}
    {%- if not new_rows -%}
        {{ return(model) }}
    {%- endif -%}
    {%- set checked -%}
    (
        select delivered.*
        from {{ model }} as delivered
        where exists (
            select 1
            from {{ model }} as new_delivery
            where
                {{ new_rows }}
                {%- for column in match_columns %}
                and new_delivery.{{ column }}
                is not distinct from delivered.{{ column }}
                {%- endfor %}
        )
    ) as checked
    {%- endset -%}
    {{ return(checked) }}
{%- endmacro %}

{#
    Source-to-staging reconciliation on the touched keys (reconciles_with_source).

    On an incremental run, an incremental staging model restages exactly the
    natural keys delivered in the partitions after its watermark (every
    delivery of those keys). Every other key has the same source rows (no
    older partition changed: else the model is rebuilt in full) and the same
    staged rows (delete+insert replaced only the restaged keys) as in the
    build that last reconciled them, so its share of both counts is
    unchanged; the test then counts, on both sides, only the rows of the
    keys delivered after the watermark. Returns a dict of `natural_key` (the
    staged column) and `key_sql` (SQL selecting those keys, standardised as the
    model stages them, from `source_relation`, whose natural key column is
    `source_key`), or none when every row must be counted: under the rules
    of touched_rows_condition (a full build, a model rebuilt in full, a
    warning, a `dbt test` on its own), or when the natural key is not one of
    the reconciled `staged_keys`.
#}
{% macro reconcile_touched_keys(source_relation, staged_keys, source_keys) -%}
    {%- if not execute or model.resource_type != 'test'
        or not model.get('attached_node') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.attached_node) -%}
    {%- if tested is none or tested.resource_type != 'model'
        or tested.config.materialized != 'incremental'
        or tested.config.unique_key is not string
        or tested.config.unique_key not in staged_keys
        or source_count(tested.depends_on.nodes) != 1
        or (model.config.get('severity') or 'error') | lower != 'error' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set state = touched_state(tested.alias) -%}
    {%- if state is none or state.touched or not state.watermark -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set natural_key = tested.config.unique_key -%}
    {%- set source_key = source_keys[staged_keys.index(natural_key)] -%}
    {%- set keys -%}
        select {{ standardise_id('new_delivery.' ~ source_key) }}
        from {{ source_relation }} as new_delivery
        where
            new_delivery.extraction_date
            > cast('{{ state.watermark }}' as date)
    {%- endset -%}
    {{ return({'natural_key': natural_key, 'key_sql': keys}) }}
{%- endmacro %}
