{#-
    Junk dimension of the two low-cardinality attributes of a lasting power of
    attorney application: its type (2 values) and the channel it came through
    (2 values), one row per combination. The code lists are the domains of the
    curated lpa_applications table (docs/curated-schema.md); a code outside
    them resolves to the 'not yet arrived' member in the fact.
-#}

with

lpa_types as (

    select
        'PFA' as lpa_type_code,
        'Property and financial affairs' as lpa_type_name
    union all
    select
        'HW' as lpa_type_code,
        'Health and welfare' as lpa_type_name

),

channels as (

    select
        'DIGITAL' as channel_code,
        'Digital (online)' as channel_name
    union all
    select
        'PAPER' as channel_code,
        'Paper' as channel_name

),

combinations as (

    select
        {{ surrogate_key([
            'lpa_types.lpa_type_code',
            'channels.channel_code',
        ]) }} as lpa_attributes_key,
        lpa_types.lpa_type_code,
        lpa_types.lpa_type_name,
        channels.channel_code,
        channels.channel_name,
        channels.channel_code = 'DIGITAL' as is_digital
    from lpa_types
    cross join channels

),

final as (

    {{ default_member_rows('combinations', {
        'lpa_attributes_key': 'key',
        'lpa_type_code': 'label',
        'lpa_type_name': 'label',
        'channel_code': 'label',
        'channel_name': 'label',
        'is_digital': 'null',
    }) }}

)

select * from final
