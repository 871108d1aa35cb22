{#-
    One row per outcome (the verdict and sentence on one offence of one
    defendant's case) with what the outcome fact needs from the offence and
    its case: offence code and date, whether it is the case's principal
    offence, the case's court, charge date and defendant, and the defendant's
    linked person.

    source_extracted_at is the latest extract among every source row an
    outcome depends on: the outcome, every offence of its case (a late
    offence can change which offence is principal) and the case's current
    version. An incremental fact reprocesses an outcome whenever this moves
    past its high-water mark.

    Incremental (macros/courts/court_chain.sql): a daily run recomputes the
    outcomes of the offences of the cases it touched
    (int_court_cases_touched), and the outcomes it restaged.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='outcome_id',
        on_schema_change='fail',
        meta={'touched_by': 'int_court_cases_touched'},
    )
}}

with

{{ court_touched_ctes() }}

outcomes as (

    select * from {{ ref('stg_common_platform__outcomes') }}
    {%- if is_incremental() %}
    where
        {{ court_restaged(none, 'outcomes') }}
        or case_offence_id in (
            select ranked.case_offence_id
            from {{ ref('int_case_offences_ranked') }} as ranked
            where {{ court_row_is_touched('ranked.case_id') }}
        )
    {%- endif %}

),

case_offences as (

    select * from {{ ref('int_case_offences_ranked') }}

),

cases as (

    select * from {{ ref('stg_common_platform__cases') }}

),

person_records as (

    select * from {{ ref('int_person_record_keys') }}
    where system = 'common_platform'

),

outcomes_joined as (

    select
        outcomes.outcome_id,
        outcomes.case_offence_id,
        case_offences.case_id,
        cases.defendant_id,
        person_records.pseudonymised_person_id,
        case_offences.offence_code,
        cases.court_code,
        outcomes.verdict_code,
        outcomes.disposal_code,
        case_offences.offence_sequence,
        outcomes.sentence_length_days,
        outcomes.fine_amount,
        cast(
            {{ dbt.datediff(
                'cases.charge_date', 'outcomes.outcome_date', 'day'
            ) }}
            as {{ dbt.type_int() }}
        ) as days_charge_to_outcome,
        cast(
            {{ dbt.datediff(
                'case_offences.offence_date', 'outcomes.outcome_date', 'day'
            ) }}
            as {{ dbt.type_int() }}
        ) as days_offence_to_outcome,
        coalesce(outcomes.verdict_code = 'GUILTY', false) as is_guilty,
        case_offences.is_principal_offence,
        case_offences.case_offence_id is not null as is_case_offence_found,
        cases.case_id is not null as is_case_found,
        coalesce(cases.is_deleted, false) as is_case_deleted,
        outcomes.has_inconsistent_disposal,
        outcomes.has_inconsistent_sentence_length,
        outcomes.has_inconsistent_fine_amount,
        outcomes.outcome_date,
        case_offences.offence_date,
        cases.charge_date,
        outcomes.extracted_at,
        -- coalesce: greatest() ignores nulls on some engines, not others
        greatest(
            outcomes.extracted_at,
            coalesce(
                case_offences.case_offences_extracted_at,
                outcomes.extracted_at
            ),
            coalesce(cases.extracted_at, outcomes.extracted_at)
        ) as source_extracted_at
    from outcomes
    left join case_offences
        on outcomes.case_offence_id = case_offences.case_offence_id
    left join cases
        on case_offences.case_id = cases.case_id
    left join person_records
        on cases.defendant_id = person_records.record_id

),

final as (

    select * from outcomes_joined

)

select * from final
