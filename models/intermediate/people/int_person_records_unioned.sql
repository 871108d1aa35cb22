{#-
    The person records of courts, prisons and probation in one shape, ready for
    linkage: one row per system record (its current version). Characters that
    vary between systems for the same name (spaces, hyphens, apostrophes, full
    stops) are removed from the normalised names. The column is named `system`
    as in the truth file and the lookup facts join (hence the noqa: RF04).
-#}
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

defendant_versions_numbered as (

    select
        defendant_id,
        valid_from as record_first_seen_at,
        postcode as first_postcode,
        row_number() over (
            partition by defendant_id order by valid_from
        ) as version_number
    from defendant_history

),

prison_offender_versions_numbered as (

    select
        prison_number,
        valid_from as record_first_seen_at,
        postcode as first_postcode,
        row_number() over (
            partition by prison_number order by valid_from
        ) as version_number
    from prison_offender_history

),

probation_offender_versions_numbered as (

    select
        crn,
        valid_from as record_first_seen_at,
        postcode as first_postcode,
        row_number() over (
            partition by crn order by valid_from
        ) as version_number
    from probation_offender_history

),

court_records as (

    select
        'common_platform' as system,  -- noqa: RF04
        defendants.defendant_id as record_id,
        defendants.pnc_id,
        defendants.first_name,
        defendants.last_name,
        defendants.gender_code,
        defendants.postcode,
        defendants.postcode_area,
        defendants.is_deleted,
        defendants.is_date_of_birth_invalid,
        defendants.date_of_birth,
        first_version.first_postcode,
        first_version.record_first_seen_at,
        defendants.valid_from as record_updated_at
    from defendants
    inner join defendant_versions_numbered as first_version
        on
            defendants.defendant_id = first_version.defendant_id
            and first_version.version_number = 1

),

prison_records as (

    select
        'nomis' as system,  -- noqa: RF04
        offenders.prison_number as record_id,
        offenders.pnc_id,
        offenders.first_name,
        offenders.last_name,
        offenders.gender_code,
        offenders.postcode,
        offenders.postcode_area,
        offenders.is_deleted,
        offenders.is_date_of_birth_invalid,
        offenders.date_of_birth,
        first_version.first_postcode,
        first_version.record_first_seen_at,
        offenders.valid_from as record_updated_at
    from prison_offenders as offenders
    inner join prison_offender_versions_numbered as first_version
        on
            offenders.prison_number = first_version.prison_number
            and first_version.version_number = 1

),

probation_records as (

    select
        'delius' as system,  -- noqa: RF04
        offenders.crn as record_id,
        offenders.pnc_id,
        offenders.first_name,
        offenders.last_name,
        offenders.gender_code,
        offenders.postcode,
        offenders.postcode_area,
        offenders.is_deleted,
        offenders.is_date_of_birth_invalid,
        offenders.date_of_birth,
        first_version.first_postcode,
        first_version.record_first_seen_at,
        offenders.valid_from as record_updated_at
    from probation_offenders as offenders
    inner join probation_offender_versions_numbered as first_version
        on
            offenders.crn = first_version.crn
            and first_version.version_number = 1

),

unioned as (

    select * from court_records
    union all
    select * from prison_records
    union all
    select * from probation_records

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

        -- timestamps
        record_first_seen_at,
        record_updated_at
    from unioned

),

final as (

    select * from normalised

)

select * from final
