{#
    The courts chain, incremental: one home for how the courts intermediate
    models (int_case_offences_ranked, int_hearings_enriched,
    int_case_outcomes_enriched, int_case_milestones_aggregated; config meta
    `court_chain: true`) take in a daily extract (docs/performance.md). Each is
    `delete+insert` on its key and recomputes only the rows of the cases the
    run touched, listed once per run by int_court_cases_touched, which runs
    before them and reads their stored tables as the last build left them.

    Every row of these models is a function of one case's rows in the four
    Common Platform staging models (its current version, offences, hearings,
    outcomes), of the case defendant's linked person and of seeds. A case is
    touched when:
      - a row of it was restaged in this invocation (an incremental staging
        model restages every row of a key delivered after its watermark:
        `extraction_date > watermark`), under its new case id and, for a
        hearing, offence or outcome that moved to another case, under the case
        id the stored intermediate holds for it;
      - its defendant's record is linked to another person than the one
        int_person_record_keys held (person_records_changed: linkage
        regrouped the defendant's records, or the record arrived).
    A person is touched when it holds a record whose link or history changed,
    now or before the change (as the person chain finds it): only such a
    person's dim_person versions can change, so the courts facts resolve the
    person keys of its rows and of the touched cases' rows only.
    Rows whose case id is null are recomputed on every run (few, and such
    offences are ranked together); an outcome whose offence has not arrived,
    when it is restaged itself (court_row_is_touched).

    A full rebuild of each (court_chain_full_rebuild_reason, through
    should_full_refresh) where patching is unsound: --full-refresh; one of the
    four staging models or of the person history models rebuilt in full in
    this invocation (a partition withdrawn or rewritten: rows can vanish, and
    a person's versions change, without a newer extraction date), or not run
    in it (nothing says what changed); one of the four
    intermediates or int_person_record_keys missing. The reason is decided once, by
    int_court_cases_touched, and read from it by the four, so they rebuild
    together. A change in the seed ref_offences needs --full-refresh, as for
    the incremental facts.
    Not seen: a bare `dbt run` that restaged these sources and then failed
    before the courts chain ran (the next run's watermarks start after those
    keys); `derived build` never keeps such a state (it builds a candidate
    copy and publishes it only when everything passed). Run `--full-refresh`
    after such a failure.
#}

{#- The incremental staging models the courts chain reads, by role. -#}
{% macro court_chain_staging_models() -%}
    {{ return({
        'cases': 'stg_common_platform__case_history',
        'case_offences': 'stg_common_platform__case_offences',
        'hearings': 'stg_common_platform__hearings',
        'outcomes': 'stg_common_platform__outcomes',
    }) }}
{%- endmacro %}

{#- The models patched by the touched cases. -#}
{% macro court_chain_models() -%}
    {{ return([
        'int_case_offences_ranked',
        'int_hearings_enriched',
        'int_case_outcomes_enriched',
        'int_case_milestones_aggregated',
    ]) }}
{%- endmacro %}

{#-
    The stored table of a model of this project, read without ref() (so that
    a model built before it can read what the last build left), or none when
    it does not exist.
-#}
{% macro court_chain_stored_relation(name) -%}
    {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ name) -%}
    {{ return(load_relation(api.Relation.create(
        database=node.database, schema=node.schema,
        identifier=node.alias, type='table'))) }}
{%- endmacro %}

{#-
    This invocation's watermarks of the courts staging models, a dict by
    role (court_chain_staging_models) of the latest extraction date each held
    before it was patched, as a string; or a string, the reason the courts
    chain must be rebuilt in full (see the header). Used by
    int_court_cases_touched at run time.
-#}
{% macro court_chain_watermarks() -%}
    {%- if flags.FULL_REFRESH -%}
        {{ return('a --full-refresh run') }}
    {%- endif -%}
    {%- for name in court_chain_models()
        if court_chain_stored_relation(name) is none -%}
        {{ return(name ~ ' is missing') }}
    {%- endfor -%}
    {#- the person snapshot the changed records are found against -#}
    {%- set problem = person_snapshot_problem() -%}
    {%- if problem -%}
        {{ return(problem) }}
    {%- endif -%}
    {%- set patched = staging_invocation_patched() -%}
    {%- if patched is none -%}
        {{ return('no record of the staging runs of this invocation') }}
    {%- endif -%}
    {#- a person history rebuilt in full can change a person's versions
        without a changed record: the touched persons would miss it -#}
    {%- set problem = person_history_problem(patched) -%}
    {%- if problem -%}
        {{ return(problem) }}
    {%- endif -%}
    {%- set problem = staging_patch_problem(
        patched, court_chain_staging_models().values() | list) -%}
    {%- if problem -%}
        {{ return(problem) }}
    {%- endif -%}
    {%- set found = {} -%}
    {%- for role, name in court_chain_staging_models().items() -%}
        {%- do found.update({role: patched[name]}) -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#
    The reason int_court_cases_touched recorded in this run for rebuilding
    the courts chain in full (the `full_rebuild_reason` of its one row with
    an `invocation_id`), or an empty string when the chain is patched by
    case; a reason too when it did not run in this invocation (a selection
    without it: its rows are an earlier run's).
#}
{% macro court_chain_recorded_reason() -%}
    {%- set touched = ref('int_court_cases_touched') -%}
    {%- if load_relation(touched) is none -%}
        {{ return('int_court_cases_touched is missing') }}
    {%- endif -%}
    {%- set rows = run_query(
        'select full_rebuild_reason, invocation_id from ' ~ touched
        ~ ' where invocation_id is not null').rows -%}
    {%- if rows | length != 1 or rows[0][1] != invocation_id -%}
        {{ return('int_court_cases_touched did not run in this invocation') }}
    {%- endif -%}
    {{ return(rows[0][0] or '') }}
{%- endmacro %}

{#
    Why a model of the courts chain must be rebuilt in full on this run (a
    sentence for the log), or an empty string when it can be patched
    (court_chain_recorded_reason), so that the four models rebuild together.
    Empty for every other model.
#}
{% macro court_chain_full_rebuild_reason() -%}
    {%- if not (config.get('meta') or {}).get('court_chain')
        or load_relation(this) is none -%}
        {{ return('') }}
    {%- endif -%}
    {{ return(court_chain_recorded_reason()) }}
{%- endmacro %}

{#
    True when the model being run is patched by the touched cases and
    persons of int_court_cases_touched: an incremental run (not a unit test)
    in which the courts chain was patched by case. A courts fact otherwise
    finds its rows to load from all rows.
#}
{% macro court_chain_is_patched() -%}
    {%- if not execute or model.resource_type != 'model'
        or not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(court_chain_recorded_reason() == '') }}
{%- endmacro %}

{#
    A condition true for the rows a courts chain model recomputes: on an
    incremental run, the rows whose `case_id_column` is a touched case
    (`touched_cases`, court_touched_ctes) or null (rows without a case are
    few and, for offences, ranked together), and, when `restaged` is given
    (court_restaged on the model's own staged rows), the rows restaged in
    this invocation; every row on a full build.
#}
{% macro court_row_is_touched(case_id_column, restaged=none) -%}
    {%- if is_incremental() -%}
        ({{ case_id_column }} in (select case_id from touched_cases)
        or {{ case_id_column }} is null
        {%- if restaged %}
        or {{ restaged }}{% endif %})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#
    A condition on a courts staging model's rows (`alias`: a CTE of it, with
    `extraction_date`, or none for an unqualified column): true for the rows restaged in this invocation, those
    delivered after the watermark the model patched from (`role`, a key of
    court_chain_staging_models), a literal. Only on an incremental run.
#}
{% macro court_restaged(alias, role) -%}
    {%- if not execute -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set marks = court_chain_watermarks() -%}
    {%- if marks is string -%}
        {{ exceptions.raise_compiler_error(
            this.identifier ~ ': patched by case although ' ~ marks) }}
    {%- endif -%}
    {{ alias ~ '.' if alias }}extraction_date
    > cast('{{ marks[role] }}' as date)
{%- endmacro %}

{#
    The CTEs of a run patched by case (court_chain_is_patched), each ending
    with a comma: touched_cases (the touched case ids) and touched_persons
    (the touched persons' pseudonymised ids), from int_court_cases_touched.
    Nothing otherwise (the model still depends on it).
#}
{% macro court_touched_ctes() -%}
{#- a unit test renders the model alone: no input needed for it -#}
{%- if model.resource_type == 'unit_test' -%}
    {{ return('') }}
{%- endif -%}
{%- set touched = ref('int_court_cases_touched') -%}
{% if court_chain_is_patched() %}
touched_cases as (

    select case_id from {{ touched }}
    where case_id is not null

),

touched_persons as (

    select pseudonymised_person_id from {{ touched }}
    where pseudonymised_person_id is not null

),
{% endif %}
{%- endmacro %}

{#
    A courts fact's condition, on a run patched by case, for the rows whose
    values or person key may have changed: the rows of a touched case, of no
    case, or of a touched person (court_touched_ctes). Every other row comes
    from an intermediate row that was not rewritten, and its person's
    dim_person versions did not change.
#}
{% macro court_fact_row_is_touched(case_id, pseudonymised_person_id) -%}
    ({{ case_id }} in (select case_id from touched_cases)
    or {{ case_id }} is null
    or {{ pseudonymised_person_id }} in (
        select pseudonymised_person_id from touched_persons
    ))
{%- endmacro %}
