-- A movement belongs to one booking, and so to that booking's person: the
-- prison number on the movement must be the one on its booking. (A movement
-- whose booking is missing is caught by the relationships test instead.)
-- Fails with one row per movement naming another person than its booking.

with

movements as (

    select * from {{ ref('stg_nomis__movements') }}

),

bookings as (

    select * from {{ ref('stg_nomis__bookings') }}

),

validation_errors as (

    select
        movements.movement_id,
        movements.booking_id,
        movements.prison_number as movement_prison_number,
        bookings.prison_number as booking_prison_number
    from movements
    inner join bookings
        on movements.booking_id = bookings.booking_id
    where movements.prison_number != bookings.prison_number

)

select * from validation_errors
