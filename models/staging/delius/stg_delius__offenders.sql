{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='crn',
        on_schema_change='fail',
        meta={'current_versions_of': 'stg_delius__offender_history'},
    )
}}

with

offender_history as (

    select * from {{ ref('stg_delius__offender_history') }}

),

final as (

    select * from offender_history
    where
        is_current
        and {{ current_versions_touched('offender_history', 'crn') }}

)

select * from final
