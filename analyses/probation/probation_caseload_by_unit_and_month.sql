-- Question: how many orders is each probation delivery unit supervising,
-- month by month, on court orders and after release from prison?
--
-- How to read it: one row per probation delivery unit (PDU) and calendar
-- month. `caseload` is the number of orders under supervision at the end
-- of the month (at the latest extract for the month in progress, see
-- `is_month_complete`), split into `court_order_caseload` (community and
-- suspended sentence orders) and `post_release_caseload` (licence and
-- post-sentence supervision; orders of an unknown type are in neither).
-- `order_starts` and `order_terminations` are the month's flows;
-- `successful_termination_share` is the share of the month's terminations
-- that were successful completions (null without terminations). The
-- caseload counts orders, not people: a person with two orders counts
-- twice. Caseloads are semi-additive: add units together within a month,
-- never add months.

with

caseload_monthly as (

    select * from {{ ref('fct_probation_caseload_monthly') }}

),

probation_units as (

    select * from {{ ref('dim_probation_unit') }}

),

order_types as (

    select * from {{ ref('dim_order_type') }}

),

unit_months as (

    select
        probation_units.pdu_name,
        probation_units.region_name,
        caseload_monthly.month_start_date,
        caseload_monthly.is_month_complete,
        caseload_monthly.active_orders,
        caseload_monthly.order_starts,
        caseload_monthly.order_terminations,
        caseload_monthly.successful_terminations,
        order_types.order_category
    from caseload_monthly
    inner join probation_units
        on
            caseload_monthly.probation_unit_key
            = probation_units.probation_unit_key
    inner join order_types
        on caseload_monthly.order_type_key = order_types.order_type_key

),

final as (

    select
        pdu_name,
        region_name,
        month_start_date,
        is_month_complete,
        sum(active_orders) as caseload,
        sum(
            case when order_category = 'COURT_ORDER' then active_orders end
        ) as court_order_caseload,
        sum(
            case when order_category = 'POST_RELEASE' then active_orders end
        ) as post_release_caseload,
        sum(order_starts) as order_starts,
        sum(order_terminations) as order_terminations,
        case
            when sum(order_terminations) > 0
                then
                    sum(successful_terminations) * 1.0
                    / sum(order_terminations)
        end as successful_termination_share
    from unit_months
    group by pdu_name, region_name, month_start_date, is_month_complete

)

select * from final
