{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='case_offence_id',
        on_schema_change='fail',
    )
}}

with

source as (

    select * from {{ source('common_platform', 'case_offences') }}

),

offences as (

    select distinct offence_code from {{ ref('ref_offences') }}

),

renamed as (

    select
        -- ids
        {{ standardise_id('case_offence_id') }} as case_offence_id,
        {{ standardise_id('case_id') }} as case_id,

        -- strings
        {{ standardise_code('offence_code') }} as offence_code,

        -- numerics
        {{ dbt.safe_cast('offence_sequence', dbt.type_int()) }}
            as offence_sequence,

        -- dates
        {{ dbt.safe_cast('offence_date', 'date') }} as offence_date,
        cast(extraction_date as date) as extraction_date,

        -- timestamps
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from source
    {{ restaged_keys(standardise_id('case_offence_id')) }}

),

deduplicated as (

    {{ staged_latest('renamed', natural_key='case_offence_id') }}

),

final as (

    select
        -- ids
        deduplicated.case_offence_id,
        deduplicated.case_id,

        -- strings
        deduplicated.offence_code,

        -- numerics
        deduplicated.offence_sequence,

        -- booleans
        {{ is_code_unknown(
            'deduplicated.offence_code',
            'offences.offence_code',
        ) }} as is_offence_code_unknown,
        coalesce(
            deduplicated.offence_date > deduplicated.extraction_date,
            true
        ) as is_offence_date_invalid,

        -- dates
        deduplicated.offence_date,
        deduplicated.extraction_date,

        -- timestamps
        deduplicated.extracted_at

    from deduplicated
    left join offences
        on deduplicated.offence_code = offences.offence_code

)

select * from final
