with

order_types as (

    select * from {{ ref('ref_order_types') }}

),

order_types_described as (

    select
        {{ surrogate_key(['order_type_code']) }} as order_type_key,
        order_type_code,
        order_type_name,
        order_type_description,
        order_category,
        order_category = 'POST_RELEASE' as is_post_release,
        sort_order
    from order_types

),

final as (

    {{ default_member_rows('order_types_described', {
        'order_type_key': 'key',
        'order_type_code': 'label',
        'order_type_name': 'label',
        'order_type_description': 'label',
        'order_category': 'label',
        'is_post_release': 'null',
        'sort_order': 'null',
    }) }}

)

select * from final
