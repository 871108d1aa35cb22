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
    refresh.
-#}

{%- set int_type = dbt.type_int() -%}

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

{% if is_incremental() %}

stored_months as (

    select * from {{ this }}

),

{% endif %}

snapshot_window as (

    select
        cast({{ dbt.date_trunc('month', 'first_termination_date') }} as date)
            as first_month_start_date,
        as_of_date
    from extract_window

),

snapshot_months as (

    select
        dates.date_key,
        dates.date_day as month_start_date,
        dates.month_end_date,
        case
            when dates.month_end_date > snapshot_window.as_of_date
                then snapshot_window.as_of_date
            else dates.month_end_date
        end as snapshot_date
    from dates
    cross join snapshot_window
    where
        dates.date_day = dates.month_start_date
        and dates.date_day >= snapshot_window.first_month_start_date
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
        snapshot_window.first_month_start_date,
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
        change_month_start_date,
        sum(active_change) as active_change,
        sum(order_starts) as order_starts,
        sum(order_terminations) as order_terminations,
        sum(successful_terminations) as successful_terminations
    from caseload_changes
    group by pdu_code, order_type_code, change_month_start_date

),

{% if is_incremental() %}

stored_window as (

    select
        min(month_start_date) as first_stored_month_start_date,
        max(snapshot_date) as last_as_of_date,
        cast(
            {{ dbt.date_trunc('month', 'max(snapshot_date)') }} as date
        ) as last_month_start_date
    from stored_months

),

stored_combinations as (

    select distinct
        pdu_code,
        order_type_code,
        true as is_stored
    from stored_months

),

unstored_combinations as (

    select count(*) as unstored_combination_count
    from caseload_combinations
    left join stored_combinations
        on
            caseload_combinations.pdu_code
            is not distinct from stored_combinations.pdu_code
            and caseload_combinations.order_type_code
            is not distinct from stored_combinations.order_type_code
    where stored_combinations.is_stored is null

),

touched_window as (

    select
        cast(
            {{ dbt.date_trunc(
                'month',
                'min(coalesce(periods.event_first_known_date, '
                ~ 'snapshot_window.first_month_start_date))',
            ) }} as date
        ) as touched_from_month_start_date
    from periods
    cross join stored_window
    cross join snapshot_window
    where periods.event_last_extraction_date > stored_window.last_as_of_date

),

{% endif %}

-- the first month to (re)compute: the first month on a full refresh
recompute_window as (

    select
        {%- if is_incremental() %}
            case
                when unstored_combinations.unstored_combination_count > 0
                    then snapshot_window.first_month_start_date
                when
                    snapshot_window.first_month_start_date
                    < stored_window.first_stored_month_start_date
                    then snapshot_window.first_month_start_date
                when
                    touched_window.touched_from_month_start_date
                    < snapshot_window.first_month_start_date
                    then snapshot_window.first_month_start_date
                when
                    touched_window.touched_from_month_start_date
                    < stored_window.last_month_start_date
                    then touched_window.touched_from_month_start_date
                else stored_window.last_month_start_date
            end as recompute_from_date
        {%- else %}
            snapshot_window.first_month_start_date as recompute_from_date
        {%- endif %}
    from snapshot_window
    {%- if is_incremental() %}
    cross join stored_window
    cross join touched_window
    cross join unstored_combinations
    {%- endif %}

),

-- each combination's caseload at the end of the month before the window:
-- none on a full refresh, the stored one on an incremental run
opening_caseloads as (

    select
        caseload_combinations.pdu_code,
        caseload_combinations.order_type_code,
        recompute_window.recompute_from_date,
        {%- if is_incremental() %}
            coalesce(stored_months.active_orders, 0) as opening_active_orders
        {%- else %}
            0 as opening_active_orders
        {%- endif %}
    from caseload_combinations
    cross join recompute_window
    {%- if is_incremental() %}
    left join stored_months
        on
            caseload_combinations.pdu_code
            is not distinct from stored_months.pdu_code
            and caseload_combinations.order_type_code
            is not distinct from stored_months.order_type_code
            and stored_months.month_start_date = cast(
                {{ dbt.dateadd(
                    'month', -1, 'recompute_window.recompute_from_date'
                ) }} as date
            )
    {%- endif %}

),

