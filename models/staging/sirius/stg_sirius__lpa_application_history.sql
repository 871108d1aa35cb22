{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='lpa_id',
        on_schema_change='fail',
    )
}}

with

source as (

    select * from {{ source('sirius', 'lpa_applications') }}

),

postcode_areas as (

    select distinct postcode_area from {{ ref('ref_postcode_areas') }}

),

renamed as (

    select
        -- ids
        {{ standardise_code('lpa_id') }} as lpa_id,
        {{ standardise_id('donor_id') }} as donor_id,

        -- strings
        {{ standardise_name('donor_first_name') }} as donor_first_name,
        {{ standardise_name('donor_last_name') }} as donor_last_name,
        {{ standardise_postcode('donor_postcode') }} as donor_postcode,
        {{ standardise_code('lpa_type_code') }} as lpa_type_code,
        {{ standardise_code('channel_code') }} as channel_code,
        {{ standardise_code('status_code') }} as status_code,

        -- booleans
        cast(_is_current as {{ dbt.type_boolean() }}) as source_is_current,
        cast(_is_deleted as {{ dbt.type_boolean() }}) as is_deleted,
        (
            {{ is_unparseable('donor_date_of_birth', 'date') }}
            or {{ is_unparseable('received_date', 'date') }}
            or {{ is_unparseable('registered_date', 'date') }}
            or {{ is_unparseable('rejected_date', 'date') }}
            or {{ is_unparseable('withdrawn_date', 'date') }}
        ) as has_malformed_dates,

        -- dates
        {{ dbt.safe_cast('donor_date_of_birth', 'date') }}
            as donor_date_of_birth,
        {{ dbt.safe_cast('received_date', 'date') }} as received_date,
        {{ dbt.safe_cast('registered_date', 'date') }} as registered_date,
        {{ dbt.safe_cast('rejected_date', 'date') }} as rejected_date,
        {{ dbt.safe_cast('withdrawn_date', 'date') }} as withdrawn_date,
        cast(extraction_date as date) as extraction_date,

        -- timestamps
        cast(_valid_from as {{ dbt.type_timestamp() }}) as valid_from,
        cast(_valid_to as {{ dbt.type_timestamp() }}) as source_valid_to,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from source
    {{ restaged_keys(standardise_code('lpa_id')) }}

),

versioned as (

    {{ staged_versions(
        'renamed',
        natural_key='lpa_id',
        version_key='lpa_application_version_key',
    ) }}

),

with_postcode_area as (

    select
        *,
        {{ postcode_area('donor_postcode') }} as donor_postcode_area
    from versioned

),

final as (

    select
        -- ids
        with_postcode_area.lpa_application_version_key,
        with_postcode_area.lpa_id,
        with_postcode_area.donor_id,

        -- strings
        with_postcode_area.donor_first_name,
        with_postcode_area.donor_last_name,
        with_postcode_area.donor_postcode,
        with_postcode_area.donor_postcode_area,
        with_postcode_area.lpa_type_code,
        with_postcode_area.channel_code,
        with_postcode_area.status_code,

        -- numerics
        with_postcode_area.version_number,

        -- booleans
        with_postcode_area.is_current,
        with_postcode_area.is_deleted,
        with_postcode_area.has_malformed_dates,
        {{ is_date_of_birth_invalid(
            'with_postcode_area.donor_date_of_birth',
            'with_postcode_area.extraction_date',
            min_age_years=18,
            max_age_years=120,
        ) }} as is_donor_date_of_birth_invalid,
        with_postcode_area.donor_postcode is null
            as has_missing_donor_postcode,
        {{ is_postcode_invalid('with_postcode_area.donor_postcode') }}
            as is_donor_postcode_invalid,
        {{ is_code_unknown(
            'with_postcode_area.donor_postcode_area',
            'postcode_areas.postcode_area',
        ) }} as is_donor_postcode_area_unknown,
        coalesce(
            with_postcode_area.received_date
            > with_postcode_area.extraction_date,
            true
        ) as is_received_date_invalid,
        coalesce(
            (
                with_postcode_area.registered_date is not null
                and with_postcode_area.status_code != 'REGISTERED'
            )
            or (
                with_postcode_area.rejected_date is not null
                and with_postcode_area.status_code != 'REJECTED'
            )
            or (
                with_postcode_area.withdrawn_date is not null
                and with_postcode_area.status_code != 'WITHDRAWN'
            )
            or case with_postcode_area.status_code
                when 'REGISTERED'
                    then coalesce(
                        with_postcode_area.registered_date
                        < with_postcode_area.received_date,
                        true
                    )
                when 'REJECTED'
                    then coalesce(
                        with_postcode_area.rejected_date
                        < with_postcode_area.received_date,
                        true
                    )
                when 'WITHDRAWN'
                    then coalesce(
                        with_postcode_area.withdrawn_date
                        < with_postcode_area.received_date,
                        true
                    )
                else false
            end,
            true
        ) as has_inconsistent_status_dates,
        {{ has_inconsistent_source_validity('with_postcode_area') }}
            as has_inconsistent_source_validity,

        -- dates
        with_postcode_area.donor_date_of_birth,
        with_postcode_area.received_date,
        with_postcode_area.registered_date,
        with_postcode_area.rejected_date,
        with_postcode_area.withdrawn_date,
        with_postcode_area.extraction_date,

        -- timestamps
        with_postcode_area.valid_from,
        with_postcode_area.valid_to,
        with_postcode_area.extracted_at

    from with_postcode_area
    left join postcode_areas
        on
            with_postcode_area.donor_postcode_area
            = postcode_areas.postcode_area

)

select * from final
