{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='lpa_id',
        on_schema_change='fail',
        meta={'current_versions_of': 'stg_sirius__lpa_application_history'},
    )
}}

with

lpa_application_history as (

    select * from {{ ref('stg_sirius__lpa_application_history') }}

),

final as (

    select * from lpa_application_history
    where
        is_current
        and {{ current_versions_touched('lpa_application_history', 'lpa_id') }}

)

select * from final
