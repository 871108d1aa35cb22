{#-
    The custodial episodes of fct_custodial_episodes at the level of NOMIS codes, one
    row per live (not soft-deleted) booking: its first and last establishment, its
    principal sentence, its number of transfers and, when the person left custody,
    its release (date, time and reason from the last stay). The fact keys them to
    its dimensions.
-#}

with

bookings as (

    select * from {{ ref('stg_nomis__bookings') }}
    where not is_deleted

),

extract_window as (

    select * from {{ ref('int_nomis_extracts_summarised') }}

),

stays as (

    select * from {{ ref('int_custody_stays_derived') }}

),

principal_sentences as (

    select * from {{ ref('int_sentences_ranked') }}
    where is_principal

),

stays_ordered as (

    select
        *,
        row_number() over (
            partition by booking_id order by stay_number desc
        ) as stay_rank_from_last
    from stays

),

transfers_counted as (

    select
        booking_id,
        sum(case when arrival_kind = 'TRANSFER' then 1 else 0 end)
            as transfer_count
    from stays
    group by booking_id

),

last_stays as (

    select * from stays_ordered
    where stay_rank_from_last = 1

),

episodes as (

    select
        bookings.booking_id,
        bookings.prison_number,
        coalesce(
            bookings.establishment_code, last_stays.establishment_code
        ) as first_establishment_code,
        last_stays.establishment_code as last_establishment_code,
        principal_sentences.offence_code,
        principal_sentences.sentence_type_code,
        principal_sentences.sentence_length_days,
        principal_sentences.conditional_release_date,
        coalesce(transfers_counted.transfer_count, 0) as transfer_count,
        coalesce(principal_sentences.is_booking_remand_only, false)
            as is_remand_only,
        coalesce(last_stays.departure_kind = 'RELEASE', false) as is_released,
        case
            when last_stays.departure_kind = 'RELEASE'
                then last_stays.departure_movement_reason_code
        end as release_reason_code,
        bookings.booking_start_date as reception_date,
        case
            when last_stays.departure_kind = 'RELEASE'
                then last_stays.end_date
        end as release_date,
        case
            when last_stays.departure_kind = 'RELEASE'
                then last_stays.ended_at
        end as released_at,
        extract_window.as_of_date
    from bookings
    cross join extract_window
    left join last_stays
        on bookings.booking_id = last_stays.booking_id
    left join transfers_counted
        on bookings.booking_id = transfers_counted.booking_id
    left join principal_sentences
        on bookings.booking_id = principal_sentences.booking_id

)

select * from episodes
