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
    int_nomis_extracts_summarised). The population at the end of a day is a
    running sum of daily changes per establishment
    (prison_population_changes(): +1 on the day a stay starts, -1 on the day
    it ends), so stays are never exploded to days.

    Incremental, delete+insert by day (every establishment of a day it
    writes). The window, the running sum and the re-keying are written once,
    in periodic_snapshot_rows() (macros/kimball/periodic_snapshot.sql,
    shared with fct_probation_caseload_monthly): a run recomputes every day
    from the earliest of (a) the day after the stored as-of date, (b) the
    first date a booking touched by a newer extract can have a stay (a late
    movement or a booking change can move a stay back to the booking's
    start), (c) the first movement date, when an establishment is new to the
    table or that date moved back; an earlier day is re-written only when
    the establishment version of one of its rows resolves differently now.
    So an incremental run gives the same table as a full refresh.
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
{{ prison_population_establishments() }}

-- per establishment and day: the population change, receptions, transfers
-- and releases
{{ prison_population_changes() }}

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
