{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='booking_id',
        on_schema_change='fail',
        meta={'current_versions_of': 'stg_nomis__booking_history'},
    )
}}

with

booking_history as (

    select * from {{ ref('stg_nomis__booking_history') }}

),

final as (

    select * from booking_history
    where
        is_current
        and {{ current_versions_touched('booking_history', 'booking_id') }}

)

select * from final
