{#-
    Seriousness bands from the statutory maximum custodial sentence, in days:
    0 non-imprisonable, up to 1 year low, up to 5 years medium, up to 14 years
    high, above that (in practice life, stored as 36525 days) very high.
-#}
{%- set low_max_days = 365 -%}
{%- set medium_max_days = 1826 -%}
{%- set high_max_days = 5113 -%}
{%- set life_maximum_days = 36525 -%}

with

offences as (

    select * from {{ ref('ref_offences') }}

),

offences_classified as (

    select
        {{ surrogate_key(['offence_code']) }} as offence_key,
        offence_code,
        offence_description,
        offence_category,
        offence_class,
        case offence_class
            when 'INDICTABLE_ONLY' then 'Indictable only'
            when 'EITHER_WAY' then 'Either way'
            when 'SUMMARY' then 'Summary'
        end as offence_class_description,
        max_custody_days,
        max_custody_days > 0 as is_imprisonable,
        max_custody_days >= {{ life_maximum_days }} as is_life_maximum,
        case
            when max_custody_days = 0 then 1
            when max_custody_days <= {{ low_max_days }} then 2
            when max_custody_days <= {{ medium_max_days }} then 3
            when max_custody_days <= {{ high_max_days }} then 4
            when max_custody_days > {{ high_max_days }} then 5
        end as seriousness_rank
    from offences

),

offences_banded as (

    select
        offence_key,
        offence_code,
        offence_description,
        offence_category,
        offence_class,
        offence_class_description,
        max_custody_days,
        is_imprisonable,
        is_life_maximum,
        case seriousness_rank
            when 1 then 'Non-imprisonable'
            when 2 then 'Low'
            when 3 then 'Medium'
            when 4 then 'High'
            when 5 then 'Very high'
        end as seriousness_band,
        seriousness_rank
    from offences_classified

),

final as (

    {{ default_member_rows('offences_banded', {
        'offence_key': 'key',
        'offence_code': 'label',
        'offence_description': 'label',
        'offence_category': 'label',
        'offence_class': 'label',
        'offence_class_description': 'label',
        'max_custody_days': 'null',
        'is_imprisonable': 'null',
        'is_life_maximum': 'null',
        'seriousness_band': 'label',
        'seriousness_rank': 'null',
    }) }}

)

select * from final
