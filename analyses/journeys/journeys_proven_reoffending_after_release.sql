-- Question: of the people released from a custodial sentence, how many
-- were convicted of a new offence committed within a year of release?
-- (a proven-reoffending-like measure, followed across court and prison)
--
-- How to read it: one row per calendar year of release. The cohort is
-- every release that ended a sentenced custodial episode (remand-only
-- episodes left out) of a linked person; the person is followed into the
-- courts through the linked `person_id` of `dim_person`. A release counts
-- as followed by a proven reoffence when a guilty outcome exists for an
-- offence committed 1 to 365 days after the release and sentenced within
-- 18 months of it (a year plus six months for the case to be dealt with).
-- Only releases whose 18 months have fully passed by the latest outcome in
-- the data are counted, so recent years are absent rather than
-- understated. `proven_reoffending_rate` is between 0 and 1;
-- `reoffences_per_reoffender` the mean number of proven offences of those
-- who reoffended.

with

custodial_episodes as (

    select * from {{ ref('fct_custodial_episodes') }}

),

case_outcomes as (

    select * from {{ ref('fct_case_outcomes') }}

),

persons as (

    select * from {{ ref('dim_person') }}

),

dates as (

    select * from {{ ref('dim_date') }}

),

latest_outcome as (

    select max(outcome_date) as as_of_date
    from case_outcomes

),

releases as (

    select
        custodial_episodes.booking_id,
        custodial_episodes.release_date,
        persons.person_id,
        dates.calendar_year as release_year
    from custodial_episodes
    inner join persons
        on custodial_episodes.person_key = persons.person_key
    inner join dates
        on custodial_episodes.release_date_key = dates.date_key
    cross join latest_outcome
    where
        custodial_episodes.is_released
        and not custodial_episodes.is_remand_only
        and not persons.is_default_member
        and not dates.is_default_member
        and {{ dbt.datediff(
            'custodial_episodes.release_date',
            'latest_outcome.as_of_date',
            'day',
        ) }} >= 365 + 183

),

proven_offences as (

    select
        case_outcomes.outcome_id,
        case_outcomes.outcome_date,
        case_outcomes.days_offence_to_outcome,
        persons.person_id
    from case_outcomes
    inner join persons
        on case_outcomes.person_key = persons.person_key
    where
        case_outcomes.is_guilty
        and not case_outcomes.is_case_deleted
        and not persons.is_default_member
        and case_outcomes.days_offence_to_outcome is not null

),

release_reoffences as (

    select
        releases.booking_id,
        proven_offences.outcome_id,
        {{ dbt.datediff(
            'releases.release_date', 'proven_offences.outcome_date', 'day'
        ) }} as days_release_to_outcome,
        {{ dbt.datediff(
            'releases.release_date', 'proven_offences.outcome_date', 'day'
        ) }} - proven_offences.days_offence_to_outcome
            as days_release_to_offence
    from releases
    inner join proven_offences
        on releases.person_id = proven_offences.person_id

),

reoffences_counted as (

    select
        booking_id,
        count(*) as proven_reoffences
    from release_reoffences
    where
        days_release_to_offence between 1 and 365
        and days_release_to_outcome <= 365 + 183
    group by booking_id

),

final as (

    select
        releases.release_year,
        count(*) as releases,
        count(reoffences_counted.booking_id)
            as releases_followed_by_proven_reoffence,
        avg(
            case
                when reoffences_counted.booking_id is not null then 1.0
                else 0.0
            end
        ) as proven_reoffending_rate,
        coalesce(sum(reoffences_counted.proven_reoffences), 0)
            as proven_reoffences,
        case
            when count(reoffences_counted.booking_id) > 0
                then
                    sum(reoffences_counted.proven_reoffences) * 1.0
                    / count(reoffences_counted.booking_id)
        end as reoffences_per_reoffender
    from releases
    left join reoffences_counted
        on releases.booking_id = reoffences_counted.booking_id
    group by releases.release_year

)

select * from final
