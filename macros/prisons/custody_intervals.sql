{#
    Where a NOMIS booking's person was between its movements: the intervals that
    int_custody_stays_derived joins into stays. Emits the CTEs movements_sequenced,
    movements_linked, movement_intervals, first_movements, inferred_first_intervals,
    booking_only_intervals and intervals_unioned (each ending with a comma); the last
    has one row per interval: booking_id, prison_number, interval_number,
    establishment_code (null: out of custody), started_at, opening_movement_id,
    ended_at, closing_movement_id.

    - The movements of a booking are taken in time order (ties: admission, transfer,
      release, then movement id), numbered from 1; after each movement the person is
      at its `to_establishment_code` (an admission or a transfer) or out of custody (a
      release) until the next movement.
    - Before the first movement, when the booking started earlier (custody that began
      before the movements history) or the first movement is a transfer or a release,
      the person is inferred to have been at the first movement's
      `from_establishment_code` (else at the booking's reception establishment) since
      the booking started (interval 0; its start unknown, null, when the booking is
      missing or starts later).
    - A booking without movements is one inferred interval 0 at its reception
      establishment, from its start, open-ended.

    Inputs, CTE names in the calling model: timed_movements (the booking movements
    that have a time) and current_bookings (the current version of each booking).
#}
{% macro custody_intervals() -%}
{%- set timestamp_type = dbt.type_timestamp() -%}
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
{%- endmacro %}

{#
    Gaps and islands over custody intervals (see custody_intervals): consecutive
    intervals of a booking at the same establishment are one stay. Emits the CTEs
    intervals_bounded (each interval with its booking's end date, the establishments
    of the intervals before and after it and whether it is the booking's first or
    last), intervals_flagged (the intervals in custody, `is_stay_start` where the
    location differs from the interval before, `is_stay_end` where it differs from the
    one after) and intervals_numbered (`stay_number`, the running count of stay
    starts in the booking), each ending with a comma.

    Inputs, CTE names in the calling model: intervals_unioned (custody_intervals'
    intervals) and current_bookings (the current version of each booking).
#}
{% macro custody_stay_islands() -%}
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
{%- endmacro %}
