{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='defendant_id',
        on_schema_change='fail',
        meta={'current_versions_of': 'stg_common_platform__defendant_history'},
    )
}}

with

defendant_history as (

    select * from {{ ref('stg_common_platform__defendant_history') }}

),

final as (

    select * from defendant_history
    where
        is_current
        and {{ current_versions_touched('defendant_history', 'defendant_id') }}

)

select * from final
