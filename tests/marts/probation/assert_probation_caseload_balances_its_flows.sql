{#-
    Stock and flow reconcile in fct_probation_caseload_monthly: across all
    units and order types (where transfers between units cancel out), the
    caseload at the end of every month after the first equals the previous
    month's caseload plus the month's starts minus its terminations.
    Returns the months that do not balance.
-#}

with

caseload_months as (

    select * from {{ ref('fct_probation_caseload_monthly') }}

),

national_months as (

    select
        month_start_date,
        sum(active_orders) as active_orders,
        sum(order_starts) as order_starts,
        sum(order_terminations) as order_terminations
    from caseload_months
    group by month_start_date

),

months_with_previous as (

    select
        *,
        lag(active_orders) over (
            order by month_start_date
        ) as previous_active_orders
    from national_months

),

unbalanced_months as (

    select * from months_with_previous
    where
        previous_active_orders is not null
        and active_orders
        != previous_active_orders + order_starts - order_terminations

)

select * from unbalanced_months
