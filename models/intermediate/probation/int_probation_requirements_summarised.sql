{#-
    One row per Delius event with requirements: how many it has, the total
    length of the measured ones (unpaid work hours, RAR days, curfew months,
    each counted only in its own unit) and how many of each type, for
    int_probation_orders_enriched. Requirements without an event id belong
    to no order and are left out (staging's not_null test reports them).
-#}

with

requirements as (

    select * from {{ ref('stg_delius__requirements') }}
    where event_id is not null

),

requirements_summarised as (

    select
        event_id,
        count(*) as requirement_count,
        sum(
            case
                when
                    requirement_type_code = 'UPW' and length_unit = 'HOURS'
                    then length_value
                else 0
            end
        ) as upw_hours,
        sum(
            case
                when requirement_type_code = 'RAR' and length_unit = 'DAYS'
                    then length_value
                else 0
            end
        ) as rar_days,
        sum(
            case
                when
                    requirement_type_code = 'CURFEW'
                    and length_unit = 'MONTHS'
                    then length_value
                else 0
            end
        ) as curfew_months,
        sum(case when requirement_type_code = 'UPW' then 1 else 0 end)
            as upw_count,
        sum(case when requirement_type_code = 'RAR' then 1 else 0 end)
            as rar_count,
        sum(case when requirement_type_code = 'CURFEW' then 1 else 0 end)
            as curfew_count,
        sum(case when requirement_type_code = 'DRUG_REHAB' then 1 else 0 end)
            as drug_rehab_count,
        sum(
            case
                when requirement_type_code = 'ALCOHOL_TREATMENT' then 1 else 0
            end
        ) as alcohol_treatment_count,
        sum(
            case when requirement_type_code = 'MENTAL_HEALTH' then 1 else 0 end
        ) as mental_health_count
    from requirements
    group by event_id

),

final as (

    select * from requirements_summarised

)

select * from final
