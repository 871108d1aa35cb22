-- Question: what share of the people received into prison arrive on
-- remand (awaiting trial or sentence) rather than on sentence or recall?
--
-- How to read it: one row per calendar quarter and region (of the
-- receiving establishment). `receptions` counts every admission movement
-- (a person can be received more than once: remanded, then received on
-- sentence in the same booking); `remand_receptions`, `sentenced_receptions`
-- and `recall_receptions` split them by reason, and `remand_share` is
-- remand receptions over all receptions, a share between 0 and 1. The last
-- quarter is partial (up to the latest extract).

with

prison_movements as (

    select * from {{ ref('fct_prison_movements') }}

),

movement_reasons as (

    select * from {{ ref('dim_movement_reason') }}

),

regions as (

    select * from {{ ref('dim_region') }}

),

dates as (

    select * from {{ ref('dim_date') }}

),

receptions as (

    select
        dates.calendar_year,
        dates.calendar_quarter,
        regions.region_name,
        movement_reasons.movement_reason_code
    from prison_movements
    inner join movement_reasons
        on
            prison_movements.movement_reason_key
            = movement_reasons.movement_reason_key
    inner join regions
        on prison_movements.region_key = regions.region_key
    inner join dates
        on prison_movements.date_key = dates.date_key
    where
        prison_movements.movement_type_code = 'ADM'
        and not dates.is_default_member

),

final as (

    select
        calendar_year,
        calendar_quarter,
        region_name,
        count(*) as receptions,
        sum(case when movement_reason_code = 'REMAND' then 1 else 0 end)
            as remand_receptions,
        sum(case when movement_reason_code = 'SENTENCED' then 1 else 0 end)
            as sentenced_receptions,
        sum(case when movement_reason_code = 'RECALL' then 1 else 0 end)
            as recall_receptions,
        avg(
            case when movement_reason_code = 'REMAND' then 1.0 else 0.0 end
        ) as remand_share
    from receptions
    group by calendar_year, calendar_quarter, region_name

)

select * from final
