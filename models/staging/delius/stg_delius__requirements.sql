{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='requirement_id',
        on_schema_change='fail',
    )
}}

with

source as (

    select * from {{ source('delius', 'requirements') }}

),

renamed as (

    select
        -- ids
        {{ standardise_id('requirement_id') }} as requirement_id,
        {{ standardise_id('event_id') }} as event_id,

        -- strings
        {{ standardise_code('requirement_type_code') }}
            as requirement_type_code,
        {{ standardise_code('length_unit') }} as length_unit,

        -- numerics
        {{ dbt.safe_cast('length_value', dbt.type_int()) }} as length_value,

        -- dates
        {{ dbt.safe_cast('requirement_start_date', 'date') }}
            as requirement_start_date,
        cast(extraction_date as date) as extraction_date,

        -- timestamps
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from source
    {{ restaged_keys(standardise_id('requirement_id')) }}

),

deduplicated as (

    {{ staged_latest('renamed', natural_key='requirement_id') }}

),

final as (

    select
        -- ids
        requirement_id,
        event_id,

        -- strings
        requirement_type_code,
        length_unit,

        -- numerics
        length_value,

        -- booleans
        coalesce(length_value <= 0, true) as is_length_invalid,
        coalesce(requirement_start_date > extraction_date, true)
            as is_requirement_start_date_invalid,

        -- dates
        requirement_start_date,
        extraction_date,

        -- timestamps
        extracted_at

    from deduplicated

)

select * from final
