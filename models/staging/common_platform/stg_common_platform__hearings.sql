{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='hearing_id',
        on_schema_change='fail',
    )
}}

with

source as (

    select * from {{ source('common_platform', 'hearings') }}

),

courts as (

    select distinct court_code from {{ ref('ref_courts') }}

),

renamed as (

    select
        -- ids
        {{ standardise_id('hearing_id') }} as hearing_id,
        {{ standardise_id('case_id') }} as case_id,

        -- strings
        {{ standardise_code('court_code') }} as court_code,
        {{ standardise_code('hearing_type_code') }} as hearing_type_code,
        {{ standardise_code('hearing_status_code') }} as hearing_status_code,

        -- numerics
        {{ dbt.safe_cast('listed_minutes', dbt.type_int()) }}
            as listed_minutes,

        -- dates
        {{ dbt.safe_cast('hearing_date', 'date') }} as hearing_date,
        cast(extraction_date as date) as extraction_date,

        -- timestamps
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from source
    {{ restaged_keys(standardise_id('hearing_id')) }}

),

deduplicated as (

    {{ staged_latest('renamed', natural_key='hearing_id') }}

),

final as (

    select
        -- ids
        deduplicated.hearing_id,
        deduplicated.case_id,

        -- strings
        deduplicated.court_code,
        deduplicated.hearing_type_code,
        deduplicated.hearing_status_code,

        -- numerics
        deduplicated.listed_minutes,

        -- booleans
        {{ is_code_unknown('deduplicated.court_code', 'courts.court_code') }}
            as is_court_code_unknown,
        coalesce(deduplicated.listed_minutes <= 0, true)
            as is_listed_minutes_invalid,

        -- dates
        deduplicated.hearing_date,
        deduplicated.extraction_date,

        -- timestamps
        deduplicated.extracted_at

    from deduplicated
    left join courts
        on deduplicated.court_code = courts.court_code

)

select * from final
