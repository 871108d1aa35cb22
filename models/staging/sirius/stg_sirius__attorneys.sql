{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='attorney_id',
        on_schema_change='fail',
    )
}}

with

source as (

    select * from {{ source('sirius', 'attorneys') }}

),

postcode_areas as (

    select distinct postcode_area from {{ ref('ref_postcode_areas') }}

),

renamed as (

    select
        -- ids
        {{ standardise_id('attorney_id') }} as attorney_id,
        {{ standardise_code('lpa_id') }} as lpa_id,

        -- strings
        {{ standardise_code('attorney_role_code') }} as attorney_role_code,
        {{ standardise_code('decision_type_code') }} as decision_type_code,
        {{ standardise_name('first_name') }} as first_name,
        {{ standardise_name('last_name') }} as last_name,
        {{ standardise_postcode('postcode') }} as postcode,

        -- dates
        {{ dbt.safe_cast('date_of_birth', 'date') }} as date_of_birth,
        cast(extraction_date as date) as extraction_date,

        -- timestamps
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from source
    {{ restaged_keys(standardise_id('attorney_id')) }}

),

deduplicated as (

    {{ staged_latest('renamed', natural_key='attorney_id') }}

),

with_postcode_area as (

    select
        *,
        {{ postcode_area('postcode') }} as postcode_area
    from deduplicated

),

final as (

    select
        -- ids
        with_postcode_area.attorney_id,
        with_postcode_area.lpa_id,

        -- strings
        with_postcode_area.attorney_role_code,
        with_postcode_area.decision_type_code,
        with_postcode_area.first_name,
        with_postcode_area.last_name,
        with_postcode_area.postcode,
        with_postcode_area.postcode_area,

        -- booleans
        {{ is_date_of_birth_invalid(
            'with_postcode_area.date_of_birth',
            'with_postcode_area.extraction_date',
            min_age_years=18,
            max_age_years=120,
        ) }} as is_date_of_birth_invalid,
        with_postcode_area.postcode is null as has_missing_postcode,
        {{ is_postcode_invalid('with_postcode_area.postcode') }}
            as is_postcode_invalid,
        {{ is_code_unknown(
            'with_postcode_area.postcode_area',
            'postcode_areas.postcode_area',
        ) }} as is_postcode_area_unknown,

        -- dates
        with_postcode_area.date_of_birth,
        with_postcode_area.extraction_date,

        -- timestamps
        with_postcode_area.extracted_at

    from with_postcode_area
    left join postcode_areas
        on with_postcode_area.postcode_area = postcode_areas.postcode_area

)

select * from final
