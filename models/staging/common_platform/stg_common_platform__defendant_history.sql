{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='defendant_id',
        on_schema_change='fail',
    )
}}

with

source as (

    select * from {{ source('common_platform', 'defendants') }}

),

postcode_areas as (

    select distinct postcode_area from {{ ref('ref_postcode_areas') }}

),

final as (

    {{ person_history(
        'source',
        natural_key='defendant_id',
        version_key='defendant_version_key',
        min_age_years=10,
        postcode_areas='postcode_areas',
    ) }}

)

select * from final
