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
    (int_supervision_periods_derived). `active_orders` is the caseload at
    the month's snapshot date (the month end; the as-of date for the current
    month): a running sum of monthly changes (probation_caseload_changes()),
    never an explosion of orders into months.

    Incremental, delete+insert by month. The window, the running sum and the
    re-keying are written once, in periodic_snapshot_rows()
    (macros/kimball/periodic_snapshot.sql, shared with
    fct_prison_population_daily): a run recomputes every month from the
    earliest of (a) the month of the stored as-of date, (b) the month of the
    earliest start of an order touched by a newer extract, (c) the first
    month, when a combination is new to the table or the first month moved
    back; an earlier month is re-written only when a row's unit, region or
    order type key resolves differently now. So an incremental run gives
    the same table as a full refresh.
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

-- every month of the snapshot, with its snapshot date
{{ probation_caseload_months() }}

-- every PDU and order type an event version has named: the set only grows,
-- so a row once written is never orphaned
caseload_combinations as (

    select distinct
        pdu_code,
        order_type_code
    from event_history

),

-- per unit, order type and month: the caseload change, starts and
-- terminations
{{ probation_caseload_changes() }}

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
