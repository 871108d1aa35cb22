{#-
    Type dimension of court disposals (the sentence given on a guilty verdict),
    and its groupings for analysis. Outcomes that are not guilty have no disposal:
    facts point them at the 'not applicable' member.
-#}

with

disposals as (

    select * from {{ ref('ref_disposals') }}

),

disposals_grouped as (

    select
        {{ surrogate_key(['disposal_code']) }} as disposal_key,
        disposal_code,
        disposal_description,
        case
            when disposal_code = 'IMPRISONMENT' then 'Custody'
            when disposal_code in ('SUSPENDED', 'COMMUNITY') then 'Community'
            when disposal_code in ('FINE', 'DISCHARGE')
                then 'Fine or discharge'
        end as disposal_group,
        case disposal_code
            when 'IMPRISONMENT' then 1
            when 'SUSPENDED' then 2
            when 'COMMUNITY' then 3
            when 'FINE' then 4
            when 'DISCHARGE' then 5
        end as severity_rank,
        is_custodial,
        disposal_code in ('SUSPENDED', 'COMMUNITY')
            as is_supervised_in_community,
        disposal_code in ('IMPRISONMENT', 'SUSPENDED', 'COMMUNITY')
            as has_sentence_length,
        disposal_code = 'FINE' as is_financial_penalty
    from disposals

),

final as (

    {{ default_member_rows('disposals_grouped', {
        'disposal_key': 'key',
        'disposal_code': 'label',
        'disposal_description': 'label',
        'disposal_group': 'label',
        'severity_rank': 'null',
        'is_custodial': 'null',
        'is_supervised_in_community': 'null',
        'has_sentence_length': 'null',
        'is_financial_penalty': 'null',
    }) }}

)

select * from final
