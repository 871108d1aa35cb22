{#-
    The person records of courts, prisons and probation in one shape, ready for
    linkage: one row per system record (its current version). Characters that
    vary between systems for the same name (spaces, hyphens, apostrophes, full
    stops) are removed from the normalised names. The column is named `system`
    as in the truth file and the lookup facts join (hence the noqa: RF04).
    Incremental (macros/people/person_chain.sql): a daily run recomputes the
    records whose staged history has a row delivered after the latest
    `extraction_date` this table holds for their system.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='record_key',
        on_schema_change='fail',
        meta={'person_chain': 'records'},
        pre_hook="{{ record_person_records_watermark() }}",
    )
}}
{#- each system's current versions, their history, and its record id -#}
{%- set record_sources = [
    {'name': 'court', 'system': 'common_platform', 'current': 'defendants',
        'history': 'defendant_history', 'id': 'defendant_id'},
    {'name': 'prison', 'system': 'nomis', 'current': 'prison_offenders',
        'history': 'prison_offender_history', 'id': 'prison_number'},
    {'name': 'probation', 'system': 'delius', 'current': 'probation_offenders',
        'history': 'probation_offender_history', 'id': 'crn'},
] -%}
{%- set name_noise = ["' '", "'-'", "''''", "'.'"] -%}
{%- set normalised = namespace(
    first='upper(first_name)', last='upper(last_name)'
) -%}
{%- for noise in name_noise -%}
    {%- set normalised.first = dbt.replace(normalised.first, noise, "''") -%}
    {%- set normalised.last = dbt.replace(normalised.last, noise, "''") -%}
{%- endfor -%}

with

defendants as (

    select * from {{ ref('stg_common_platform__defendants') }}

),

defendant_history as (

    select * from {{ ref('stg_common_platform__defendant_history') }}

),

prison_offenders as (

    select * from {{ ref('stg_nomis__offenders') }}

),

prison_offender_history as (

    select * from {{ ref('stg_nomis__offender_history') }}

),

probation_offenders as (

    select * from {{ ref('stg_delius__offenders') }}

),

probation_offender_history as (

    select * from {{ ref('stg_delius__offender_history') }}

),

{% for source in record_sources %}
    {{ source.name }}_first_versions as (

        select
            {{ source.id }},
            valid_from as record_first_seen_at,
            postcode as first_postcode,
            max(extraction_date) over (
                partition by {{ source.id }}
            ) as extraction_date,
            row_number() over (
                partition by {{ source.id }} order by valid_from
            ) as version_number
        from {{ source.history }}
        where {{ person_records_touched(
            source.history, source.id, source.system
        ) }}

    ),

    {{ source.name }}_records as (

        select
            '{{ source.system }}' as system,  -- noqa: RF04
            current_versions.{{ source.id }} as record_id,
            current_versions.pnc_id,
            current_versions.first_name,
            current_versions.last_name,
            current_versions.gender_code,
            current_versions.postcode,
            current_versions.postcode_area,
            current_versions.is_deleted,
            current_versions.is_date_of_birth_invalid,
            current_versions.date_of_birth,
            first_versions.first_postcode,
            first_versions.extraction_date,
            first_versions.record_first_seen_at,
            current_versions.valid_from as record_updated_at
        from {{ source.current }} as current_versions
        inner join {{ source.name }}_first_versions as first_versions
            on
                current_versions.{{ source.id }}
                = first_versions.{{ source.id }}
                and first_versions.version_number = 1

    ),
{% endfor %}

unioned as (

    {% for source in record_sources %}
        select * from {{ source.name }}_records
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

normalised as (

    select
        -- ids
        {{ dbt.concat(['system', "':'", 'record_id']) }} as record_key,
        system,
        record_id,
        pnc_id,

        -- strings
        first_name,
        last_name,
        nullif({{ normalised.first }}, '') as first_name_normalised,
        nullif({{ normalised.last }}, '') as last_name_normalised,
        gender_code,
        postcode,
        postcode_area,
        first_postcode,

        -- numerics (of the usable date of birth)
        case
            when not is_date_of_birth_invalid
                then cast(extract(year from date_of_birth) as integer)
        end as year_of_birth,
        case
            when not is_date_of_birth_invalid
                then cast(extract(month from date_of_birth) as integer)
        end as birth_month,
        case
            when not is_date_of_birth_invalid
                then cast(extract(day from date_of_birth) as integer)
        end as birth_day,

        -- booleans
        is_deleted,
        is_date_of_birth_invalid,

        -- dates
        case
            when not is_date_of_birth_invalid then date_of_birth
        end as date_of_birth,
        extraction_date,

        -- timestamps
        record_first_seen_at,
        record_updated_at
    from unioned

),

final as (

    select * from normalised

)

select * from final
