{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='crn',
        on_schema_change='fail',
    )
}}

with

source as (

    select * from {{ source('delius', 'offenders') }}

),

postcode_areas as (

    select distinct postcode_area from {{ ref('ref_postcode_areas') }}

),

probation_delivery_units as (

    select distinct pdu_code from {{ ref('ref_probation_delivery_units') }}

),

final as (

    {{ person_history(
        'source',
        natural_key='crn',
        version_key='offender_version_key',
        min_age_years=18,
        postcode_areas='postcode_areas',
        extra_codes={'pdu_code': 'probation_delivery_units'},
    ) }}

)

select * from final
