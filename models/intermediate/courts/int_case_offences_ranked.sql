{#-
    Every offence charged on a case, ranked by seriousness within the case, so
    that the principal offence of a case (rank 1) is chosen in one place:
      1. the highest statutory maximum custody (seed ref_offences), an offence
         code missing from the seed ranking last,
      2. then the lowest offence_sequence (the order the offences were charged
         in, 1 = the lead charge),
      3. then the case_offence_id, so the ranking is deterministic.
    Incremental (macros/courts/court_chain.sql): a daily run re-ranks the
    offences of the cases it touched (int_court_cases_touched).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='case_offence_id',
        on_schema_change='fail',
        meta={'touched_by': 'int_court_cases_touched'},
    )
}}

with

{{ court_touched_ctes() }}

case_offences as (

    select * from {{ ref('stg_common_platform__case_offences') }}
    where {{ court_row_is_touched('case_id') }}

),

offences as (

    select * from {{ ref('ref_offences') }}

),

case_offences_ranked as (

    select
        case_offences.case_offence_id,
        case_offences.case_id,
        case_offences.offence_code,
        case_offences.offence_sequence,
        offences.max_custody_days,
        row_number() over (
            partition by case_offences.case_id
            order by
                coalesce(offences.max_custody_days, -1) desc,
                coalesce(case_offences.offence_sequence, 2147483647) asc,
                case_offences.case_offence_id asc
        ) as offence_rank_in_case,
        case_offences.offence_date,
        case_offences.extracted_at,
        max(case_offences.extracted_at) over (
            partition by case_offences.case_id
        ) as case_offences_extracted_at
    from case_offences
    left join offences
        on case_offences.offence_code = offences.offence_code

),

final as (

    select
        case_offence_id,
        case_id,
        offence_code,
        offence_sequence,
        max_custody_days,
        cast(offence_rank_in_case as {{ dbt.type_int() }})
            as offence_rank_in_case,
        offence_rank_in_case = 1 as is_principal_offence,
        offence_date,
        extracted_at,
        case_offences_extracted_at
    from case_offences_ranked

)

select * from final
