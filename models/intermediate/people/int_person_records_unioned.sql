{#-
    The person records of courts, prisons and probation in one shape, ready for linkage:
    one row per system record (its current version), with comparison-ready name and date
    fields. Characters that vary between systems for the same name (spaces, hyphens,
    apostrophes, full stops) are removed from the normalised names.
-#}
{%- set name_noise = ["' '", "'-'", "''''", "'.'"] -%}
{%- set normalised = namespace(first='upper(first_name)', last='upper(last_name)') -%}
{%- for character in name_noise -%}
    {%- set normalised.first = dbt.replace(normalised.first, character, "''") -%}
    {%- set normalised.last = dbt.replace(normalised.last, character, "''") -%}
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

defendants_first_seen as (
    select
        defendant_id,
        min(valid_from) as record_first_seen_at
    from defendant_history
    group by defendant_id
),

prison_offenders_first_seen as (
    select
        prison_number,
        min(valid_from) as record_first_seen_at
    from prison_offender_history
    group by prison_number
),

probation_offenders_first_seen as (
    select
        crn,
        min(valid_from) as record_first_seen_at
    from probation_offender_history
    group by crn
),

court_records as (
    select
        'common_platform' as system,
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
        defendants_first_seen.record_first_seen_at,
        defendants.valid_from as record_updated_at
    from defendants
    inner join defendants_first_seen
        on defendants.defendant_id = defendants_first_seen.defendant_id
),

prison_records as (
    select
        'nomis' as system,
        prison_offenders.prison_number as record_id,
        prison_offenders.pnc_id,
        prison_offenders.first_name,
        prison_offenders.last_name,
        prison_offenders.gender_code,
        prison_offenders.postcode,
        prison_offenders.postcode_area,
        prison_offenders.is_deleted,
        prison_offenders.is_date_of_birth_invalid,
        prison_offenders.date_of_birth,
        prison_offenders_first_seen.record_first_seen_at,
        prison_offenders.valid_from as record_updated_at
    from prison_offenders
    inner join prison_offenders_first_seen
        on prison_offenders.prison_number = prison_offenders_first_seen.prison_number
),

probation_records as (
    select
        'delius' as system,
        probation_offenders.crn as record_id,
        probation_offenders.pnc_id,
        probation_offenders.first_name,
        probation_offenders.last_name,
        probation_offenders.gender_code,
        probation_offenders.postcode,
        probation_offenders.postcode_area,
        probation_offenders.is_deleted,
        probation_offenders.is_date_of_birth_invalid,
        probation_offenders.date_of_birth,
        probation_offenders_first_seen.record_first_seen_at,
        probation_offenders.valid_from as record_updated_at
    from probation_offenders
    inner join probation_offenders_first_seen
        on probation_offenders.crn = probation_offenders_first_seen.crn
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
