{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='sentence_id',
        on_schema_change='fail',
        meta={'current_versions_of': 'stg_nomis__sentence_history'},
    )
}}

with

sentence_history as (

    select * from {{ ref('stg_nomis__sentence_history') }}

),

final as (

    select * from sentence_history
    where
        is_current
        and {{ current_versions_touched('sentence_history', 'sentence_id') }}

)

select * from final
