{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month_start_date',
        on_schema_change='fail',
    )
}}

{#-
    Periodic snapshot, one row per probation delivery unit (PDU), order type
    and month, for every PDU and order type combination an event version has
    named and every month from the first month of the Delius history (the
    month of the earliest termination: orders that ended before it are not
    in the data) to the month of the as-of date (the latest Delius
    extraction date; see int_delius_extracts_summarised). An order counts in
    the unit and order type managing it on the day
    (int_supervision_periods_derived).

    `active_orders` is the caseload at the end of the month's snapshot date
    (the month end; the as-of date for the current month): a running sum
    of monthly changes (+1 in the month a supervision period becomes active,
    -1 in the month it stops), never an explosion of orders into months.

    Incremental, delete+insert by period: unique_key is the month, so a run
    replaces whole months. The table's latest snapshot date is the as-of
    date of the run that wrote it; a run recomputes every month from the
    earliest of:
      (a) the month of that as-of date (its snapshot date and month-to-date
          counts move);
      (b) the month of the earliest start of an order touched by a newer
          extract (a new version or termination can change the order's
          periods anywhere from its start), clipped to the first month;
      (c) the first month, when a combination is new to the table or the
          first month moved back;
    continuing each combination's running sum from its stored caseload of
    the month before. An earlier month is re-written (stored counts, fresh
    keys) only when a row's unit, region or order type key resolves
    differently now. So an incremental run gives the same table as a full
    refresh. The window, the running sum and the re-keying are written once,
    in macros/kimball/periodic_snapshot.sql (shared with
    fct_prison_population_daily); this model gives its inputs and its keys.
-#}

{%- set int_type = dbt.type_int() -%}

{#- A withdrawn future-dated extract would leave the stored last snapshot_date
    ahead of the as-of date, and the recompute window would start after it:
    stop instead. -#}
{{ check_high_water_mark(
    ref('int_delius_extracts_summarised'),
    'as_of_date',
    'snapshot_date',
) }}

with

periods as (

    select * from {{ ref('int_supervision_periods_derived') }}

),

event_history as (

    select * from {{ ref('stg_delius__event_history') }}

),

extract_window as (

    select * from {{ ref('int_delius_extracts_summarised') }}

),

probation_units as (

    select * from {{ ref('dim_probation_unit') }}
    where not is_default_member

),

order_types as (

    select * from {{ ref('dim_order_type') }}
    where not is_default_member

),

dates as (

    select * from {{ ref('dim_date') }}
    where not is_default_member

),

snapshot_window as (

    select
        cast({{ dbt.date_trunc('month', 'first_termination_date') }} as date)
            as first_snapshot_date,
        as_of_date
    from extract_window

),

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

-- every PDU and order type an event version has named: the set only grows,
-- so a row once written is never orphaned
caseload_combinations as (

    select distinct
        pdu_code,
        order_type_code
    from event_history

),

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

{{ periodic_snapshot_rows(
    grain=['pdu_code', 'order_type_code'],
    period='month',
    period_column='month_start_date',
    snapshot_date_column='snapshot_date',
    level_column='active_orders',
    flow_columns=[
        'order_starts', 'order_terminations', 'successful_terminations'
    ],
    period_attributes=['snapshot_date', 'is_month_complete'],
    resolved_columns=['probation_unit_key', 'order_type_key', 'region_key'],
    touched='periods',
    touched_from_column='event_first_known_date',
    touched_at_column='event_last_extraction_date',
    members='caseload_combinations',
    periods='snapshot_months',
    changes='monthly_changes',
) }}

-- the unit (and its region) and the order type of each row
months_keyed as (

    select
        rows_to_resolve.*,
        {{ dimension_key(
            'probation_units.probation_unit_key', 'rows_to_resolve.pdu_code'
        ) }} as probation_unit_key,
        {{ dimension_key(
            'order_types.order_type_key', 'rows_to_resolve.order_type_code'
        ) }} as order_type_key,
        {{ dimension_key(
            'probation_units.region_key', 'rows_to_resolve.pdu_code'
        ) }} as region_key
    from rows_to_resolve
    left join probation_units
        on rows_to_resolve.pdu_code = probation_units.pdu_code
    left join order_types
        on rows_to_resolve.order_type_code = order_types.order_type_code

),

{{ periodic_snapshot_rows_to_load(
    'months_keyed',
    'month_start_date',
    ['probation_unit_key', 'order_type_key', 'region_key'],
) }}

final as (

    select
        cast(date_key as {{ dbt.type_string() }}) as date_key,
        cast(probation_unit_key as {{ dbt.type_string() }})
            as probation_unit_key,
        cast(order_type_key as {{ dbt.type_string() }}) as order_type_key,
        cast(region_key as {{ dbt.type_string() }}) as region_key,
        cast(pdu_code as {{ dbt.type_string() }}) as pdu_code,
        cast(order_type_code as {{ dbt.type_string() }}) as order_type_code,
        month_start_date,
        snapshot_date,
        cast(active_orders as {{ int_type }}) as active_orders,
        cast(order_starts as {{ int_type }}) as order_starts,
        cast(order_terminations as {{ int_type }}) as order_terminations,
        cast(successful_terminations as {{ int_type }})
            as successful_terminations,
        is_month_complete
    from rows_to_load

)

select * from final
