with

regions as (

    select * from {{ ref('ref_regions') }}

),

regions_keyed as (

    select
        {{ surrogate_key(['region_code']) }} as region_key,
        region_code,
        region_name,
        country_name,
        population
    from regions

),

final as (

    {{ default_member_rows('regions_keyed', {
        'region_key': 'key',
        'region_code': 'label',
        'region_name': 'label',
        'country_name': 'label',
        'population': 'null',
    }) }}

)

select * from final
