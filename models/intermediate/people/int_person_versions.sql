{#-
    The history of each linked person as SCD2 versions (clear person_id;
    dim_person pseudonymises and describes it), from the person's state at
    every candidate change point (int_person_states_derived): a person version
    starts only where the state differs from the one before. The first version
    starts at 1900-01-01, so that events dated before the person's first record
    still find a version (holding the earliest known state). Gender and year of
    birth are type 1 (the current consensus of the person's records).
    Incremental: the versions of the persons whose records or links changed
    are recomputed (macros/people/person_chain.sql).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='person_id',
        on_schema_change='fail',
        meta={'person_chain': 'persons'},
        pre_hook="{{ delete_vanished_persons() }}",
    )
}}
{%- set state_columns = ['home_postcode_area', 'probation_pdu_code'] + [
    'court_record_count', 'prison_record_count', 'probation_record_count',
] -%}
{%- set type_1_columns = {
    'gender_code': "gender_code in ('M', 'F')",
    'year_of_birth': 'year_of_birth is not null',
} -%}

with

linked_records as (

    select * from {{ ref('int_person_records_linked') }}

),

person_records as (

    select * from {{ ref('int_person_records_unioned') }}

),

states as (

    select * from {{ ref('int_person_states_derived') }}

),

{{ persons_touched_ctes('linked_records', 'person_records') }}

-- a state opens a version when it is the first or any attribute differs
-- from the one before
states_flagged as (

    select
        *,
        (
            row_number() over (
                partition by person_id order by changed_at
            ) = 1
            {%- for column in state_columns %}
                or {{ column }} is distinct from lag({{ column }})
                    over (partition by person_id order by changed_at)
            {%- endfor %}
        ) as opens_version
    from states
    where {{ person_is_touched('person_id') }}

),

state_versions as (

    select
        *,
        lead(changed_at) over (
            partition by person_id order by changed_at
        ) as next_changed_at,
        row_number() over (
            partition by person_id order by changed_at
        ) as version_number
    from states_flagged
    where opens_version

),

person_records_linked as (

    select
        linked_records.person_id,
        linked_records.match_probability,
        linked_records.cluster_size,
        person_records.gender_code,
        person_records.year_of_birth,
        person_records.record_first_seen_at,
        person_records.record_updated_at
    from linked_records
    inner join person_records
        on
            linked_records.system = person_records.system
            and linked_records.record_id = person_records.record_id
    where {{ person_is_touched('linked_records.person_id') }}

),

{% for column, voted in type_1_columns.items() %}
    -- type 1: the most frequent value, then the latest record's, the least
    {{ column }}_votes as (

        select
            person_id,
            {{ column }},
            count(*) as votes,
            max(record_updated_at) as last_recorded_at
        from person_records_linked
        where {{ voted }}
        group by person_id, {{ column }}

    ),

    {{ column }}_ranked as (

        select
            person_id,
            {{ column }},
            row_number() over (
                partition by person_id
                order by votes desc, last_recorded_at desc, {{ column }} asc
            ) as vote_rank
        from {{ column }}_votes

    ),
{% endfor %}

person_summaries as (

    select
        person_id,
        min(record_first_seen_at) as first_recorded_at,
        case
            when max(cluster_size) > 1 then min(match_probability)
        end as linkage_match_probability
    from person_records_linked
    group by person_id

),

final as (

    select
        -- ids
        state_versions.person_id,

        -- strings
        coalesce(gender_code_ranked.gender_code, 'U') as gender_code,
        state_versions.home_postcode_area,
        state_versions.probation_pdu_code,

        -- numerics
        year_of_birth_ranked.year_of_birth,
        state_versions.court_record_count,
        state_versions.prison_record_count,
        state_versions.probation_record_count,
        state_versions.court_record_count
        + state_versions.prison_record_count
        + state_versions.probation_record_count as linked_record_count,
        person_summaries.linkage_match_probability,
        cast(state_versions.version_number as integer) as version_number,

        -- booleans
        state_versions.court_record_count > 0 as has_court_record,
        state_versions.prison_record_count > 0 as has_prison_record,
        state_versions.probation_record_count > 0 as has_probation_record,
        state_versions.next_changed_at is null as is_current,

        -- timestamps
        person_summaries.first_recorded_at,
        state_versions.changed_at as version_started_at,
        case
            when state_versions.version_number = 1
                then cast('1900-01-01' as {{ dbt.type_timestamp() }})
            else state_versions.changed_at
        end as valid_from,
        state_versions.next_changed_at as valid_to
    from state_versions
    inner join person_summaries
        on state_versions.person_id = person_summaries.person_id
    left join gender_code_ranked
        on
            state_versions.person_id = gender_code_ranked.person_id
            and gender_code_ranked.vote_rank = 1
    left join year_of_birth_ranked
        on
            state_versions.person_id = year_of_birth_ranked.person_id
            and year_of_birth_ranked.vote_rank = 1

)

select * from final
