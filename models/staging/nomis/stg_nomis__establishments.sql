with

establishment_history as (

    select * from {{ ref('stg_nomis__establishment_history') }}

),

final as (

    select * from establishment_history
    where is_current

)

select * from final
