{#
    The members of fct_prison_population_daily's periodic snapshot: every establishment
    that a movement (to or from) or a booking version has ever named. The set only grows,
    so a row once written is never orphaned. Emits the CTE snapshot_establishments
    (establishment_code), ending with a comma. Inputs, CTE names in the calling model:
    movements (stg_nomis__movements) and booking_history (stg_nomis__booking_history).
#}
{% macro prison_population_establishments() -%}
snapshot_establishments as (

    select to_establishment_code as establishment_code from movements
    where to_establishment_code is not null
    union
    select from_establishment_code as establishment_code from movements
    where from_establishment_code is not null
    union
    select establishment_code from booking_history
    where establishment_code is not null

),
{%- endmacro %}

{#
    The daily changes of the prison population, for fct_prison_population_daily
    (its `changes` in periodic_snapshot_rows()): per establishment and day, the
    change of the population (+1 on the day a stay starts, -1 on the day it ends)
    and the day's receptions, transfers in, transfers out and releases. A stay that
    began before the first snapshot day (or at an unknown date) counts from that
    day, in its opening population, not as an arrival; stays that ended before it,
    and the stays of soft-deleted bookings, are left out.

    Emits the CTEs counted_stays, population_changes and daily_changes (one row per
    establishment_code and population_date), each ending with a comma. Inputs, CTE
    names in the calling model: stays (int_custody_stays_derived) and
    snapshot_window (one row: first_snapshot_date, as_of_date).
#}
{% macro prison_population_changes() -%}
counted_stays as (

    select
        stays.establishment_code,
        stays.arrival_kind,
        stays.departure_kind,
        stays.end_date,
        case
            when
                stays.start_date is null
                or stays.start_date < snapshot_window.first_snapshot_date
                then snapshot_window.first_snapshot_date
            else stays.start_date
        end as counted_from_date,
        coalesce(
            stays.start_date >= snapshot_window.first_snapshot_date, false
        ) as is_arrival_in_snapshot
    from stays
    cross join snapshot_window
    where
        not stays.is_booking_deleted
        and (
            stays.end_date is null
            or stays.end_date >= snapshot_window.first_snapshot_date
        )

),

population_changes as (

    select
        establishment_code,
        counted_from_date as change_date,
        1 as population_change,
        case
            when is_arrival_in_snapshot and arrival_kind = 'RECEPTION'
                then 1
            else 0
        end as receptions,
        case
            when is_arrival_in_snapshot and arrival_kind = 'TRANSFER'
                then 1
            else 0
        end as transfers_in,
        0 as transfers_out,
        0 as releases
    from counted_stays

    union all

    select
        establishment_code,
        end_date as change_date,
        -1 as population_change,
        0 as receptions,
        0 as transfers_in,
        case when departure_kind = 'TRANSFER' then 1 else 0 end
            as transfers_out,
        case when departure_kind = 'RELEASE' then 1 else 0 end as releases
    from counted_stays
    where end_date is not null

),

daily_changes as (

    select
        establishment_code,
        change_date as population_date,
        sum(population_change) as population_change,
        sum(receptions) as receptions,
        sum(transfers_in) as transfers_in,
        sum(transfers_out) as transfers_out,
        sum(releases) as releases
    from population_changes
    group by establishment_code, change_date

),
{%- endmacro %}
