with

sentence_history as (

    select * from {{ ref('stg_nomis__sentence_history') }}

),

final as (

    select * from sentence_history
    where is_current

)

select * from final
