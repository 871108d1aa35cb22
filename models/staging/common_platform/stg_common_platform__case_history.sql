{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='case_id',
        on_schema_change='fail',
    )
}}

with

source as (

    select * from {{ source('common_platform', 'cases') }}

),

courts as (

    select distinct court_code from {{ ref('ref_courts') }}

),

renamed as (

    select
        -- ids
        {{ standardise_id('case_id') }} as case_id,
        {{ standardise_id('case_urn') }} as case_urn,
        {{ standardise_id('defendant_id') }} as defendant_id,

        -- strings
        {{ standardise_code('court_code') }} as court_code,
        {{ standardise_code('case_status_code') }} as case_status_code,

        -- booleans
        cast(_is_current as {{ dbt.type_boolean() }}) as source_is_current,
        cast(_is_deleted as {{ dbt.type_boolean() }}) as is_deleted,

        -- dates
        {{ dbt.safe_cast('charge_date', 'date') }} as charge_date,
        {{ dbt.safe_cast('completed_date', 'date') }} as completed_date,
        cast(extraction_date as date) as extraction_date,

        -- timestamps
        cast(_valid_from as {{ dbt.type_timestamp() }}) as valid_from,
        cast(_valid_to as {{ dbt.type_timestamp() }}) as source_valid_to,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from source
    {{ restaged_keys(standardise_id('case_id')) }}

),

versioned as (

    {{ staged_versions(
        'renamed',
        natural_key='case_id',
        version_key='case_version_key',
    ) }}

),

final as (

    select
        -- ids
        versioned.case_version_key,
        versioned.case_id,
        versioned.case_urn,
        versioned.defendant_id,

        -- strings
        versioned.court_code,
        versioned.case_status_code,

        -- numerics
        versioned.version_number,

        -- booleans
        versioned.is_current,
        versioned.is_deleted,
        {{ is_code_unknown('versioned.court_code', 'courts.court_code') }}
            as is_court_code_unknown,
        coalesce(
            versioned.charge_date > versioned.extraction_date,
            true
        ) as is_charge_date_invalid,
        case
            when versioned.case_status_code = 'OPEN'
                then versioned.completed_date is not null
            else coalesce(
                versioned.completed_date < versioned.charge_date,
                true
            )
        end as has_inconsistent_completed_date,
        {{ has_inconsistent_source_validity('versioned') }}
            as has_inconsistent_source_validity,

        -- dates
        versioned.charge_date,
        versioned.completed_date,
        versioned.extraction_date,

        -- timestamps
        versioned.valid_from,
        versioned.valid_to,
        versioned.extracted_at

    from versioned
    left join courts
        on versioned.court_code = courts.court_code

)

select * from final
