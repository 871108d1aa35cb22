{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='population_date',
        on_schema_change='fail',
    )
}}

{#-
    Periodic snapshot, one row per establishment and day, from the first
    movement date to the as-of date (the latest NOMIS extraction date, see
    int_nomis_extracts_summarised). The
    population at the end of a day is a running sum of daily changes (+1 on
    the day a stay starts, -1 on the day it ends) per establishment, so the
    stays are never exploded to days; a stay that began before the first
    movement date is in the opening population of the first day.

    Incremental, delete+insert by period: unique_key is the day, so a run
    replaces whole days (every establishment of a day it writes). The
    table's last day is the as-of date of the run that wrote it; a run
    recomputes every day from the earliest of:
      (a) the day after that as-of date (the new days);
      (b) the first date a booking touched by a newer extract can have a stay
          (a late movement or a booking change can move a stay back to the
          booking's start), clipped to the first movement date;
      (c) the first movement date, when an establishment is new to the table
          or the first movement date moved back;
    continuing each establishment's running sum from its stored population
    of the day before. An earlier day is re-written (stored counts, fresh
    keys) only when the establishment version of one of its rows now
    resolves differently (key, region or capacity: a dimension row arrived
    or changed). So an incremental run gives the same table as a full
    refresh. The window, the running sum and the re-keying are written once,
    in macros/kimball/periodic_snapshot.sql (shared with
    fct_probation_caseload_monthly); this model gives its inputs and its keys.
-#}

{%- set int_type = dbt.type_int() -%}

{#- A withdrawn future-dated extract would leave the stored last
    population_date ahead of the as-of date, and the recompute window would
    start after it: stop instead. -#}
{{ check_high_water_mark(
    ref('int_nomis_extracts_summarised'),
    'as_of_date',
    'population_date',
) }}

with

stays as (

    select * from {{ ref('int_custody_stays_derived') }}

),

movements as (

    select * from {{ ref('stg_nomis__movements') }}

),

booking_history as (

    select * from {{ ref('stg_nomis__booking_history') }}

),

extract_window as (

    select * from {{ ref('int_nomis_extracts_summarised') }}

),

establishment_versions as (

    select * from {{ ref('dim_establishment') }}
    where not is_default_member

),

dates as (

    select * from {{ ref('dim_date') }}
    where not is_default_member

),

snapshot_window as (

    select
        first_movement_date as first_snapshot_date,
        as_of_date
    from extract_window

),

-- every establishment that a movement or a booking has ever named: the set
-- only grows, so a row once written is never orphaned
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

-- every day up to the as-of date
snapshot_days as (

    select
        dates.date_key,
        dates.date_day as population_date
    from dates
    cross join snapshot_window
    where dates.date_day <= snapshot_window.as_of_date

),

{{ periodic_snapshot_rows(
    grain=['establishment_code'],
    period='day',
    period_column='population_date',
    snapshot_date_column='population_date',
    level_column='population',
    flow_columns=['receptions', 'transfers_in', 'transfers_out', 'releases'],
    resolved_columns=[
        'establishment_key', 'region_key', 'operational_capacity'
    ],
    touched='stays',
    touched_from_column='booking_first_known_date',
    touched_at_column='booking_last_extraction_date',
    members='snapshot_establishments',
    periods='snapshot_days',
    changes='daily_changes',
) }}

-- the establishment version valid on the day: keys, region and capacity
days_keyed as (

    select
        rows_to_resolve.*,
        {{ dimension_key(
            'establishment_versions.establishment_key',
            'rows_to_resolve.establishment_code',
        ) }} as establishment_key,
        {{ dimension_key(
            'establishment_versions.region_key',
            'rows_to_resolve.establishment_code',
        ) }} as region_key,
        establishment_versions.operational_capacity
    from rows_to_resolve
    left join establishment_versions
        on
            rows_to_resolve.establishment_code
            = establishment_versions.establishment_code
            and {{ scd2_valid_at(
                'establishment_versions',
                'rows_to_resolve.population_date',
                current_if_null=false,
            ) }}

),

{{ periodic_snapshot_rows_to_load(
    'days_keyed',
    'population_date',
    ['establishment_key', 'region_key', 'operational_capacity'],
) }}

final as (

    select
        cast(date_key as {{ dbt.type_string() }}) as date_key,
        cast(establishment_key as {{ dbt.type_string() }})
            as establishment_key,
        cast(region_key as {{ dbt.type_string() }}) as region_key,
        cast(establishment_code as {{ dbt.type_string() }})
            as establishment_code,
        population_date,
        cast(population as {{ int_type }}) as population,
        cast(receptions as {{ int_type }}) as receptions,
        cast(transfers_in as {{ int_type }}) as transfers_in,
        cast(transfers_out as {{ int_type }}) as transfers_out,
        cast(releases as {{ int_type }}) as releases,
        cast(operational_capacity as {{ int_type }}) as operational_capacity,
        case
            when operational_capacity > 0
                then round(
                    cast(population as double)
                    / operational_capacity,
                    4
                )
        end as occupancy_rate
    from rows_to_load

)

select * from final
