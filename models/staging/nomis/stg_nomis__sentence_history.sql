{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='sentence_id',
        on_schema_change='fail',
    )
}}

with

source as (

    select * from {{ source('nomis', 'sentences') }}

),

offences as (

    select distinct offence_code from {{ ref('ref_offences') }}

),

renamed as (

    select
        -- ids
        {{ standardise_id('sentence_id') }} as sentence_id,
        {{ standardise_id('booking_id') }} as booking_id,

        -- strings
        {{ standardise_code('offence_code') }} as offence_code,
        {{ standardise_code('sentence_type_code') }} as sentence_type_code,

        -- numerics
        {{ dbt.safe_cast('sentence_length_days', dbt.type_int()) }}
            as sentence_length_days,

        -- booleans
        cast(_is_current as {{ dbt.type_boolean() }}) as source_is_current,
        cast(_is_deleted as {{ dbt.type_boolean() }}) as is_deleted,

        -- dates
        {{ dbt.safe_cast('sentence_start_date', 'date') }}
            as sentence_start_date,
        {{ dbt.safe_cast('conditional_release_date', 'date') }}
            as conditional_release_date,
        cast(extraction_date as date) as extraction_date,

        -- timestamps
        cast(_valid_from as {{ dbt.type_timestamp() }}) as valid_from,
        cast(_valid_to as {{ dbt.type_timestamp() }}) as source_valid_to,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from source
    {{ restaged_keys(standardise_id('sentence_id')) }}

),

versioned as (

    {{ staged_versions(
        'renamed',
        natural_key='sentence_id',
        version_key='sentence_version_key',
    ) }}

),

final as (

    select
        -- ids
        versioned.sentence_version_key,
        versioned.sentence_id,
        versioned.booking_id,

        -- strings
        versioned.offence_code,
        versioned.sentence_type_code,

        -- numerics
        versioned.sentence_length_days,
        versioned.version_number,

        -- booleans
        versioned.is_current,
        versioned.is_deleted,
        {{ is_code_unknown(
            'versioned.offence_code',
            'offences.offence_code',
        ) }} as is_offence_code_unknown,
        case
            when versioned.sentence_type_code = 'DETERMINATE'
                then coalesce(versioned.sentence_length_days <= 0, true)
            else versioned.sentence_length_days is not null
        end as has_inconsistent_sentence_length,
        coalesce(
            versioned.conditional_release_date
            < versioned.sentence_start_date,
            false
        ) as is_conditional_release_date_invalid,
        {{ has_inconsistent_source_validity('versioned') }}
            as has_inconsistent_source_validity,

        -- dates
        versioned.sentence_start_date,
        versioned.conditional_release_date,
        versioned.extraction_date,

        -- timestamps
        versioned.valid_from,
        versioned.valid_to,
        versioned.extracted_at

    from versioned
    left join offences
        on versioned.offence_code = offences.offence_code

)

select * from final
