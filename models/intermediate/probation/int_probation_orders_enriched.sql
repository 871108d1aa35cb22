{#-
    One row per Delius event (a probation order or licence), in its current
    version, with what the facts need about it:

    - its termination: the earliest termination row of the event dated on or
      before the as-of date (a termination dated after it has not happened
      yet: staging flags it); when none has arrived yet but the event's
      status is TERMINATED, the date of the first TERMINATED version (the
      reason is then unknown);
    - its requirements summarised by type (unpaid work hours, RAR days,
      curfew months; flags for the treatment requirements);
    - lineage for incremental facts: the earliest order start date over the
      event's versions and the latest extract that delivered a version or a
      termination of the event.

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

requirements as (

    select * from {{ ref('stg_delius__requirements') }}

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

requirements_summarised as (

    select
        event_id,
        count(*) as requirement_count,
        sum(
            case
                when
                    requirement_type_code = 'UPW' and length_unit = 'HOURS'
                    then length_value
                else 0
            end
        ) as upw_hours,
        sum(
            case
                when requirement_type_code = 'RAR' and length_unit = 'DAYS'
                    then length_value
                else 0
            end
        ) as rar_days,
        sum(
            case
                when
                    requirement_type_code = 'CURFEW'
                    and length_unit = 'MONTHS'
                    then length_value
                else 0
            end
        ) as curfew_months,
        sum(case when requirement_type_code = 'UPW' then 1 else 0 end)
            as upw_count,
        sum(case when requirement_type_code = 'RAR' then 1 else 0 end)
            as rar_count,
        sum(case when requirement_type_code = 'CURFEW' then 1 else 0 end)
            as curfew_count,
        sum(case when requirement_type_code = 'DRUG_REHAB' then 1 else 0 end)
            as drug_rehab_count,
        sum(
            case
                when requirement_type_code = 'ALCOHOL_TREATMENT' then 1 else 0
            end
        ) as alcohol_treatment_count,
        sum(
            case when requirement_type_code = 'MENTAL_HEALTH' then 1 else 0 end
        ) as mental_health_count
    from requirements
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
