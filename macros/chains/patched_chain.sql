{#
    Chains patched by key: one home for how a chain of intermediate models
    (and the dimensions built on them) takes in a daily extract by
    recomputing only the keys the day touched, instead of all history
    (docs/performance.md). Used by the courts chain
    (macros/courts/court_chain.sql, patched by case) and the OPG chain
    (int_lpa_applications_touched, patched by application and donor).

    A chain has:
      - its incremental staging models, by role: the chain is patched only
        when each of them was patched by key in this invocation (its
        watermark says which of its rows were restaged:
        `extraction_date` after it, patched_chain_restaged);
      - a `*_touched` table, rebuilt on every run before the chain's models,
        listing the touched keys (one column per kind of key, null on the
        other rows) and one row naming the dbt invocation that wrote it,
        with the reason when the chain must be rebuilt in full instead
        (patched_chain_invocation);
      - its models (config meta `touched_by: <the touched table>`),
        `delete+insert` on their key, reading only the touched keys' rows
        (touched_key_ctes, key_is_touched). Each rebuilds in full when the
        touched table recorded a reason, or was written by another
        invocation (a selection without it): patched_chain_full_rebuild_reason,
        called by should_full_refresh, so that they rebuild together.

    The reason to rebuild in full (patched_chain_watermarks): --full-refresh;
    one of the chain's stored models missing; one of its staging models
    rebuilt in full in this invocation (a partition withdrawn or rewritten:
    rows can vanish without a newer extraction date) or not run in it
    (nothing says what changed); for a chain that reads linked persons, the
    person snapshot or a person history staging model likewise
    (person_snapshot_problem, person_history_problem). A change in a seed
    needs --full-refresh, as for the incremental facts.
    Not seen: a bare `dbt run` that restaged these sources and then failed
    before the chain ran (the next run's watermarks start after those keys);
    `derived build` never keeps such a state (it publishes a candidate only
    when everything passed). Run `--full-refresh` after such a failure.
#}

{#-
    The stored table of a model of this project, read without ref() (so that
    a model built before it can read what the last build left), or none when
    it does not exist.
-#}
{% macro patched_chain_stored_relation(name) -%}
    {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ name) -%}
    {{ return(load_relation(api.Relation.create(
        database=node.database, schema=node.schema,
        identifier=node.alias, type='table'))) }}
{%- endmacro %}

{#-
    This invocation's watermarks of a chain's staging models (`staging_models`,
    a dict of model names by role): a dict by role of the latest extraction
    date each held before it was patched, as a string; or a string, the
    reason the chain must be rebuilt in full (see the header). `models`: the
    chain's models whose stored tables its touched table reads; `persons`:
    true for a chain that reads the person chain's links. Called at run time
    by the touched table.
-#}
{% macro patched_chain_watermarks(staging_models, models, persons=false) -%}
    {%- if flags.FULL_REFRESH -%}
        {{ return('a --full-refresh run') }}
    {%- endif -%}
    {%- for name in models
        if patched_chain_stored_relation(name) is none -%}
        {{ return(name ~ ' is missing') }}
    {%- endfor -%}
    {#- the person snapshot the changed records are found against -#}
    {%- set problem = person_snapshot_problem() if persons else '' -%}
    {%- if problem -%}
        {{ return(problem) }}
    {%- endif -%}
    {%- set patched = staging_invocation_patched() -%}
    {#- a person history rebuilt in full can change a person's versions
        without a changed record: the touched persons would miss it -#}
    {%- set problem = person_history_problem(patched) if persons else '' -%}
    {%- if problem -%}
        {{ return(problem) }}
    {%- endif -%}
    {%- set problem = staging_patch_problem(
        patched, staging_models.values() | list) -%}
    {%- if problem -%}
        {{ return(problem) }}
    {%- endif -%}
    {%- set found = {} -%}
    {%- for role, name in staging_models.items() -%}
        {%- do found.update({role: patched[name]}) -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#
    The reason the touched table `touched_model` recorded in this run for
    rebuilding its chain in full (the `full_rebuild_reason` of its one row
    with an `invocation_id`), or an empty string when the chain is patched
    by key; a reason too when it did not run in this invocation (a
    selection without it: its rows are an earlier run's).
#}
{% macro patched_chain_recorded_reason(touched_model) -%}
    {%- set touched = ref(touched_model) -%}
    {%- if load_relation(touched) is none -%}
        {{ return(touched_model ~ ' is missing') }}
    {%- endif -%}
    {%- set rows = run_query(
        'select full_rebuild_reason, invocation_id from ' ~ touched
        ~ ' where invocation_id is not null').rows -%}
    {%- if rows | length != 1 or rows[0][1] != invocation_id -%}
        {{ return(touched_model ~ ' did not run in this invocation') }}
    {%- endif -%}
    {{ return(rows[0][0] or '') }}
{%- endmacro %}

{#
    Why a model of a chain patched by key (config meta `touched_by`, its
    touched table) must be rebuilt in full on this run (a sentence for the
    log), or an empty string when it can be patched
    (patched_chain_recorded_reason), so that a chain's models rebuild
    together. Empty for every other model.
#}
{% macro patched_chain_full_rebuild_reason() -%}
    {%- set touched_model = (config.get('meta') or {}).get('touched_by') -%}
    {%- if not touched_model or load_relation(this) is none -%}
        {{ return('') }}
    {%- endif -%}
    {{ return(patched_chain_recorded_reason(touched_model)) }}
{%- endmacro %}

{#
    True when the model being run reads only the keys of the touched table
    `touched_model`: an incremental run (not a unit test) in which that
    chain was patched by key. A model otherwise reads all rows.
#}
{% macro patched_chain_is_patched(touched_model) -%}
    {%- if not execute or model.resource_type != 'model'
        or not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(patched_chain_recorded_reason(touched_model) == '') }}
{%- endmacro %}

{#
    A condition on a chain's staging model's rows (`alias`: a CTE of it, with
    `extraction_date`, or none for an unqualified column): true for the rows
    restaged in this invocation, those delivered after the watermark the
    model patched from (`marks`, patched_chain_watermarks; `role`, a key of
    it), a literal. Only on an incremental run.
#}
{% macro patched_chain_restaged(alias, marks, role) -%}
    {%- if not execute -%}
        {{ return('true') }}
    {%- endif -%}
    {%- if marks is string -%}
        {{ exceptions.raise_compiler_error(
            this.identifier ~ ': patched by key although ' ~ marks) }}
    {%- endif -%}
    {{ alias ~ '.' if alias }}extraction_date
    > cast('{{ marks[role] }}' as date)
{%- endmacro %}

{#
    The touched table's row naming the dbt invocation that wrote it, with
    the reason the chain is rebuilt in full (`marks` a string,
    patched_chain_watermarks) or a null reason; the key columns `columns`
    null. The body of a CTE.
#}
{% macro patched_chain_invocation(marks, columns) -%}
    {%- set reason = "'" ~ marks ~ "'" if marks is string else 'null' -%}
    select
        {%- for column in columns %}
        cast(null as {{ dbt.type_string() }}) as {{ column }},
        {%- endfor %}
        cast({{ reason }} as {{ dbt.type_string() }}) as full_rebuild_reason,
        cast('{{ invocation_id }}' as {{ dbt.type_string() }})
            as invocation_id
{%- endmacro %}

{#
    The CTEs of a run patched by key (patched_chain_is_patched), each ending
    with a comma: for each item of `ctes` (a dict of CTE name: column of the
    touched table `touched_model`), the column's touched keys. Nothing
    otherwise (the model still depends on the touched table).
#}
{% macro touched_key_ctes(touched_model, ctes) -%}
{#- a unit test renders the model alone: no input needed for it -#}
{%- if model.resource_type == 'unit_test' -%}
    {{ return('') }}
{%- endif -%}
{%- set touched = ref(touched_model) -%}
{% if patched_chain_is_patched(touched_model) %}
{%- for name, column in ctes.items() %}
{{ name }} as (

    select {{ column }} from {{ touched }}
    where {{ column }} is not null

),
{% endfor %}
{%- endif %}
{%- endmacro %}

{#
    A condition true for the rows a model of a chain patched by key
    recomputes: on an incremental run, the rows whose `column` is among the
    keys of the CTE `cte` (touched_key_ctes, same column name) or null (rows
    without a key are few and recomputed on every run), and, when
    `restaged` is given (patched_chain_restaged on the model's own staged
    rows), the rows restaged in this invocation; every row on a full build.
#}
{% macro key_is_touched(column, cte, key=none, restaged=none) -%}
    {%- if is_incremental() -%}
        ({{ column }} in (select {{ key or column }} from {{ cte }})
        or {{ column }} is null
        {%- if restaged %}
        or {{ restaged }}{% endif %})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#
    The touched table's rows of one kind of key: a `select` from `relation`
    with the touched table's `columns` (its key columns) from `values` (a
    dict of column: expression; the others null), a null reason and
    invocation, for the rows where the first of `values` is not null.
#}
{% macro touched_key_rows(relation, values, columns) -%}
    select
        {%- for column in columns %}
        cast({{ values.get(column, 'null') }} as {{ dbt.type_string() }})
            as {{ column }},
        {%- endfor %}
        cast(null as {{ dbt.type_string() }}) as full_rebuild_reason,
        cast(null as {{ dbt.type_string() }}) as invocation_id
    from {{ relation }}
    where {{ (values.values() | list)[0] }} is not null
{%- endmacro %}
