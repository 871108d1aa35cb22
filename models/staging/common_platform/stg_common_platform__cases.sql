with

case_history as (

    select * from {{ ref('stg_common_platform__case_history') }}

),

final as (

    select * from case_history
    where is_current

)

select * from final
