{#-
    The periodic and the accumulating snapshots agree: in the latest month
    of fct_probation_caseload_monthly (counted at the as-of date), the
    caseload of each unit and order type equals the number of orders in
    fct_probation_supervision that are not terminated, by their current unit
    and order type. Returns the combinations that differ.
-#}

with

caseload_months as (

    select * from {{ ref('fct_probation_caseload_monthly') }}

),

supervision as (

    select * from {{ ref('fct_probation_supervision') }}

),

latest_month as (

    select max(month_start_date) as month_start_date
    from caseload_months

),

latest_caseloads as (

    select
        caseload_months.probation_unit_key,
        caseload_months.order_type_key,
        caseload_months.active_orders
    from caseload_months
    inner join latest_month
        on caseload_months.month_start_date = latest_month.month_start_date
    where caseload_months.active_orders > 0

),

active_orders as (

    select
        probation_unit_key,
        order_type_key,
        count(*) as active_orders
    from supervision
    where not is_terminated
    group by probation_unit_key, order_type_key

),

differences as (

    select
        coalesce(
            latest_caseloads.probation_unit_key,
            active_orders.probation_unit_key
        ) as probation_unit_key,
        coalesce(
            latest_caseloads.order_type_key, active_orders.order_type_key
        ) as order_type_key,
        coalesce(latest_caseloads.active_orders, 0) as caseload_orders,
        coalesce(active_orders.active_orders, 0) as supervision_orders
    from latest_caseloads
    full outer join active_orders
        on
            latest_caseloads.probation_unit_key
            = active_orders.probation_unit_key
            and latest_caseloads.order_type_key = active_orders.order_type_key

),

mismatches as (

    select * from differences
    where caseload_orders != supervision_orders

)

select * from mismatches
