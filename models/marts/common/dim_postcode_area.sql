with

postcode_areas as (

    select * from {{ ref('ref_postcode_areas') }}

),

regions as (

    select * from {{ ref('dim_region') }}
    where not is_default_member

),

postcode_areas_keyed as (

    select
        {{ surrogate_key(['postcode_areas.postcode_area']) }}
            as postcode_area_key,
        postcode_areas.postcode_area,
        postcode_areas.postcode_area_name,
        {{ dimension_key('regions.region_key', 'postcode_areas.region_code') }}
            as region_key,
        postcode_areas.region_code,
        regions.region_name,
        regions.country_name
    from postcode_areas
    left join regions
        on postcode_areas.region_code = regions.region_code

),

final as (

    {{ default_member_rows('postcode_areas_keyed', {
        'postcode_area_key': 'key',
        'postcode_area': 'label',
        'postcode_area_name': 'label',
        'region_key': 'key',
        'region_code': 'label',
        'region_name': 'label',
        'country_name': 'label',
    }) }}

)

select * from final
