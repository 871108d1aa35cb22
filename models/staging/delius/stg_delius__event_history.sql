{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_id',
        on_schema_change='fail',
    )
}}

with

source as (

    select * from {{ source('delius', 'events') }}

),

offences as (

    select distinct offence_code from {{ ref('ref_offences') }}

),

courts as (

    select distinct court_code from {{ ref('ref_courts') }}

),

establishments as (

    select distinct establishment_code
    from {{ ref('ref_prison_establishments') }}

),

probation_delivery_units as (

    select distinct pdu_code from {{ ref('ref_probation_delivery_units') }}

),

renamed as (

    select
        -- ids
        {{ standardise_id('event_id') }} as event_id,
        {{ standardise_id('crn') }} as crn,

        -- strings
        {{ standardise_code('order_type_code') }} as order_type_code,
        {{ standardise_code('offence_code') }} as offence_code,
        {{ standardise_code('sentencing_court_code') }}
            as sentencing_court_code,
        {{ standardise_code('release_establishment_code') }}
            as release_establishment_code,
        {{ standardise_code('pdu_code') }} as pdu_code,
        {{ standardise_code('event_status_code') }} as event_status_code,

        -- numerics
        {{ dbt.safe_cast('order_length_days', dbt.type_int()) }}
            as order_length_days,

        -- booleans
        cast(_is_current as {{ dbt.type_boolean() }}) as source_is_current,
        cast(_is_deleted as {{ dbt.type_boolean() }}) as is_deleted,

        -- dates
        {{ dbt.safe_cast('order_start_date', 'date') }} as order_start_date,
        {{ dbt.safe_cast('expected_end_date', 'date') }} as expected_end_date,
        cast(extraction_date as date) as extraction_date,

        -- timestamps
        cast(_valid_from as {{ dbt.type_timestamp() }}) as valid_from,
        cast(_valid_to as {{ dbt.type_timestamp() }}) as source_valid_to,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from source
    {{ restaged_keys(standardise_id('event_id')) }}

),

versioned as (

    {{ staged_versions(
        'renamed',
        natural_key='event_id',
        version_key='event_version_key',
    ) }}

),

final as (

    select
        -- ids
        versioned.event_version_key,
        versioned.event_id,
        versioned.crn,

        -- strings
        versioned.order_type_code,
        versioned.offence_code,
        versioned.sentencing_court_code,
        versioned.release_establishment_code,
        versioned.pdu_code,
        versioned.event_status_code,

        -- numerics
        versioned.order_length_days,
        versioned.version_number,

        -- booleans
        versioned.is_current,
        versioned.is_deleted,
        {{ is_code_unknown(
            'versioned.offence_code',
            'offences.offence_code',
        ) }} as is_offence_code_unknown,
        {{ is_code_unknown(
            'versioned.sentencing_court_code',
            'courts.court_code',
        ) }} as is_sentencing_court_code_unknown,
        {{ is_code_unknown(
            'versioned.release_establishment_code',
            'establishments.establishment_code',
        ) }} as is_release_establishment_code_unknown,
        {{ is_code_unknown(
            'versioned.pdu_code',
            'probation_delivery_units.pdu_code',
        ) }} as is_pdu_code_unknown,
        case
            when versioned.order_type_code in ('CO', 'SSO')
                then
                    versioned.sentencing_court_code is null
                    or versioned.release_establishment_code is not null
            when versioned.order_type_code in ('LIC', 'PSS')
                then
                    versioned.sentencing_court_code is not null
                    or versioned.release_establishment_code is null
            else false
        end as has_inconsistent_order_origin,
        coalesce(
            versioned.expected_end_date < versioned.order_start_date,
            true
        ) as is_expected_end_date_invalid,
        coalesce(versioned.order_length_days <= 0, true)
            as is_order_length_invalid,
        {{ has_inconsistent_source_validity('versioned') }}
            as has_inconsistent_source_validity,

        -- dates
        versioned.order_start_date,
        versioned.expected_end_date,
        versioned.extraction_date,

        -- timestamps
        versioned.valid_from,
        versioned.valid_to,
        versioned.extracted_at

    from versioned
    left join offences
        on versioned.offence_code = offences.offence_code
    left join courts
        on versioned.sentencing_court_code = courts.court_code
    left join establishments
        on
            versioned.release_establishment_code
            = establishments.establishment_code
    left join probation_delivery_units
        on versioned.pdu_code = probation_delivery_units.pdu_code

)

select * from final
