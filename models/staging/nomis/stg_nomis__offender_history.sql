{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='prison_number',
        on_schema_change='fail',
    )
}}

with

source as (

    select * from {{ source('nomis', 'offenders') }}

),

postcode_areas as (

    select distinct postcode_area from {{ ref('ref_postcode_areas') }}

),

final as (

    {{ person_history(
        'source',
        natural_key='prison_number',
        version_key='offender_version_key',
        min_age_years=15,
        postcode_areas='postcode_areas',
        extra_codes={'security_category_code': none},
    ) }}

)

select * from final
