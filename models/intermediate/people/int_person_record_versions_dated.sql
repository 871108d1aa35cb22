{#-
    Every version of every person record (court defendant, prison offender,
    probation offender), with since when its address and its PDU have been
    the record's: the start of the earliest version in the run of versions
    ending at it with the same postcode (PDU). int_person_versions takes a
    person's home area from the record whose address changed most recently,
    and the PDU from the probation record whose PDU changed last.
    Incremental (macros/people/person_chain.sql): a daily run recomputes every
    version of the records whose staged history has a row delivered after the
    latest `extraction_date` this table holds for their system.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['system', 'record_id'],
        on_schema_change='fail',
        meta={'person_chain': 'records'},
    )
}}
{%- set dated_columns = [
    ('postcode', 'address_since'),
    ('pdu_code', 'pdu_since'),
] -%}

with

defendant_history as (

    select * from {{ ref('stg_common_platform__defendant_history') }}

),

prison_offender_history as (

    select * from {{ ref('stg_nomis__offender_history') }}

),

probation_offender_history as (

    select * from {{ ref('stg_delius__offender_history') }}

),

record_versions as (

    select
        'common_platform' as system,  -- noqa: RF04
        defendant_id as record_id,
        postcode,
        postcode_area,
        cast(null as {{ dbt.type_string() }}) as pdu_code,
        is_deleted,
        valid_from,
        valid_to,
        extraction_date
    from defendant_history
    where {{ person_records_touched(
        'defendant_history', 'defendant_id', 'common_platform'
    ) }}
    union all
    select
        'nomis' as system,  -- noqa: RF04
        prison_number as record_id,
        postcode,
        postcode_area,
        cast(null as {{ dbt.type_string() }}) as pdu_code,
        is_deleted,
        valid_from,
        valid_to,
        extraction_date
    from prison_offender_history
    where {{ person_records_touched(
        'prison_offender_history', 'prison_number', 'nomis'
    ) }}
    union all
    select
        'delius' as system,  -- noqa: RF04
        crn as record_id,
        postcode,
        postcode_area,
        pdu_code,
        is_deleted,
        valid_from,
        valid_to,
        extraction_date
    from probation_offender_history
    where {{ person_records_touched(
        'probation_offender_history', 'crn', 'delius'
    ) }}

),

record_versions_lagged as (

    select
        *,
        lag(postcode) over (
            partition by system, record_id order by valid_from
        ) as previous_postcode,
        lag(pdu_code) over (
            partition by system, record_id order by valid_from
        ) as previous_pdu_code,
        row_number() over (
            partition by system, record_id order by valid_from
        ) as record_version_number
    from record_versions

),

-- since when each version's address (and PDU) has been the record's: the
-- start of the latest version that changed it
record_versions_dated as (

    select
        *,
        {%- for column, since in dated_columns %}
            max(
                case
                    when
                        record_version_number = 1
                        or previous_{{ column }} != {{ column }}
                        or (previous_{{ column }} is null)
                        != ({{ column }} is null)
                        then valid_from
                end
            ) over (
                partition by system, record_id
                order by valid_from
                rows between unbounded preceding and current row
            ) as {{ since }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from record_versions_lagged

),

final as (

    select
        system,
        record_id,
        postcode,
        postcode_area,
        pdu_code,
        is_deleted,
        valid_from,
        valid_to,
        address_since,
        pdu_since,
        extraction_date
    from record_versions_dated

)

select * from final
