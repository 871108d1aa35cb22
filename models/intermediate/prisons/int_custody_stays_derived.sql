{#-
    One row per contiguous stay of a person in one establishment within one
    booking, derived from the booking's movements in time order:

    - after each movement the person is at its `to_establishment_code` (an
      admission or a transfer) or out of custody (a release); consecutive
      intervals at the same establishment are one stay, so a second admission
      into the prison the person is already in (received on sentence after
      remand) is a change of status, not a new stay;
    - before the first movement, when the booking started earlier (custody
      that began before the movements history) or the first movement is a
      transfer or a release, the person is inferred to have been at the first
      movement's `from_establishment_code` (else at the booking's reception
      establishment) since the booking started;
    - a booking without movements is one inferred stay at its reception
      establishment, from its start to its end date;
    - a closed booking whose last movement left the person in custody (the
      release movement has not arrived) ends its last stay on the booking's
      end date.

    A stay's arrival is a reception when the person was not in custody just
    before it, else a transfer; its departure is a release when the person
    leaves custody, a transfer when the next stay follows, null while the
    person is still there. Movements without a time are left out; the stays
    of soft-deleted bookings are kept, flagged `is_booking_deleted`, so that
    incremental facts see the deletion (facts leave them out).
-#}
{%- set timestamp_type = dbt.type_timestamp() -%}

with

movements as (

    select * from {{ ref('stg_nomis__movements') }}

),

booking_history as (

    select * from {{ ref('stg_nomis__booking_history') }}

),

-- the first known date and the latest extract of each booking, for the
-- incremental facts
booking_lineage as (

    select * from {{ ref('int_booking_lineages_summarised') }}

),

current_bookings as (

    select * from booking_history
    where is_current

),

timed_movements as (

    select * from movements
    where movement_at is not null

),

movements_sequenced as (

    select
        timed_movements.movement_id,
        timed_movements.booking_id,
        timed_movements.prison_number,
        timed_movements.movement_type_code,
        timed_movements.movement_reason_code,
        timed_movements.from_establishment_code,
        case
            when timed_movements.movement_type_code != 'REL'
                then timed_movements.to_establishment_code
        end as location_after,
        timed_movements.movement_at,
        row_number() over (
            partition by timed_movements.booking_id
            order by
                timed_movements.movement_at asc,
                case timed_movements.movement_type_code
                    when 'ADM' then 1
                    when 'TRN' then 2
                    when 'REL' then 3
                    else 4
                end asc,
                timed_movements.movement_id asc
        ) as movement_number
    from timed_movements

),

movements_linked as (

    select
        *,
        lead(movement_id) over (
            partition by booking_id order by movement_number
        ) as next_movement_id,
        lead(movement_at) over (
            partition by booking_id order by movement_number
        ) as next_movement_at
    from movements_sequenced

),

-- where each booking's person was after each of its movements
movement_intervals as (

    select
        movements_linked.booking_id,
        movements_linked.prison_number,
        movements_linked.movement_number as interval_number,
        movements_linked.location_after as establishment_code,
        movements_linked.movement_at as started_at,
        movements_linked.movement_id as opening_movement_id,
        movements_linked.next_movement_at as ended_at,
        movements_linked.next_movement_id as closing_movement_id
    from movements_linked

),

first_movements as (

    select * from movements_linked
    where movement_number = 1

),

-- where the person was before the first movement of the booking
inferred_first_intervals as (

    select
        first_movements.booking_id,
        first_movements.prison_number,
        0 as interval_number,
        case
            when first_movements.movement_type_code != 'ADM'
                then coalesce(
                    first_movements.from_establishment_code,
                    current_bookings.establishment_code
                )
            else current_bookings.establishment_code
        end as establishment_code,
        -- unknown (null) when the booking is missing or starts later
        case
            when
                cast(
                    current_bookings.booking_start_date as {{ timestamp_type }}
                ) <= first_movements.movement_at
                then
                    cast(
                        current_bookings.booking_start_date
                        as {{ timestamp_type }}
                    )
        end as started_at,
        cast(null as {{ dbt.type_string() }}) as opening_movement_id,
        first_movements.movement_at as ended_at,
        first_movements.movement_id as closing_movement_id
    from first_movements
    left join current_bookings
        on first_movements.booking_id = current_bookings.booking_id
    where
        first_movements.movement_type_code != 'ADM'
        or current_bookings.booking_start_date
        < cast(first_movements.movement_at as date)

),

-- bookings without any movement: custody at the reception establishment
booking_only_intervals as (

    select
        current_bookings.booking_id,
        current_bookings.prison_number,
        0 as interval_number,
        current_bookings.establishment_code,
        cast(current_bookings.booking_start_date as {{ timestamp_type }})
            as started_at,
        cast(null as {{ dbt.type_string() }}) as opening_movement_id,
        cast(null as {{ timestamp_type }}) as ended_at,
        cast(null as {{ dbt.type_string() }}) as closing_movement_id
    from current_bookings
    left join first_movements
        on current_bookings.booking_id = first_movements.booking_id
    where first_movements.booking_id is null

),

intervals_unioned as (

    select * from movement_intervals
    union all
    select * from inferred_first_intervals
    union all
    select * from booking_only_intervals

),

