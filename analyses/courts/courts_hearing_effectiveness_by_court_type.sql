-- Question: how many listed hearings actually go ahead, by type of court
-- and type of hearing, and how does that change from year to year?
--
-- How to read it: one row per court type (magistrates' or Crown Court),
-- hearing type (first hearing, mention, trial, sentencing) and calendar
-- year of the hearing date. `effective_rate` is the share of listed
-- hearings that went ahead as listed; `adjourned_rate` and `vacated_rate`
-- the shares adjourned on the day or taken out of the list beforehand. The
-- three shares add up to 1 (up to hearings with an unknown status).
-- `listed_hours` is the court time listed for those hearings. Hearings of
-- soft-deleted cases are left out.

with

court_hearings as (

    select * from {{ ref('fct_court_hearings') }}

),

courts as (

    select * from {{ ref('dim_court') }}

),

hearing_types as (

    select * from {{ ref('dim_hearing_type') }}

),

dates as (

    select * from {{ ref('dim_date') }}

),

hearings as (

    select
        courts.court_type_description,
        hearing_types.hearing_type_name,
        hearing_types.hearing_type_order,
        hearing_types.hearing_status_code,
        dates.calendar_year as hearing_year,
        court_hearings.listed_minutes
    from court_hearings
    inner join courts
        on court_hearings.court_key = courts.court_key
    inner join hearing_types
        on court_hearings.hearing_type_key = hearing_types.hearing_type_key
    inner join dates
        on court_hearings.date_key = dates.date_key
    where
        not court_hearings.is_case_deleted
        and not dates.is_default_member

),

final as (

    select
        court_type_description,
        hearing_type_name,
        hearing_type_order,
        hearing_year,
        count(*) as listed_hearings,
        avg(
            case when hearing_status_code = 'EFFECTIVE' then 1.0 else 0.0 end
        ) as effective_rate,
        avg(
            case when hearing_status_code = 'ADJOURNED' then 1.0 else 0.0 end
        ) as adjourned_rate,
        avg(
            case when hearing_status_code = 'VACATED' then 1.0 else 0.0 end
        ) as vacated_rate,
        sum(listed_minutes) / 60.0 as listed_hours
    from hearings
    group by
        court_type_description,
        hearing_type_name,
        hearing_type_order,
        hearing_year

)

select * from final
