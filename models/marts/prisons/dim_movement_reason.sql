with

movement_reasons as (

    select * from {{ ref('ref_movement_reasons') }}

),

movement_reasons_described as (

    select
        {{ surrogate_key(['movement_reason_code']) }} as movement_reason_key,
        movement_reason_code,
        movement_reason_description,
        movement_type_code,
        case movement_type_code
            when 'ADM' then 'Admission'
            when 'TRN' then 'Transfer'
            when 'REL' then 'Release'
        end as movement_type_name,
        movement_type_code = 'ADM' as is_admission,
        movement_type_code = 'TRN' as is_transfer,
        movement_type_code = 'REL' as is_release
    from movement_reasons

),

final as (

    {{ default_member_rows('movement_reasons_described', {
        'movement_reason_key': 'key',
        'movement_reason_code': 'label',
        'movement_reason_description': 'label',
        'movement_type_code': 'label',
        'movement_type_name': 'label',
        'is_admission': 'null',
        'is_transfer': 'null',
        'is_release': 'null',
    }) }}

)

select * from final
