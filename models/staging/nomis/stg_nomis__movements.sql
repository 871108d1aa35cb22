{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='movement_id',
        on_schema_change='fail',
    )
}}

with

source as (

    select * from {{ source('nomis', 'movements') }}

),

movement_reasons as (

    select
        movement_reason_code,
        max(movement_type_code) as movement_type_code
    from {{ ref('ref_movement_reasons') }}
    group by movement_reason_code

),

establishments as (

    select distinct establishment_code
    from {{ ref('ref_prison_establishments') }}

),

renamed as (

    select
        -- ids
        {{ standardise_id('movement_id') }} as movement_id,
        {{ standardise_id('booking_id') }} as booking_id,
        {{ standardise_id('prison_number') }} as prison_number,

        -- strings
        {{ standardise_code('movement_type_code') }} as movement_type_code,
        {{ standardise_code('movement_reason_code') }} as movement_reason_code,
        {{ standardise_code('from_establishment_code') }}
            as from_establishment_code,
        {{ standardise_code('to_establishment_code') }}
            as to_establishment_code,

        -- dates
        cast(extraction_date as date) as extraction_date,

        -- timestamps
        {{ dbt.safe_cast('movement_at', dbt.type_timestamp()) }}
            as movement_at,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from source
    {{ restaged_keys(standardise_id('movement_id')) }}

),

deduplicated as (

    {{ staged_latest('renamed', natural_key='movement_id') }}

),

final as (

    select
        -- ids
        deduplicated.movement_id,
        deduplicated.booking_id,
        deduplicated.prison_number,

        -- strings
        deduplicated.movement_type_code,
        deduplicated.movement_reason_code,
        deduplicated.from_establishment_code,
        deduplicated.to_establishment_code,

        -- booleans
        {{ is_code_unknown(
            'deduplicated.movement_reason_code',
            'movement_reasons.movement_reason_code',
        ) }} as is_movement_reason_code_unknown,
        coalesce(
            movement_reasons.movement_type_code
            != deduplicated.movement_type_code,
            false
        ) as has_inconsistent_movement_reason,
        {{ is_code_unknown(
            'deduplicated.from_establishment_code',
            'from_establishments.establishment_code',
        ) }} as is_from_establishment_code_unknown,
        {{ is_code_unknown(
            'deduplicated.to_establishment_code',
            'to_establishments.establishment_code',
        ) }} as is_to_establishment_code_unknown,
        case deduplicated.movement_type_code
            when 'ADM'
                then
                    deduplicated.from_establishment_code is not null
                    or deduplicated.to_establishment_code is null
            when 'REL'
                then
                    deduplicated.from_establishment_code is null
                    or deduplicated.to_establishment_code is not null
            when 'TRN'
                then coalesce(
                    deduplicated.from_establishment_code
                    = deduplicated.to_establishment_code,
                    true
                )
            else false
        end as has_inconsistent_establishments,

        -- dates
        cast(deduplicated.movement_at as date) as movement_date,
        deduplicated.extraction_date,

        -- timestamps
        deduplicated.movement_at,
        deduplicated.extracted_at

    from deduplicated
    left join movement_reasons
        on
            deduplicated.movement_reason_code
            = movement_reasons.movement_reason_code
    left join establishments as from_establishments
        on
            deduplicated.from_establishment_code
            = from_establishments.establishment_code
    left join establishments as to_establishments
        on
            deduplicated.to_establishment_code
            = to_establishments.establishment_code

)

select * from final
