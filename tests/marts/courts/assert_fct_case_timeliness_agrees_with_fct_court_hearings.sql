{#-
    The accumulating snapshot and the hearing transaction fact tell the same
    story: per case, the number of hearings and of effective hearings in
    fct_case_timeliness equal those counted from fct_court_hearings, and the
    first hearing date is the earliest hearing not vacated there. Fails with
    one row per case that disagrees.
-#}

with

cases as (

    select * from {{ ref('fct_case_timeliness') }}

),

hearings as (

    select * from {{ ref('fct_court_hearings') }}

),

hearing_types as (

    select * from {{ ref('dim_hearing_type') }}

),

hearings_per_case as (

    select
        hearings.case_id,
        count(*) as number_of_hearings,
        sum(
            case when hearings.is_effective then 1 else 0 end
        ) as number_of_effective_hearings,
        min(
            case
                when hearing_types.hearing_status_code != 'VACATED'
                    then hearings.hearing_date
            end
        ) as first_hearing_date
    from hearings
    left join hearing_types
        on hearings.hearing_type_key = hearing_types.hearing_type_key
    group by hearings.case_id

),

validation_errors as (

    select
        cases.case_id,
        cases.number_of_hearings,
        hearings_per_case.number_of_hearings as fact_number_of_hearings,
        cases.number_of_effective_hearings,
        hearings_per_case.number_of_effective_hearings
            as fact_number_of_effective_hearings,
        cases.first_hearing_date,
        hearings_per_case.first_hearing_date as fact_first_hearing_date
    from cases
    left join hearings_per_case
        on cases.case_id = hearings_per_case.case_id
    where
        cases.number_of_hearings
        != coalesce(hearings_per_case.number_of_hearings, 0)
        or cases.number_of_effective_hearings
        != coalesce(hearings_per_case.number_of_effective_hearings, 0)
        or cases.first_hearing_date != hearings_per_case.first_hearing_date
        or (cases.first_hearing_date is null)
        != (hearings_per_case.first_hearing_date is null)

)

select * from validation_errors
