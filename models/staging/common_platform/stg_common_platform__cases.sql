{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='case_id',
        on_schema_change='fail',
        meta={'current_versions_of': 'stg_common_platform__case_history'},
    )
}}

with

case_history as (

    select * from {{ ref('stg_common_platform__case_history') }}

),

final as (

    select * from case_history
    where
        is_current
        and {{ current_versions_touched('case_history', 'case_id') }}

)

select * from final
