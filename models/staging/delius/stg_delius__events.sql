with

event_history as (

    select * from {{ ref('stg_delius__event_history') }}

),

final as (

    select * from event_history
    where is_current

)

select * from final
