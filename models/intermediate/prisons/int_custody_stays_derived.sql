{#-
    One row per contiguous stay of a person in one establishment within one
    booking. custody_intervals() (macros/prisons/) gives where the person was
    between the booking's movements (with the custody inferred before the
    first movement, and for a booking without movements);
    custody_stay_islands() joins consecutive intervals at the same
    establishment into one stay, so a second admission into the prison the
    person is already in (received on sentence after remand) is a change of
    status, not a new stay. A closed booking whose last movement left the
    person in custody (the release movement has not arrived) ends its last
    stay on the booking's end date.

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

{{ custody_intervals() }}

-- islands: a stay is a run of consecutive intervals at one establishment
{{ custody_stay_islands() }}

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
