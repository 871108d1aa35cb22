{#
    The courts chain, incremental: one home for how the courts intermediate
    models (int_case_offences_ranked, int_hearings_enriched,
    int_case_outcomes_enriched, int_case_milestones_aggregated; config meta
    `touched_by: int_court_cases_touched`) take in a daily extract (docs/performance.md). Each is
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

    A full rebuild of each (patched_chain_full_rebuild_reason, through
    should_full_refresh; macros/chains/patched_chain.sql) where patching is unsound: --full-refresh; one of the
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

{#- The models patched by the touched cases (meta `touched_by`). -#}
{% macro court_chain_models() -%}
    {{ return([
        'int_case_offences_ranked',
        'int_hearings_enriched',
        'int_case_outcomes_enriched',
        'int_case_milestones_aggregated',
    ]) }}
{%- endmacro %}

{#-
    This invocation's watermarks of the courts staging models, a dict by
    role (court_chain_staging_models), or a string, the reason the courts
    chain must be rebuilt in full (patched_chain_watermarks, with the person
    snapshot and histories: the chain reads the defendants' links). Used by
    int_court_cases_touched at run time.
-#}
{% macro court_chain_watermarks() -%}
    {{ return(patched_chain_watermarks(
        court_chain_staging_models(), court_chain_models(), persons=true)) }}
{%- endmacro %}

{#
    True when the model being run is patched by the touched cases and
    persons of int_court_cases_touched (patched_chain_is_patched). A courts
    fact otherwise finds its rows to load from all rows.
#}
{% macro court_chain_is_patched() -%}
    {{ return(patched_chain_is_patched('int_court_cases_touched')) }}
{%- endmacro %}

{#
    A condition true for the rows a courts chain model recomputes
    (key_is_touched): the rows of a touched case (`touched_cases`,
    court_touched_ctes), without a case, or, when `restaged` is given
    (court_restaged), restaged in this invocation; every row on a full build.
#}
{% macro court_row_is_touched(case_id_column, restaged=none) -%}
    {{ return(key_is_touched(
        case_id_column, 'touched_cases', key='case_id', restaged=restaged)) }}
{%- endmacro %}

{#
    A condition on a courts staging model's rows (patched_chain_restaged):
    true for the rows restaged in this invocation (`role`, a key of
    court_chain_staging_models).
#}
{% macro court_restaged(alias, role) -%}
    {{ return(patched_chain_restaged(
        alias, court_chain_watermarks() if execute else {}, role)) }}
{%- endmacro %}

{#
    The CTEs of a run patched by case (touched_key_ctes), each ending with a
    comma: touched_cases (the touched case ids) and touched_persons (the
    touched persons' pseudonymised ids), from int_court_cases_touched.
#}
{% macro court_touched_ctes() -%}
    {{ return(touched_key_ctes('int_court_cases_touched', {
        'touched_cases': 'case_id',
        'touched_persons': 'pseudonymised_person_id',
    })) }}
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
