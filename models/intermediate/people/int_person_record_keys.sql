{#-
    Each person record's person (clear and pseudonymised id), for the facts;
    and what the person models were last built from: the record's match
    probability, cluster size and latest extraction date. Built after
    dim_person (the depends_on below), so that until then it still holds the
    previous build's: int_person_states_derived, int_person_versions and
    dim_person compare it with the linked records to find what changed
    (macros/people/person_chain.sql), and so does int_court_cases_touched
    (macros/courts/court_chain.sql). Incremental: a daily run replaces the
    rows of those changed records.
-#}
-- depends_on: {{ ref('dim_person') }}
-- depends_on: {{ ref('int_court_cases_touched') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='record_key',
        on_schema_change='fail',
        meta={'person_chain': 'persons'},
    )
}}

with

linked_records as (

    select * from {{ ref('int_person_records_linked') }}

),

person_records as (

    select * from {{ ref('int_person_records_unioned') }}

),

{% if is_incremental() %}
changed_records as (

    {{ person_records_changed('linked_records', 'person_records') }}

),
{% endif %}

final as (

    select
        -- ids
        linked_records.record_key,
        linked_records.system,
        linked_records.record_id,
        linked_records.person_id,
        {{ pseudonymise('linked_records.person_id') }}
            as pseudonymised_person_id,

        -- numerics
        linked_records.match_probability,
        linked_records.cluster_size,

        -- dates
        person_records.extraction_date
    from linked_records
    inner join person_records
        on linked_records.record_key = person_records.record_key
    {%- if is_incremental() %}
    where linked_records.record_key in (
        select record_key from changed_records
    )
    {%- endif %}

)

select * from final
