-- Question: of the people released from a prison sentence, what share
-- start probation supervision (a licence, or any other order) within 30
-- days, by the reason for release?
--
-- How to read it: one row per calendar year of release and release reason
-- (conditional release on licence, home detention curfew, sentence expiry;
-- remand-only episodes left out). The person is followed from prison into
-- probation through the linked `person_id` of `dim_person`.
-- `followed_within_30_days_share` is the share of releases with a
-- probation order of the same person starting 0 to 30 days after release,
-- between 0 and 1; `licence_within_30_days_share` the same for licences
-- only. Releases at sentence expiry are not followed by a licence, so a
-- high share there points at linkage errors; releases in the last 30 days
-- before the latest extract have not had their full 30 days yet.

with

custodial_episodes as (

    select * from {{ ref('fct_custodial_episodes') }}

),

probation_supervision as (

    select * from {{ ref('fct_probation_supervision') }}

),

movement_reasons as (

    select * from {{ ref('dim_movement_reason') }}

),

order_types as (

    select * from {{ ref('dim_order_type') }}

),

persons as (

    select * from {{ ref('dim_person') }}

),

dates as (

    select * from {{ ref('dim_date') }}

),

releases as (

    select
        custodial_episodes.booking_id,
        custodial_episodes.release_date,
        persons.person_id,
        dates.calendar_year as release_year,
        movement_reasons.movement_reason_description as release_reason
    from custodial_episodes
    inner join persons
        on custodial_episodes.person_key = persons.person_key
    inner join dates
        on custodial_episodes.release_date_key = dates.date_key
    inner join movement_reasons
        on
            custodial_episodes.release_reason_key
            = movement_reasons.movement_reason_key
    where
        custodial_episodes.is_released
        and not custodial_episodes.is_remand_only
        and not persons.is_default_member
        and not dates.is_default_member

),

probation_starts as (

    select
        persons.person_id,
        probation_supervision.order_start_date,
        order_types.order_type_code
    from probation_supervision
    inner join persons
        on probation_supervision.person_key = persons.person_key
    inner join order_types
        on probation_supervision.order_type_key = order_types.order_type_key
    where not persons.is_default_member

),

releases_followed as (

    select
        releases.booking_id,
        releases.release_year,
        releases.release_reason,
        max(
            case
                when
                    {{ dbt.datediff(
                        'releases.release_date',
                        'probation_starts.order_start_date',
                        'day',
                    ) }} between 0 and 30
                    then 1
                else 0
            end
        ) as is_followed_within_30_days,
        max(
            case
                when
                    probation_starts.order_type_code = 'LIC'
                    and {{ dbt.datediff(
                        'releases.release_date',
                        'probation_starts.order_start_date',
                        'day',
                    ) }} between 0 and 30
                    then 1
                else 0
            end
        ) as is_licence_within_30_days
    from releases
    left join probation_starts
        on releases.person_id = probation_starts.person_id
    group by
        releases.booking_id,
        releases.release_year,
        releases.release_reason

),

final as (

    select
        release_year,
        release_reason,
        count(*) as releases,
        sum(is_followed_within_30_days) as followed_within_30_days,
        avg(cast(is_followed_within_30_days as {{ dbt.type_float() }}))
            as followed_within_30_days_share,
        sum(is_licence_within_30_days) as licence_within_30_days,
        avg(cast(is_licence_within_30_days as {{ dbt.type_float() }}))
            as licence_within_30_days_share
    from releases_followed
    group by release_year, release_reason

)

select * from final
