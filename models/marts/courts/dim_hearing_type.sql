{#-
    Junk dimension: every combination of hearing type and hearing status (4 x 3
    rows), so a hearing fact carries one key instead of two low-cardinality
    codes. The code lists are the domains of the curated hearings table
    (docs/curated-schema.md); a code outside them resolves to the
    'not yet arrived' member in the fact and shows up in its tests.
-#}

with

hearing_types as (

    select
        'FIRST' as hearing_type_code,
        'First hearing' as hearing_type_name,
        1 as hearing_type_order
    union all
    select
        'MENTION' as hearing_type_code,
        'Mention' as hearing_type_name,
        2 as hearing_type_order
    union all
    select
        'TRIAL' as hearing_type_code,
        'Trial' as hearing_type_name,
        3 as hearing_type_order
    union all
    select
        'SENTENCE' as hearing_type_code,
        'Sentencing hearing' as hearing_type_name,
        4 as hearing_type_order

),

hearing_statuses as (

    select
        'EFFECTIVE' as hearing_status_code,
        'Effective' as hearing_status_name
    union all
    select
        'ADJOURNED' as hearing_status_code,
        'Adjourned' as hearing_status_name
    union all
    select
        'VACATED' as hearing_status_code,
        'Vacated' as hearing_status_name

),

combinations as (

    select
        {{ surrogate_key([
            'hearing_types.hearing_type_code',
            'hearing_statuses.hearing_status_code',
        ]) }} as hearing_type_key,
        hearing_types.hearing_type_code,
        hearing_types.hearing_type_name,
        hearing_types.hearing_type_order,
        hearing_statuses.hearing_status_code,
        hearing_statuses.hearing_status_name,
        hearing_statuses.hearing_status_code = 'EFFECTIVE' as is_effective,
        hearing_types.hearing_type_code = 'TRIAL' as is_trial
    from hearing_types
    cross join hearing_statuses

),

final as (

    {{ default_member_rows('combinations', {
        'hearing_type_key': 'key',
        'hearing_type_code': 'label',
        'hearing_type_name': 'label',
        'hearing_type_order': 'null',
        'hearing_status_code': 'label',
        'hearing_status_name': 'label',
        'is_effective': 'null',
        'is_trial': 'null',
    }) }}

)

select * from final
