with

source as (

    select * from {{ source('delius', 'offenders') }}

),

postcode_areas as (

    select distinct postcode_area from {{ ref('ref_postcode_areas') }}

),

probation_delivery_units as (

    select distinct pdu_code from {{ ref('ref_probation_delivery_units') }}

),

renamed as (

    select
        -- ids
        {{ standardise_id('crn') }} as crn,
        {{ standardise_code('pnc_id') }} as pnc_id,

        -- strings
        {{ standardise_name('first_name') }} as first_name,
        {{ standardise_name('last_name') }} as last_name,
        {{ standardise_code('gender_code') }} as gender_code,
        {{ standardise_postcode('postcode') }} as postcode,
        {{ standardise_code('pdu_code') }} as pdu_code,

        -- booleans
        cast(_is_current as {{ dbt.type_boolean() }}) as source_is_current,
        cast(_is_deleted as {{ dbt.type_boolean() }}) as is_deleted,

        -- dates
        {{ dbt.safe_cast('date_of_birth', 'date') }} as date_of_birth,
        cast(extraction_date as date) as extraction_date,

        -- timestamps
        cast(_valid_from as {{ dbt.type_timestamp() }}) as valid_from,
        cast(_valid_to as {{ dbt.type_timestamp() }}) as source_valid_to,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from source

),

deduplicated as (

    {{ deduplicate_latest(
        'renamed',
        partition_by=['crn', 'valid_from'],
        order_by='extracted_at desc',
    ) }}

),

versioned as (

    {{ version_validity(
        'deduplicated',
        natural_key='crn',
        version_key='offender_version_key',
    ) }}

),

with_postcode_area as (

    select
        *,
        {{ postcode_area('postcode') }} as postcode_area
    from versioned

),

final as (

    select
        -- ids
        with_postcode_area.offender_version_key,
        with_postcode_area.crn,
        with_postcode_area.pnc_id,

        -- strings
        with_postcode_area.first_name,
        with_postcode_area.last_name,
        with_postcode_area.gender_code,
        with_postcode_area.postcode,
        with_postcode_area.postcode_area,
        with_postcode_area.pdu_code,

        -- numerics
        with_postcode_area.version_number,

        -- booleans
        with_postcode_area.is_current,
        with_postcode_area.is_deleted,
        with_postcode_area.pnc_id is null as has_missing_pnc_id,
        {{ is_pnc_id_invalid('with_postcode_area.pnc_id') }}
            as is_pnc_id_invalid,
        {{ is_date_of_birth_invalid(
            'with_postcode_area.date_of_birth',
            'with_postcode_area.extraction_date',
            min_age_years=18,
        ) }} as is_date_of_birth_invalid,
        with_postcode_area.postcode is null as has_missing_postcode,
        {{ is_postcode_invalid('with_postcode_area.postcode') }}
            as is_postcode_invalid,
        {{ is_code_unknown(
            'with_postcode_area.postcode_area',
            'postcode_areas.postcode_area',
        ) }} as is_postcode_area_unknown,
        {{ is_code_unknown(
            'with_postcode_area.pdu_code',
            'probation_delivery_units.pdu_code',
        ) }} as is_pdu_code_unknown,
        {{ has_inconsistent_source_validity('with_postcode_area') }}
            as has_inconsistent_source_validity,

        -- dates
        with_postcode_area.date_of_birth,
        with_postcode_area.extraction_date,

        -- timestamps
        with_postcode_area.valid_from,
        with_postcode_area.valid_to,
        with_postcode_area.extracted_at

    from with_postcode_area
    left join postcode_areas
        on with_postcode_area.postcode_area = postcode_areas.postcode_area
    left join probation_delivery_units
        on with_postcode_area.pdu_code = probation_delivery_units.pdu_code

)

select * from final
