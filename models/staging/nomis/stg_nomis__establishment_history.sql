{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='establishment_code',
        on_schema_change='fail',
    )
}}

with

source as (

    select * from {{ source('nomis', 'establishments') }}

),

establishments as (

    select distinct establishment_code
    from {{ ref('ref_prison_establishments') }}

),

renamed as (

    select
        -- ids
        {{ standardise_code('establishment_code') }} as establishment_code,

        -- strings
        {{ standardise_code('security_category_code') }}
            as security_category_code,

        -- numerics
        {{ dbt.safe_cast('operational_capacity', dbt.type_int()) }}
            as operational_capacity,
        {{ dbt.safe_cast('certified_normal_accommodation', dbt.type_int()) }}
            as certified_normal_accommodation,

        -- booleans
        cast(is_operational as {{ dbt.type_boolean() }}) as is_operational,
        cast(_is_current as {{ dbt.type_boolean() }}) as source_is_current,
        cast(_is_deleted as {{ dbt.type_boolean() }}) as is_deleted,

        -- dates
        cast(extraction_date as date) as extraction_date,

        -- timestamps
        cast(_valid_from as {{ dbt.type_timestamp() }}) as valid_from,
        cast(_valid_to as {{ dbt.type_timestamp() }}) as source_valid_to,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from source
    {{ restaged_keys(standardise_code('establishment_code')) }}

),

versioned as (

    {{ staged_versions(
        'renamed',
        natural_key='establishment_code',
        version_key='establishment_version_key',
    ) }}

),

final as (

    select
        -- ids
        versioned.establishment_version_key,
        versioned.establishment_code,

        -- strings
        versioned.security_category_code,

        -- numerics
        versioned.operational_capacity,
        versioned.certified_normal_accommodation,
        versioned.version_number,

        -- booleans
        versioned.is_operational,
        versioned.is_current,
        versioned.is_deleted,
        {{ is_code_unknown(
            'versioned.establishment_code',
            'establishments.establishment_code',
        ) }} as is_establishment_code_unknown,
        coalesce(
            versioned.operational_capacity < 0
            or versioned.certified_normal_accommodation < 0,
            true
        ) as is_capacity_invalid,
        {{ has_inconsistent_source_validity('versioned') }}
            as has_inconsistent_source_validity,

        -- dates
        versioned.extraction_date,

        -- timestamps
        versioned.valid_from,
        versioned.valid_to,
        versioned.extracted_at

    from versioned
    left join establishments
        on versioned.establishment_code = establishments.establishment_code

)

select * from final
