{#-
    One row per Delius event and supervision period: a contiguous run of the
    event's versions managed by one probation delivery unit (PDU) under one
    order type. A version counts from the date it was recorded; when several
    versions are recorded on one day, the last of the day holds at the end of
    that day. The first period reaches back without limit and the last one
    forward, so every date of the order falls in exactly one period.

    Each period carries the part of the order's supervision that falls in it,
    [active_from_date, active_to_date): from the order start to its
    termination date (exclusive: a termination ends supervision that day),
    clipped to the period. Flags say which period the order started and
    ended in, so starts and terminations are counted once, in the unit
    managing the order on that day.
-#}

with

event_history as (

    select * from {{ ref('stg_delius__event_history') }}

),

orders as (

    select * from {{ ref('int_probation_orders_enriched') }}

),

versions_dated as (

    select
        event_id,
        pdu_code,
        order_type_code,
        valid_from,
        cast(valid_from as date) as recorded_date,
        row_number() over (
            partition by event_id, cast(valid_from as date)
            order by valid_from desc
        ) as rank_in_day
    from event_history

),

-- the version holding at the end of each day a version was recorded
day_versions as (

    select
        event_id,
        pdu_code,
        order_type_code,
        recorded_date,
        lag(pdu_code) over (
            partition by event_id order by recorded_date
        ) as previous_pdu_code,
        lag(order_type_code) over (
            partition by event_id order by recorded_date
        ) as previous_order_type_code,
        row_number() over (
            partition by event_id order by recorded_date
        ) as day_number
    from versions_dated
    where rank_in_day = 1

),

period_starts as (

    select
        event_id,
        pdu_code,
        order_type_code,
        recorded_date,
        day_number
    from day_versions
    where
        day_number = 1
        or previous_pdu_code is distinct from pdu_code
        or previous_order_type_code is distinct from order_type_code

),

periods_bounded as (

    select
        event_id,
        pdu_code,
        order_type_code,
        row_number() over (
            partition by event_id order by recorded_date
        ) as period_number,
        case when day_number > 1 then recorded_date end as period_start_date,
        lead(recorded_date) over (
            partition by event_id order by recorded_date
        ) as period_end_date
    from period_starts

),

periods_clipped as (

    select
        periods_bounded.event_id,
        periods_bounded.period_number,
        periods_bounded.pdu_code,
        periods_bounded.order_type_code,
        orders.termination_reason_code,
        orders.is_successful_completion,
        orders.is_deleted as is_event_deleted,
        periods_bounded.period_start_date,
        periods_bounded.period_end_date,
        orders.order_start_date,
        orders.termination_date,
        case
            when periods_bounded.period_start_date is null
                then orders.order_start_date
            when orders.order_start_date > periods_bounded.period_start_date
                then orders.order_start_date
            else periods_bounded.period_start_date
        end as active_from_date,
        case
            when periods_bounded.period_end_date is null
                then orders.termination_date
            when orders.termination_date < periods_bounded.period_end_date
                then orders.termination_date
            else periods_bounded.period_end_date
        end as active_to_date,
        coalesce(
            orders.order_start_date >= periods_bounded.period_start_date,
            true
        )
        and coalesce(
            orders.order_start_date < periods_bounded.period_end_date, true
        ) as is_start_period,
        orders.termination_date is not null
        and coalesce(
            orders.termination_date >= periods_bounded.period_start_date,
            true
        )
        and coalesce(
            orders.termination_date < periods_bounded.period_end_date, true
        ) as is_termination_period,
        orders.event_first_known_date,
        orders.event_last_extraction_date
    from periods_bounded
    inner join orders
        on periods_bounded.event_id = orders.event_id

),

final as (

    select
        -- ids
        event_id,

        -- strings
        pdu_code,
        order_type_code,
        termination_reason_code,

        -- numerics
        cast(period_number as {{ dbt.type_int() }}) as period_number,

        -- booleans
        order_start_date is not null
        and (
            active_to_date is null
            or active_to_date > active_from_date
        ) as has_active_days,
        is_start_period and order_start_date is not null as is_start_period,
        is_termination_period,
        is_successful_completion,
        is_event_deleted,

        -- dates
        period_start_date,
        period_end_date,
        order_start_date,
        termination_date,
        active_from_date,
        active_to_date,
        event_first_known_date,
        event_last_extraction_date

    from periods_clipped

)

select * from final
