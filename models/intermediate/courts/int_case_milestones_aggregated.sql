{#-
    One row per case (its current version, soft-deleted cases kept and
    flagged) with the milestones of its journey through the courts and the
    counts behind them:
      offence date         the earliest offence_date of the case's offences
      charge date          the case's charge_date
      first hearing date   the earliest hearing that was not vacated (a
                           vacated hearing was taken out of the list and never
                           sat)
      completion date      the case's completed_date (set when the case is
                           completed or discontinued)
    plus the principal offence (rank 1 in int_case_offences_ranked) and the
    defendant's linked person.

    Incremental (macros/courts/court_chain.sql): a daily run recomputes the
    cases it touched (int_court_cases_touched). Rebuilt in full when a case
    left stg_common_platform__cases (grain_source_full_rebuild_reason).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='case_id',
        on_schema_change='fail',
        meta={
            'touched_by': 'int_court_cases_touched',
            'grain_source': 'stg_common_platform__cases',
        },
    )
}}

with

{{ court_touched_ctes() }}

cases as (

    select * from {{ ref('stg_common_platform__cases') }}
    where {{ court_row_is_touched('case_id') }}

),

case_offences as (

    select * from {{ ref('int_case_offences_ranked') }}
    where {{ court_row_is_touched('case_id') }}

),

hearings as (

    select * from {{ ref('stg_common_platform__hearings') }}
    where {{ court_row_is_touched('case_id') }}

),

person_records as (

    select * from {{ ref('int_person_record_keys') }}
    where system = 'common_platform'

),

offences_aggregated as (

    select
        case_id,
        min(offence_date) as offence_date,
        count(*) as number_of_offences,
        max(
            case when is_principal_offence then offence_code end
        ) as principal_offence_code,
        max(
            case when is_principal_offence then offence_sequence end
        ) as principal_offence_sequence
    from case_offences
    group by case_id

),

hearings_aggregated as (

    select
        case_id,
        min(
            case when hearing_status_code != 'VACATED' then hearing_date end
        ) as first_hearing_date,
        max(hearing_date) as last_hearing_date,
        count(*) as number_of_hearings,
        sum(
            case when hearing_status_code = 'EFFECTIVE' then 1 else 0 end
        ) as number_of_effective_hearings,
        sum(
            case when hearing_status_code = 'ADJOURNED' then 1 else 0 end
        ) as number_of_adjourned_hearings,
        sum(
            case when hearing_status_code = 'VACATED' then 1 else 0 end
        ) as number_of_vacated_hearings
    from hearings
    group by case_id

),

cases_joined as (

    select
        cases.case_id,
        cases.case_urn,
        cases.defendant_id,
        person_records.pseudonymised_person_id,
        cases.court_code,
        cases.case_status_code,
        offences_aggregated.principal_offence_code,
        offences_aggregated.principal_offence_sequence,
        cast(
            coalesce(offences_aggregated.number_of_offences, 0)
            as {{ dbt.type_int() }}
        ) as number_of_offences,
        cast(
            coalesce(hearings_aggregated.number_of_hearings, 0)
            as {{ dbt.type_int() }}
        ) as number_of_hearings,
        cast(
            coalesce(hearings_aggregated.number_of_effective_hearings, 0)
            as {{ dbt.type_int() }}
        ) as number_of_effective_hearings,
        cast(
            coalesce(hearings_aggregated.number_of_adjourned_hearings, 0)
            as {{ dbt.type_int() }}
        ) as number_of_adjourned_hearings,
        cast(
            coalesce(hearings_aggregated.number_of_vacated_hearings, 0)
            as {{ dbt.type_int() }}
        ) as number_of_vacated_hearings,
        cases.case_status_code in ('COMPLETED', 'DISCONTINUED')
            as is_completed,
        cases.case_status_code = 'DISCONTINUED' as is_discontinued,
        cases.is_deleted as is_case_deleted,
        offences_aggregated.offence_date,
        cases.charge_date,
        hearings_aggregated.first_hearing_date,
        hearings_aggregated.last_hearing_date,
        cases.completed_date as completion_date
    from cases
    left join offences_aggregated
        on cases.case_id = offences_aggregated.case_id
    left join hearings_aggregated
        on cases.case_id = hearings_aggregated.case_id
    left join person_records
        on cases.defendant_id = person_records.record_id

),

durations as (

    select
        *,
        cast(
            {{ dbt.datediff('offence_date', 'charge_date', 'day') }}
            as {{ dbt.type_int() }}
        ) as days_offence_to_charge,
        cast(
            {{ dbt.datediff('charge_date', 'first_hearing_date', 'day') }}
            as {{ dbt.type_int() }}
        ) as days_charge_to_first_hearing,
        cast(
            {{ dbt.datediff('first_hearing_date', 'completion_date', 'day') }}
            as {{ dbt.type_int() }}
        ) as days_first_hearing_to_completion,
        cast(
            {{ dbt.datediff('offence_date', 'completion_date', 'day') }}
            as {{ dbt.type_int() }}
        ) as days_offence_to_completion,
        cast(
            {{ dbt.datediff('charge_date', 'completion_date', 'day') }}
            as {{ dbt.type_int() }}
        ) as days_charge_to_completion
    from cases_joined

),

final as (

    select * from durations

)

select * from final
