with

defendant_history as (

    select * from {{ ref('stg_common_platform__defendant_history') }}

),

final as (

    select * from defendant_history
    where is_current

)

select * from final
