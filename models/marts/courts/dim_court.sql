with

courts as (

    select * from {{ ref('ref_courts') }}

),

regions as (

    select * from {{ ref('dim_region') }}
    where not is_default_member

),

courts_described as (

    select
        {{ surrogate_key(['courts.court_code']) }} as court_key,
        courts.court_code,
        courts.court_name,
        courts.court_type,
        case courts.court_type
            when 'MAGISTRATES' then 'Magistrates'' court'
            when 'CROWN' then 'Crown Court'
        end as court_type_description,
        {{ dimension_key('regions.region_key', 'courts.region_code') }}
            as region_key,
        courts.region_code,
        regions.region_name
    from courts
    left join regions
        on courts.region_code = regions.region_code

),

final as (

    {{ default_member_rows('courts_described', {
        'court_key': 'key',
        'court_code': 'label',
        'court_name': 'label',
        'court_type': 'label',
        'court_type_description': 'label',
        'region_key': 'key',
        'region_code': 'label',
        'region_name': 'label',
    }) }}

)

select * from final
