{#-
    One row per court hearing with what the hearing fact needs from its case:
    the defendant and the defendant's linked person, the charge date, and the
    hearing's position among the hearings of its case.

    source_extracted_at is the latest extract among every source row a hearing
    depends on: the hearing itself, every other hearing of the same case
    (hearing_number shifts when a hearing arrives late) and the case's current
    version (defendant, charge date). An incremental fact reprocesses a hearing
    whenever this moves past its high-water mark.

    Incremental (macros/courts/court_chain.sql): a daily run recomputes the
    hearings of the cases it touched (int_court_cases_touched).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='hearing_id',
        on_schema_change='fail',
        meta={'touched_by': 'int_court_cases_touched'},
    )
}}

with

{{ court_touched_ctes() }}

hearings as (

    select * from {{ ref('stg_common_platform__hearings') }}
    where {{ court_row_is_touched('case_id') }}

),

cases as (

    select * from {{ ref('stg_common_platform__cases') }}

),

person_records as (

    select * from {{ ref('int_person_record_keys') }}
    where system = 'common_platform'

),

hearings_numbered as (

    select
        *,
        case
            when case_id is not null
                then row_number() over (
                    partition by case_id
                    order by hearing_date asc, hearing_id asc
                )
        end as hearing_number,
        case
            when case_id is not null
                then max(extracted_at) over (partition by case_id)
            else extracted_at
        end as case_hearings_extracted_at
    from hearings

),

hearings_joined as (

    select
        hearings_numbered.hearing_id,
        hearings_numbered.case_id,
        cases.defendant_id,
        person_records.pseudonymised_person_id,
        hearings_numbered.court_code,
        hearings_numbered.hearing_type_code,
        hearings_numbered.hearing_status_code,
        cast(hearings_numbered.hearing_number as {{ dbt.type_int() }})
            as hearing_number,
        hearings_numbered.listed_minutes,
        cast(
            {{ dbt.datediff(
                'cases.charge_date', 'hearings_numbered.hearing_date', 'day'
            ) }}
            as {{ dbt.type_int() }}
        ) as days_since_charge,
        hearings_numbered.hearing_status_code = 'EFFECTIVE' as is_effective,
        hearings_numbered.is_listed_minutes_invalid,
        hearings_numbered.is_court_code_unknown,
        cases.case_id is not null as is_case_found,
        coalesce(cases.is_deleted, false) as is_case_deleted,
        hearings_numbered.hearing_date,
        cases.charge_date,
        hearings_numbered.extracted_at,
        -- coalesce: greatest() ignores nulls on some engines, not others
        greatest(
            hearings_numbered.case_hearings_extracted_at,
            coalesce(
                cases.extracted_at,
                hearings_numbered.case_hearings_extracted_at
            )
        ) as source_extracted_at
    from hearings_numbered
    left join cases
        on hearings_numbered.case_id = cases.case_id
    left join person_records
        on cases.defendant_id = person_records.record_id

),

final as (

    select * from hearings_joined

)

select * from final
