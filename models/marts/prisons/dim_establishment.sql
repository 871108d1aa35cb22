{#-
    Prison establishments, slowly changing (type 2): one row per version of
    an establishment from int_establishment_versions_merged (capacity,
    certified normal accommodation, security category, operational and
    deleted flags over time), described with the type 1 attributes of the
    reference seed (name, type, region, opening date), plus the three default
    members.
-#}

with

establishment_versions as (

    select * from {{ ref('int_establishment_versions_merged') }}

),

establishments as (

    select * from {{ ref('ref_prison_establishments') }}

),

regions as (

    select * from {{ ref('dim_region') }}
    where not is_default_member

),

versions_described as (

    select
        {{ surrogate_key([
            'establishment_versions.establishment_code',
            'establishment_versions.valid_from',
        ]) }} as establishment_key,
        establishment_versions.establishment_code,
        establishments.establishment_name,
        establishments.establishment_type,
        case establishments.establishment_type
            when 'LOCAL' then 'Local prison'
            when 'TRAINING' then 'Training prison'
            when 'HIGH_SECURITY' then 'High security prison'
            when 'OPEN' then 'Open prison'
            when 'FEMALE' then 'Women''s prison'
            when 'YOI' then 'Young offender institution'
        end as establishment_type_description,
        {{ dimension_key('regions.region_key', 'establishments.region_code') }}
            as region_key,
        establishments.region_code,
        regions.region_name,
        establishments.opened_date,
        establishment_versions.operational_capacity,
        establishment_versions.certified_normal_accommodation,
        establishment_versions.security_category_code,
        case establishment_versions.security_category_code
            when 'A' then 'Category A: high security'
            when 'B' then 'Category B'
            when 'C' then 'Category C: training and resettlement'
            when 'D' then 'Category D: open conditions'
            when 'LOCAL' then 'Local: receives from the courts'
            when 'FEMALE' then 'Women''s estate'
            when 'YOI' then 'Young offender institution'
        end as security_category_description,
        establishment_versions.is_operational,
        establishment_versions.is_deleted,
        establishment_versions.version_number,
        establishment_versions.source_valid_from,
        establishment_versions.valid_from,
        establishment_versions.valid_to,
        establishment_versions.is_current
    from establishment_versions
    left join establishments
        on
            establishment_versions.establishment_code
            = establishments.establishment_code
    left join regions
        on establishments.region_code = regions.region_code

),

final as (

    {{ default_member_rows('versions_described', {
        'establishment_key': 'key',
        'establishment_code': 'label',
        'establishment_name': 'label',
        'establishment_type': 'label',
        'establishment_type_description': 'label',
        'region_key': 'key',
        'region_code': 'label',
        'region_name': 'label',
        'opened_date': 'null',
        'operational_capacity': 'null',
        'certified_normal_accommodation': 'null',
        'security_category_code': 'label',
        'security_category_description': 'label',
        'is_operational': 'null',
        'is_deleted': 'null',
        'version_number': 'null',
        'source_valid_from': 'null',
        'valid_from': "cast('1900-01-01' as " ~ dbt.type_timestamp() ~ ")",
        'valid_to': 'null',
        'is_current': 'true',
    }) }}

)

select * from final
