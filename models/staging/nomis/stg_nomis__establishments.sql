{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='establishment_code',
        on_schema_change='fail',
        meta={'current_versions_of': 'stg_nomis__establishment_history'},
    )
}}

with

establishment_history as (

    select * from {{ ref('stg_nomis__establishment_history') }}

),

final as (

    select * from establishment_history
    where
        is_current
        and {{ current_versions_touched(
            'establishment_history', 'establishment_code'
        ) }}

)

select * from final
