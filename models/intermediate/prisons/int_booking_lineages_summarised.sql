{#-
    The lineage of each NOMIS booking, for the incremental facts that read its
    custody stays (int_custody_stays_derived): from every row delivered about
    the booking (its versions and its timed movements), the first date any of
    its stays can start and the latest extract that delivered one of its rows.
    The first known date is null when its movements were once known without
    the booking (a stay could then start at an unknown date).
-#}

with

booking_history as (

    select * from {{ ref('stg_nomis__booking_history') }}

),

timed_movements as (

    select * from {{ ref('stg_nomis__movements') }}
    where movement_at is not null

),

booking_versions_summarised as (

    select
        booking_id,
        min(booking_start_date) as first_start_date,
        min(extraction_date) as first_extraction_date,
        max(extraction_date) as last_extraction_date
    from booking_history
    group by booking_id

),

booking_movements_summarised as (

    select
        booking_id,
        min(movement_date) as first_movement_date,
        min(extraction_date) as first_extraction_date,
        max(extraction_date) as last_extraction_date
    from timed_movements
    group by booking_id

),

booking_ids as (

    select booking_id from booking_versions_summarised
    union
    select booking_id from booking_movements_summarised

),

booking_lineage as (

    select
        booking_ids.booking_id,
        case
            when
                booking_versions.booking_id is null
                or booking_versions.first_start_date is null
                or booking_versions.first_extraction_date
                > booking_movements.first_extraction_date
                then null
            when booking_movements.booking_id is null
                then booking_versions.first_start_date
            when
                booking_movements.first_movement_date
                < booking_versions.first_start_date
                then booking_movements.first_movement_date
            else booking_versions.first_start_date
        end as booking_first_known_date,
        case
            when booking_movements.booking_id is null
                then booking_versions.last_extraction_date
            when booking_versions.booking_id is null
                then booking_movements.last_extraction_date
            when
                booking_movements.last_extraction_date
                > booking_versions.last_extraction_date
                then booking_movements.last_extraction_date
            else booking_versions.last_extraction_date
        end as booking_last_extraction_date
    from booking_ids
    left join booking_versions_summarised as booking_versions
        on booking_ids.booking_id = booking_versions.booking_id
    left join booking_movements_summarised as booking_movements
        on booking_ids.booking_id = booking_movements.booking_id

)

select * from booking_lineage
