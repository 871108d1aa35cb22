{#-
    One row per Delius event (a probation order or licence), in its current
    version, with its termination (the earliest termination row dated on or
    before the as-of date, as one dated after it has not happened yet; when
    none has arrived but the event's status is TERMINATED, the date of its
    first TERMINATED version, reason unknown), its requirements
    (int_probation_requirements_summarised) and, for incremental facts, its
    lineage (the earliest order start date over its versions, the latest
    extract that delivered a version or a termination of it).

    Soft-deleted events are kept, flagged, so incremental facts see the
    deletion; facts leave them out. Versions without an event id cannot be
    told apart and are left out (staging's not_null test reports them).
-#}

with

event_history as (

    select * from {{ ref('stg_delius__event_history') }}

),

terminations as (

    select * from {{ ref('stg_delius__terminations') }}

),

requirements_summarised as (

    select * from {{ ref('int_probation_requirements_summarised') }}

),

extract_window as (

    select * from {{ ref('int_delius_extracts_summarised') }}

),

current_events as (

    select * from event_history
    where is_current and event_id is not null

),

effective_terminations as (

    select terminations.*
    from terminations
    cross join extract_window
    where terminations.termination_date <= extract_window.as_of_date

),

terminations_ranked as (

    select
        event_id,
        termination_id,
        termination_reason_code,
        termination_date,
        row_number() over (
            partition by event_id
            order by termination_date asc, termination_id asc
        ) as termination_rank
    from effective_terminations

),

first_terminations as (

    select * from terminations_ranked
    where termination_rank = 1

),

terminated_versions as (

    select
        event_id,
        min(cast(valid_from as date)) as first_terminated_date
    from event_history
    where event_status_code = 'TERMINATED'
    group by event_id

),

event_lineage_rows as (

    select
        event_id,
        order_start_date as known_date,
        extraction_date
    from event_history

    union all

    select
        event_id,
        cast(null as date) as known_date,
        extraction_date
    from terminations

),

event_lineage as (

    select
        event_id,
        min(known_date) as event_first_known_date,
        max(extraction_date) as event_last_extraction_date
    from event_lineage_rows
    group by event_id

),

final as (

    select
        -- ids
        current_events.event_id,
        current_events.crn,
        first_terminations.termination_id,

        -- strings
        current_events.order_type_code,
        current_events.offence_code,
        current_events.sentencing_court_code,
        current_events.release_establishment_code,
        current_events.pdu_code,
        current_events.event_status_code,
        first_terminations.termination_reason_code,

        -- numerics
        current_events.order_length_days,
        cast(
            coalesce(requirements_summarised.requirement_count, 0)
            as {{ dbt.type_int() }}
        ) as requirement_count,
        cast(
            coalesce(requirements_summarised.upw_hours, 0)
            as {{ dbt.type_int() }}
        ) as upw_hours,
        cast(
            coalesce(requirements_summarised.rar_days, 0)
            as {{ dbt.type_int() }}
        ) as rar_days,
        cast(
            coalesce(requirements_summarised.curfew_months, 0)
            as {{ dbt.type_int() }}
        ) as curfew_months,

        -- booleans
        current_events.is_deleted,
        first_terminations.event_id is not null
        or current_events.event_status_code = 'TERMINATED' as is_terminated,
        coalesce(
            first_terminations.termination_reason_code
            in ('COMPLETED', 'EARLY_GOOD_PROGRESS'),
            false
        ) as is_successful_completion,
        coalesce(requirements_summarised.upw_count > 0, false) as has_upw,
        coalesce(requirements_summarised.rar_count > 0, false) as has_rar,
        coalesce(requirements_summarised.curfew_count > 0, false)
            as has_curfew,
        coalesce(requirements_summarised.drug_rehab_count > 0, false)
            as has_drug_rehab,
        coalesce(requirements_summarised.alcohol_treatment_count > 0, false)
            as has_alcohol_treatment,
        coalesce(requirements_summarised.mental_health_count > 0, false)
            as has_mental_health,

        -- dates
        current_events.order_start_date,
        current_events.expected_end_date,
        case
            when first_terminations.event_id is not null
                then first_terminations.termination_date
            when current_events.event_status_code = 'TERMINATED'
                then terminated_versions.first_terminated_date
        end as termination_date,
        event_lineage.event_first_known_date,
        event_lineage.event_last_extraction_date

    from current_events
    left join first_terminations
        on current_events.event_id = first_terminations.event_id
    left join terminated_versions
        on current_events.event_id = terminated_versions.event_id
    left join requirements_summarised
        on current_events.event_id = requirements_summarised.event_id
    left join event_lineage
        on current_events.event_id = event_lineage.event_id

)

select * from final
