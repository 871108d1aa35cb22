with

probation_delivery_units as (

    select * from {{ ref('ref_probation_delivery_units') }}

),

regions as (

    select * from {{ ref('dim_region') }}
    where not is_default_member

),

probation_units_described as (

    select
        {{ surrogate_key(['probation_delivery_units.pdu_code']) }}
            as probation_unit_key,
        probation_delivery_units.pdu_code,
        probation_delivery_units.pdu_name,
        {{ dimension_key(
            'regions.region_key', 'probation_delivery_units.region_code'
        ) }} as region_key,
        probation_delivery_units.region_code,
        regions.region_name
    from probation_delivery_units
    left join regions
        on probation_delivery_units.region_code = regions.region_code

),

final as (

    {{ default_member_rows('probation_units_described', {
        'probation_unit_key': 'key',
        'pdu_code': 'label',
        'pdu_name': 'label',
        'region_key': 'key',
        'region_code': 'label',
        'region_name': 'label',
    }) }}

)

select * from final
