{#
    The periods of fct_probation_caseload_monthly's periodic snapshot: one row per month
    from the first snapshot month to the month of the as-of date, with its date_key,
    month_start_date, snapshot_date (the month end; the as-of date for the current
    month) and is_month_complete (the month ended on or before the as-of date).

    Emits the CTE snapshot_months, ending with a comma. Inputs, CTE names in the calling
    model: dates (dim_date without its default members) and snapshot_window (one row:
    first_snapshot_date, as_of_date).
#}
{% macro probation_caseload_months() -%}
snapshot_months as (

    select
        dates.date_key,
        dates.date_day as month_start_date,
        case
            when dates.month_end_date > snapshot_window.as_of_date
                then snapshot_window.as_of_date
            else dates.month_end_date
        end as snapshot_date,
        dates.month_end_date <= snapshot_window.as_of_date
            as is_month_complete
    from dates
    cross join snapshot_window
    where
        dates.date_day = dates.month_start_date
        and dates.date_day >= snapshot_window.first_snapshot_date
        and dates.date_day <= snapshot_window.as_of_date

),
{%- endmacro %}

{#
    The monthly changes of the probation caseload, for fct_probation_caseload_monthly
    (its `changes` in periodic_snapshot_rows()): per PDU, order type and month, the
    change of the active caseload (+1 in the month a supervision period becomes
    active, -1 in the month it stops; a period active before the first month counts
    from that month, in its opening caseload), and the month's order starts,
    terminations and successful terminations. Periods of soft-deleted events, and
    changes after the as-of date, are left out.

    Emits the CTEs counted_periods, caseload_changes and monthly_changes (one row per
    pdu_code, order_type_code and month_start_date), each ending with a comma.
    Inputs, CTE names in the calling model: periods (int_supervision_periods_derived)
    and snapshot_window (one row: first_snapshot_date, as_of_date).
#}
{% macro probation_caseload_changes() -%}
counted_periods as (

    select
        periods.pdu_code,
        periods.order_type_code,
        periods.has_active_days,
        periods.is_start_period,
        periods.is_termination_period,
        periods.is_successful_completion,
        periods.order_start_date,
        periods.termination_date,
        periods.active_from_date,
        periods.active_to_date,
        cast({{ dbt.date_trunc('month', 'periods.order_start_date') }} as date)
            as start_month_start_date,
        cast({{ dbt.date_trunc('month', 'periods.termination_date') }} as date)
            as termination_month_start_date,
        cast({{ dbt.date_trunc('month', 'periods.active_from_date') }} as date)
            as active_from_month_start_date,
        cast({{ dbt.date_trunc('month', 'periods.active_to_date') }} as date)
            as active_to_month_start_date,
        snapshot_window.first_snapshot_date as first_month_start_date,
        snapshot_window.as_of_date
    from periods
    cross join snapshot_window
    where not periods.is_event_deleted

),

caseload_changes as (

    -- +1 in the month a period becomes active (periods active before the
    -- first month are in its opening caseload)
    select
        pdu_code,
        order_type_code,
        case
            when active_from_month_start_date < first_month_start_date
                then first_month_start_date
            else active_from_month_start_date
        end as change_month_start_date,
        1 as active_change,
        0 as order_starts,
        0 as order_terminations,
        0 as successful_terminations
    from counted_periods
    where has_active_days and active_from_date <= as_of_date

    union all

    -- -1 in the month it stops being active
    select
        pdu_code,
        order_type_code,
        case
            when active_to_month_start_date < first_month_start_date
                then first_month_start_date
            else active_to_month_start_date
        end as change_month_start_date,
        -1 as active_change,
        0 as order_starts,
        0 as order_terminations,
        0 as successful_terminations
    from counted_periods
    where
        has_active_days
        and active_from_date <= as_of_date
        and active_to_date <= as_of_date

    union all

    select
        pdu_code,
        order_type_code,
        start_month_start_date as change_month_start_date,
        0 as active_change,
        1 as order_starts,
        0 as order_terminations,
        0 as successful_terminations
    from counted_periods
    where
        is_start_period
        and order_start_date >= first_month_start_date
        and order_start_date <= as_of_date

    union all

    select
        pdu_code,
        order_type_code,
        termination_month_start_date as change_month_start_date,
        0 as active_change,
        0 as order_starts,
        1 as order_terminations,
        case when is_successful_completion then 1 else 0 end
            as successful_terminations
    from counted_periods
    where
        is_termination_period
        and termination_date >= first_month_start_date
        and termination_date <= as_of_date

),

monthly_changes as (

    select
        pdu_code,
        order_type_code,
        change_month_start_date as month_start_date,
        sum(active_change) as active_orders_change,
        sum(order_starts) as order_starts,
        sum(order_terminations) as order_terminations,
        sum(successful_terminations) as successful_terminations
    from caseload_changes
    group by pdu_code, order_type_code, change_month_start_date

),
{%- endmacro %}
