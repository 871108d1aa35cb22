{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='outcome_id',
        on_schema_change='fail',
    )
}}

with

source as (

    select * from {{ source('common_platform', 'outcomes') }}

),

disposals as (

    select distinct disposal_code from {{ ref('ref_disposals') }}

),

renamed as (

    select
        -- ids
        {{ standardise_id('outcome_id') }} as outcome_id,
        {{ standardise_id('case_offence_id') }} as case_offence_id,

        -- strings
        {{ standardise_code('verdict_code') }} as verdict_code,
        {{ standardise_code('disposal_code') }} as disposal_code,

        -- numerics
        {{ dbt.safe_cast('sentence_length_days', dbt.type_int()) }}
            as sentence_length_days,
        {{ dbt.safe_cast('fine_amount', 'numeric(12, 2)') }} as fine_amount,

        -- dates
        {{ dbt.safe_cast('outcome_date', 'date') }} as outcome_date,
        cast(extraction_date as date) as extraction_date,

        -- timestamps
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from source
    {{ restaged_keys(standardise_id('outcome_id')) }}

),

deduplicated as (

    {{ staged_latest('renamed', natural_key='outcome_id') }}

),

final as (

    select
        -- ids
        deduplicated.outcome_id,
        deduplicated.case_offence_id,

        -- strings
        deduplicated.verdict_code,
        deduplicated.disposal_code,

        -- numerics
        deduplicated.sentence_length_days,
        deduplicated.fine_amount,

        -- booleans
        {{ is_code_unknown(
            'deduplicated.disposal_code',
            'disposals.disposal_code',
        ) }} as is_disposal_code_unknown,
        case
            when deduplicated.verdict_code = 'GUILTY'
                then deduplicated.disposal_code is null
            else deduplicated.disposal_code is not null
        end as has_inconsistent_disposal,
        case
            when
                deduplicated.disposal_code
                in ('IMPRISONMENT', 'SUSPENDED', 'COMMUNITY')
                then coalesce(deduplicated.sentence_length_days <= 0, true)
            else deduplicated.sentence_length_days is not null
        end as has_inconsistent_sentence_length,
        case
            when deduplicated.disposal_code = 'FINE'
                then coalesce(deduplicated.fine_amount <= 0, true)
            else deduplicated.fine_amount is not null
        end as has_inconsistent_fine_amount,

        -- dates
        deduplicated.outcome_date,
        deduplicated.extraction_date,

        -- timestamps
        deduplicated.extracted_at

    from deduplicated
    left join disposals
        on deduplicated.disposal_code = disposals.disposal_code

)

select * from final
