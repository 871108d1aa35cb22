{#-
    One row: the window of the NOMIS data the prison facts are built from.
    as_of_date is the latest extraction date of any NOMIS table (the extract
    the warehouse is as of, even when it delivered no movement);
    first_movement_date is the first day of the movements history, where the
    daily population snapshot starts.
-#}

with

movements as (

    select * from {{ ref('stg_nomis__movements') }}

),

booking_history as (

    select * from {{ ref('stg_nomis__booking_history') }}

),

sentence_history as (

    select * from {{ ref('stg_nomis__sentence_history') }}

),

offender_history as (

    select * from {{ ref('stg_nomis__offender_history') }}

),

establishment_history as (

    select * from {{ ref('stg_nomis__establishment_history') }}

),

as_of as (

    {{ latest_extraction_date([
        'movements',
        'booking_history',
        'sentence_history',
        'offender_history',
        'establishment_history',
    ]) }}

),

movement_dates as (

    select min(movement_date) as first_movement_date
    from movements

),

final as (

    select
        as_of.as_of_date,
        movement_dates.first_movement_date
    from as_of
    cross join movement_dates

)

select * from final