caseload_months as (

    select
        opening_caseloads.pdu_code,
        opening_caseloads.order_type_code,
        opening_caseloads.opening_active_orders,
        snapshot_months.date_key,
        snapshot_months.month_start_date,
        snapshot_months.month_end_date,
        snapshot_months.snapshot_date
    from opening_caseloads
    inner join snapshot_months
        on
            opening_caseloads.recompute_from_date
            <= snapshot_months.month_start_date

),

months_counted as (

    select
        caseload_months.pdu_code,
        caseload_months.order_type_code,
        caseload_months.date_key,
        caseload_months.month_start_date,
        caseload_months.snapshot_date,
        caseload_months.opening_active_orders + sum(
            coalesce(monthly_changes.active_change, 0)
        ) over (
            partition by
                caseload_months.pdu_code, caseload_months.order_type_code
            order by caseload_months.month_start_date
            rows between unbounded preceding and current row
        ) as active_orders,
        coalesce(monthly_changes.order_starts, 0) as order_starts,
        coalesce(monthly_changes.order_terminations, 0)
            as order_terminations,
        coalesce(monthly_changes.successful_terminations, 0)
            as successful_terminations,
        caseload_months.snapshot_date = caseload_months.month_end_date
            as is_month_complete
    from caseload_months
    left join monthly_changes
        on
            caseload_months.pdu_code
            is not distinct from monthly_changes.pdu_code
            and caseload_months.order_type_code
            is not distinct from monthly_changes.order_type_code
            and caseload_months.month_start_date
            = monthly_changes.change_month_start_date

),

{% if is_incremental() %}

-- stored months before the window keep their counts; a month is re-written
-- (with fresh keys) only when a key of one of its rows resolves differently
stored_months_resolved as (

    select
        stored_months.*,
        {{ dimension_key(
            'probation_units.probation_unit_key', 'stored_months.pdu_code'
        ) }} as resolved_probation_unit_key,
        {{ dimension_key(
            'probation_units.region_key', 'stored_months.pdu_code'
        ) }} as resolved_region_key,
        {{ dimension_key(
            'order_types.order_type_key', 'stored_months.order_type_code'
        ) }} as resolved_order_type_key
    from stored_months
    cross join recompute_window
    left join probation_units
        on stored_months.pdu_code = probation_units.pdu_code
    left join order_types
        on stored_months.order_type_code = order_types.order_type_code
    where stored_months.month_start_date < recompute_window.recompute_from_date

),

rekeyed_months as (

    select distinct month_start_date
    from stored_months_resolved
    where
        resolved_probation_unit_key != probation_unit_key
        or resolved_region_key != region_key
        or resolved_order_type_key != order_type_key

),

{% endif %}

months_to_load as (

    select * from months_counted
    {%- if is_incremental() %}

    union all

    select
        stored_months_resolved.pdu_code,
        stored_months_resolved.order_type_code,
        stored_months_resolved.date_key,
        stored_months_resolved.month_start_date,
        stored_months_resolved.snapshot_date,
        stored_months_resolved.active_orders,
        stored_months_resolved.order_starts,
        stored_months_resolved.order_terminations,
        stored_months_resolved.successful_terminations,
        stored_months_resolved.is_month_complete
    from stored_months_resolved
    inner join rekeyed_months
        on
            stored_months_resolved.month_start_date
            = rekeyed_months.month_start_date
    {%- endif %}

),

months_keyed as (

    select
        months_to_load.date_key,
        {{ dimension_key(
            'probation_units.probation_unit_key', 'months_to_load.pdu_code'
        ) }} as probation_unit_key,
        {{ dimension_key(
            'order_types.order_type_key', 'months_to_load.order_type_code'
        ) }} as order_type_key,
        {{ dimension_key(
            'probation_units.region_key', 'months_to_load.pdu_code'
        ) }} as region_key,
        months_to_load.pdu_code,
        months_to_load.order_type_code,
        months_to_load.month_start_date,
        months_to_load.snapshot_date,
        months_to_load.active_orders,
        months_to_load.order_starts,
        months_to_load.order_terminations,
        months_to_load.successful_terminations,
        months_to_load.is_month_complete
    from months_to_load
    left join probation_units
        on months_to_load.pdu_code = probation_units.pdu_code
    left join order_types
        on months_to_load.order_type_code = order_types.order_type_code

),

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
    from months_keyed

)

select * from final
