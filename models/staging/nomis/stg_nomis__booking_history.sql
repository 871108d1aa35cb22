{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='booking_id',
        on_schema_change='fail',
    )
}}

with

source as (

    select * from {{ source('nomis', 'bookings') }}

),

establishments as (

    select distinct establishment_code
    from {{ ref('ref_prison_establishments') }}

),

renamed as (

    select
        -- ids
        {{ standardise_id('booking_id') }} as booking_id,
        {{ standardise_id('prison_number') }} as prison_number,

        -- strings
        {{ standardise_code('establishment_code') }} as establishment_code,
        {{ standardise_code('booking_status_code') }} as booking_status_code,

        -- booleans
        cast(_is_current as {{ dbt.type_boolean() }}) as source_is_current,
        cast(_is_deleted as {{ dbt.type_boolean() }}) as is_deleted,

        -- dates
        {{ dbt.safe_cast('booking_start_date', 'date') }}
            as booking_start_date,
        {{ dbt.safe_cast('booking_end_date', 'date') }} as booking_end_date,
        cast(extraction_date as date) as extraction_date,

        -- timestamps
        cast(_valid_from as {{ dbt.type_timestamp() }}) as valid_from,
        cast(_valid_to as {{ dbt.type_timestamp() }}) as source_valid_to,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from source
    {{ restaged_keys(standardise_id('booking_id')) }}

),

versioned as (

    {{ staged_versions(
        'renamed',
        natural_key='booking_id',
        version_key='booking_version_key',
    ) }}

),

final as (

    select
        -- ids
        versioned.booking_version_key,
        versioned.booking_id,
        versioned.prison_number,

        -- strings
        versioned.establishment_code,
        versioned.booking_status_code,

        -- numerics
        versioned.version_number,

        -- booleans
        versioned.is_current,
        versioned.is_deleted,
        {{ is_code_unknown(
            'versioned.establishment_code',
            'establishments.establishment_code',
        ) }} as is_establishment_code_unknown,
        coalesce(
            versioned.booking_start_date > versioned.extraction_date,
            true
        ) as is_booking_start_date_invalid,
        case
            when versioned.booking_status_code = 'ACTIVE'
                then versioned.booking_end_date is not null
            else coalesce(
                versioned.booking_end_date < versioned.booking_start_date,
                true
            )
        end as has_inconsistent_booking_end_date,
        {{ has_inconsistent_source_validity('versioned') }}
            as has_inconsistent_source_validity,

        -- dates
        versioned.booking_start_date,
        versioned.booking_end_date,
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
