{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_id',
        on_schema_change='fail',
        meta={'current_versions_of': 'stg_delius__event_history'},
    )
}}

with

event_history as (

    select * from {{ ref('stg_delius__event_history') }}

),

final as (

    select * from event_history
    where
        is_current
        and {{ current_versions_touched('event_history', 'event_id') }}

)

select * from final
