with

booking_history as (

    select * from {{ ref('stg_nomis__booking_history') }}

),

final as (

    select * from booking_history
    where is_current

)

select * from final
