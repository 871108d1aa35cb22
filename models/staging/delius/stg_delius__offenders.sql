with

offender_history as (

    select * from {{ ref('stg_delius__offender_history') }}

),

final as (

    select * from offender_history
    where is_current

)

select * from final
