{#-
    Incremental (macros/people/person_chain.sql): a daily run recomputes
    every version of the persons whose records or links changed (and the
    default members); the versions of a person merged into another are
    deleted.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='person_id',
        on_schema_change='fail',
        meta={'person_chain': 'persons'},
        pre_hook="{{ delete_vanished_persons(pseudonymised=true) }}",
    )
}}

with

person_versions as (

    select * from {{ ref('int_person_versions') }}

),

{{ persons_touched_ctes(
    ref('int_person_records_linked'), ref('int_person_records_unioned')
) }}

postcode_areas as (

    select * from {{ ref('ref_postcode_areas') }}

),

regions as (

    select * from {{ ref('ref_regions') }}

),

probation_delivery_units as (

    select * from {{ ref('ref_probation_delivery_units') }}

),

pseudonymised as (

    select
        {{ pseudonymise('person_id') }} as person_id,
        gender_code,
        year_of_birth,
        home_postcode_area,
        probation_pdu_code,
        court_record_count,
        prison_record_count,
        probation_record_count,
        linked_record_count,
        linkage_match_probability,
        has_court_record,
        has_prison_record,
        has_probation_record,
        first_recorded_at,
        valid_from,
        valid_to,
        is_current
    from person_versions
    where {{ person_is_touched('person_id') }}

),

persons_described as (

    select
        -- the key hashes the pseudonym, never the clear id: an md5 of
        -- a known record id could be recomputed by anyone
        {{ surrogate_key([
            'pseudonymised.person_id', 'pseudonymised.valid_from'
        ]) }} as person_key,
        pseudonymised.person_id,
        pseudonymised.gender_code,
        pseudonymised.year_of_birth,
        pseudonymised.home_postcode_area,
        postcode_areas.postcode_area_name as home_postcode_area_name,
        postcode_areas.region_code as home_region_code,
        regions.region_name as home_region_name,
        pseudonymised.probation_pdu_code,
        probation_delivery_units.pdu_name as probation_pdu_name,
        pseudonymised.has_court_record,
        pseudonymised.has_prison_record,
        pseudonymised.has_probation_record,
        pseudonymised.court_record_count,
        pseudonymised.prison_record_count,
        pseudonymised.probation_record_count,
        pseudonymised.linked_record_count,
        pseudonymised.linkage_match_probability,
        pseudonymised.first_recorded_at,
        pseudonymised.valid_from,
        pseudonymised.valid_to,
        pseudonymised.is_current
    from pseudonymised
    left join postcode_areas
        on pseudonymised.home_postcode_area = postcode_areas.postcode_area
    left join regions
        on postcode_areas.region_code = regions.region_code
    left join probation_delivery_units
        on pseudonymised.probation_pdu_code = probation_delivery_units.pdu_code

),

final as (

    {{ default_member_rows('persons_described', {
        'person_key': 'key',
        'person_id': 'label',
        'gender_code': 'label',
        'year_of_birth': 'null',
        'home_postcode_area': 'label',
        'home_postcode_area_name': 'label',
        'home_region_code': 'label',
        'home_region_name': 'label',
        'probation_pdu_code': 'label',
        'probation_pdu_name': 'label',
        'has_court_record': 'null',
        'has_prison_record': 'null',
        'has_probation_record': 'null',
        'court_record_count': 'null',
        'prison_record_count': 'null',
        'probation_record_count': 'null',
        'linked_record_count': 'null',
        'linkage_match_probability': 'null',
        'first_recorded_at': 'null',
        'valid_from': "cast('1900-01-01' as " ~ dbt.type_timestamp() ~ ")",
        'valid_to': 'null',
        'is_current': 'true',
    }) }}

)

select * from final
