{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='termination_id',
        on_schema_change='fail',
    )
}}

with

source as (

    select * from {{ source('delius', 'terminations') }}

),

renamed as (

    select
        -- ids
        {{ standardise_id('termination_id') }} as termination_id,
        {{ standardise_id('event_id') }} as event_id,

        -- strings
        {{ standardise_code('termination_reason_code') }}
            as termination_reason_code,

        -- dates
        {{ dbt.safe_cast('termination_date', 'date') }} as termination_date,
        cast(extraction_date as date) as extraction_date,

        -- timestamps
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from source
    {{ restaged_keys(standardise_id('termination_id')) }}

),

deduplicated as (

    {{ staged_latest('renamed', natural_key='termination_id') }}

),

final as (

    select
        -- ids
        termination_id,
        event_id,

        -- strings
        termination_reason_code,

        -- booleans
        coalesce(termination_date > extraction_date, true)
            as is_termination_date_invalid,

        -- dates
        termination_date,
        extraction_date,

        -- timestamps
        extracted_at

    from deduplicated

)

select * from final
