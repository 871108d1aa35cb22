{#-
    Donors of lasting powers of attorney: one row per Sirius donor record,
    type 1 (details as on the donor's latest application; see
    int_donors_deduplicated), plus the three default members. No name, date
    of birth or postcode: a keyed pseudonym of the donor id, the year of
    birth, an age band and the postcode area with its region.

    Incremental (macros/opg/opg_chain.sql): a daily run rewrites the rows of
    the donors it touched (int_lpa_applications_touched) and the default
    members; a touched donor left without an application is deleted
    (delete_touched_donors).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='donor_key',
        on_schema_change='fail',
        pre_hook="{{ delete_touched_donors('pseudonymised_donor_id') }}",
        meta={'touched_by': 'int_lpa_applications_touched'},
    )
}}

with

{{ opg_touched_ctes() }}

donors as (

    select * from {{ ref('int_donors_deduplicated') }}
    where {{ key_is_touched('donor_id', 'touched_donors') }}

),

postcode_areas as (

    select * from {{ ref('dim_postcode_area') }}
    where not is_default_member

),

pseudonymised as (

    select
        pseudonymised_donor_id as donor_id,
        year_of_birth,
        age_at_first_receipt,
        donor_postcode_area,
        first_received_date
    from donors

),

donors_described as (

    select
        -- the key hashes the pseudonym, never the clear id: an md5 of a
        -- known donor id could be recomputed by anyone
        {{ surrogate_key(['pseudonymised.donor_id']) }} as donor_key,
        pseudonymised.donor_id,
        pseudonymised.year_of_birth,
        case
            when pseudonymised.age_at_first_receipt < 50
                then 'Under 50'
            when pseudonymised.age_at_first_receipt < 60 then '50-59'
            when pseudonymised.age_at_first_receipt < 70 then '60-69'
            when pseudonymised.age_at_first_receipt < 80 then '70-79'
            when pseudonymised.age_at_first_receipt < 90 then '80-89'
            when pseudonymised.age_at_first_receipt >= 90
                then '90 and over'
            else 'Unknown'
        end as age_band_at_first_receipt,
        case
            when pseudonymised.age_at_first_receipt < 50 then 1
            when pseudonymised.age_at_first_receipt < 60 then 2
            when pseudonymised.age_at_first_receipt < 70 then 3
            when pseudonymised.age_at_first_receipt < 80 then 4
            when pseudonymised.age_at_first_receipt < 90 then 5
            when pseudonymised.age_at_first_receipt >= 90 then 6
        end as age_band_order,
        pseudonymised.donor_postcode_area as postcode_area,
        postcode_areas.postcode_area_name,
        {{ dimension_key(
            'postcode_areas.region_key', 'pseudonymised.donor_postcode_area'
        ) }} as region_key,
        postcode_areas.region_code,
        postcode_areas.region_name,
        pseudonymised.first_received_date
    from pseudonymised
    left join postcode_areas
        on pseudonymised.donor_postcode_area = postcode_areas.postcode_area

),

final as (

    {{ default_member_rows('donors_described', {
        'donor_key': 'key',
        'donor_id': 'label',
        'year_of_birth': 'null',
        'age_band_at_first_receipt': 'label',
        'age_band_order': 'null',
        'postcode_area': 'label',
        'postcode_area_name': 'label',
        'region_key': 'key',
        'region_code': 'label',
        'region_name': 'label',
        'first_received_date': 'null',
    }) }}

)

select * from final