intervals_bounded as (

    select
        intervals_unioned.*,
        current_bookings.booking_end_date,
        lag(intervals_unioned.establishment_code) over (
            partition by intervals_unioned.booking_id
            order by intervals_unioned.interval_number
        ) as previous_establishment_code,
        lead(intervals_unioned.establishment_code) over (
            partition by intervals_unioned.booking_id
            order by intervals_unioned.interval_number
        ) as next_establishment_code,
        lead(intervals_unioned.interval_number) over (
            partition by intervals_unioned.booking_id
            order by intervals_unioned.interval_number
        ) is null as is_last_interval,
        row_number() over (
            partition by intervals_unioned.booking_id
            order by intervals_unioned.interval_number
        ) = 1 as is_first_interval
    from intervals_unioned
    left join current_bookings
        on intervals_unioned.booking_id = current_bookings.booking_id

),

-- islands: a stay starts where the location differs from the interval before
intervals_flagged as (

    select
        *,
        case
            when is_first_interval then true
            when previous_establishment_code is null then true
            else previous_establishment_code != establishment_code
        end as is_stay_start,
        case
            when is_last_interval then true
            when next_establishment_code is null then true
            else next_establishment_code != establishment_code
        end as is_stay_end
    from intervals_bounded
    where establishment_code is not null

),

intervals_numbered as (

    select
        *,
        sum(case when is_stay_start then 1 else 0 end) over (
            partition by booking_id
            order by interval_number
            rows between unbounded preceding and current row
        ) as stay_number
    from intervals_flagged

),

stay_starts as (

    select
        booking_id,
        stay_number,
        prison_number,
        establishment_code,
        started_at,
        opening_movement_id,
        previous_establishment_code,
        is_first_interval
    from intervals_numbered
    where is_stay_start

),

stay_ends as (

    select
        booking_id,
        stay_number,
        ended_at,
        closing_movement_id,
        next_establishment_code,
        is_last_interval,
        booking_end_date,
        interval_number
    from intervals_numbered
    where is_stay_end

),

stays_joined as (

    select
        stay_starts.booking_id,
        stay_starts.stay_number,
        stay_starts.prison_number,
        stay_starts.establishment_code,
        stay_starts.started_at,
        stay_starts.opening_movement_id,
        case
            when
                stay_starts.is_first_interval
                or stay_starts.previous_establishment_code is null
                then 'RECEPTION'
            else 'TRANSFER'
        end as arrival_kind,
        -- a closed booking ends its open last stay on its end date (not
        -- before the stay started)
        case
            when stay_ends.ended_at is not null then stay_ends.ended_at
            when
                cast(stay_ends.booking_end_date as {{ timestamp_type }})
                < stay_starts.started_at
                then stay_starts.started_at
            when stay_ends.booking_end_date is not null
                then cast(stay_ends.booking_end_date as {{ timestamp_type }})
        end as ended_at,
        stay_ends.closing_movement_id,
        case
            when
                stay_ends.ended_at is null
                and stay_ends.booking_end_date is not null
                then 'RELEASE'
            when stay_ends.ended_at is null then null
            when stay_ends.next_establishment_code is null then 'RELEASE'
            else 'TRANSFER'
        end as departure_kind,
        stay_ends.ended_at is null
        and stay_ends.booking_end_date is not null as is_end_inferred
    from stay_starts
    inner join stay_ends
        on
            stay_starts.booking_id = stay_ends.booking_id
            and stay_starts.stay_number = stay_ends.stay_number

),

final as (

    select
        -- ids
        {{ surrogate_key([
            'stays_joined.booking_id', 'stays_joined.stay_number'
        ]) }} as custody_stay_id,
        stays_joined.booking_id,
        stays_joined.prison_number,
        stays_joined.opening_movement_id as arrival_movement_id,
        stays_joined.closing_movement_id as departure_movement_id,

        -- strings
        stays_joined.establishment_code,
        stays_joined.arrival_kind,
        arrivals.movement_type_code as arrival_movement_type_code,
        arrivals.movement_reason_code as arrival_movement_reason_code,
        stays_joined.departure_kind,
        departures.movement_type_code as departure_movement_type_code,
        departures.movement_reason_code as departure_movement_reason_code,

        -- numerics
        cast(stays_joined.stay_number as {{ dbt.type_int() }}) as stay_number,

        -- booleans
        stays_joined.opening_movement_id is null as is_start_inferred,
        stays_joined.is_end_inferred,
        stays_joined.ended_at is null as is_in_custody,
        coalesce(bookings.is_deleted, false) as is_booking_deleted,
        coalesce(
            departures.movement_type_code != 'ADM'
            and departures.from_establishment_code
            != stays_joined.establishment_code,
            false
        ) as has_inconsistent_departure,

        -- dates
        cast(stays_joined.started_at as date) as start_date,
        cast(stays_joined.ended_at as date) as end_date,
        booking_lineage.booking_first_known_date,
        booking_lineage.booking_last_extraction_date,

        -- timestamps
        stays_joined.started_at,
        stays_joined.ended_at
    from stays_joined
    left join timed_movements as arrivals
        on stays_joined.opening_movement_id = arrivals.movement_id
    left join timed_movements as departures
        on stays_joined.closing_movement_id = departures.movement_id
    left join current_bookings as bookings
        on stays_joined.booking_id = bookings.booking_id
    left join booking_lineage
        on stays_joined.booking_id = booking_lineage.booking_id

)

select * from final
