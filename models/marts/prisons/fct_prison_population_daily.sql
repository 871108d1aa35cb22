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
    refresh.
-#}

{%- set int_type = dbt.type_int() -%}

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

{% if is_incremental() %}

stored_days as (

    select * from {{ this }}

),

{% endif %}

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
        change_date,
        sum(population_change) as population_change,
        sum(receptions) as receptions,
        sum(transfers_in) as transfers_in,
        sum(transfers_out) as transfers_out,
        sum(releases) as releases
    from population_changes
    group by establishment_code, change_date

),

{% if is_incremental() %}

stored_window as (

    select
        min(population_date) as first_stored_date,
        max(population_date) as last_as_of_date
    from stored_days

),

stored_establishments as (

    select distinct establishment_code
    from stored_days

),

unstored_establishments as (

    select count(*) as unstored_establishment_count
    from snapshot_establishments
    left join stored_establishments
        on
            snapshot_establishments.establishment_code
            = stored_establishments.establishment_code
    where stored_establishments.establishment_code is null

),

touched_window as (

    select
        min(
            coalesce(
                stays.booking_first_known_date,
                snapshot_window.first_snapshot_date
            )
        ) as touched_from_date
    from stays
    cross join stored_window
    cross join snapshot_window
    where stays.booking_last_extraction_date > stored_window.last_as_of_date

),

{% endif %}

-- the first day to (re)compute: the first snapshot day on a full refresh
recompute_window as (

    select
        {%- if is_incremental() %}
            case
                when unstored_establishments.unstored_establishment_count > 0
                    then snapshot_window.first_snapshot_date
                when
                    snapshot_window.first_snapshot_date
                    < stored_window.first_stored_date
                    then snapshot_window.first_snapshot_date
                when
                    touched_window.touched_from_date
                    < snapshot_window.first_snapshot_date
                    then snapshot_window.first_snapshot_date
                when
                    touched_window.touched_from_date
                    <= stored_window.last_as_of_date
                    then touched_window.touched_from_date
                else cast(
                    {{ dbt.dateadd('day', 1, 'stored_window.last_as_of_date') }}
                    as date
                )
            end as recompute_from_date
        {%- else %}
            snapshot_window.first_snapshot_date as recompute_from_date
        {%- endif %}
    from snapshot_window
    {%- if is_incremental() %}
    cross join stored_window
    cross join touched_window
    cross join unstored_establishments
    {%- endif %}

),

-- each establishment's population at the end of the day before the window:
-- none on a full refresh, the stored one on an incremental run
opening_populations as (

    select
        snapshot_establishments.establishment_code,
        recompute_window.recompute_from_date,
        {%- if is_incremental() %}
            coalesce(stored_days.population, 0) as opening_population
        {%- else %}
            0 as opening_population
        {%- endif %}
    from snapshot_establishments
    cross join recompute_window
    {%- if is_incremental() %}
    left join stored_days
        on
            snapshot_establishments.establishment_code
            = stored_days.establishment_code
            and stored_days.population_date = cast(
                {{ dbt.dateadd(
                    'day', -1, 'recompute_window.recompute_from_date'
                ) }} as date
            )
    {%- endif %}

),

snapshot_days as (

    select
        opening_populations.establishment_code,
        opening_populations.opening_population,
        dates.date_key,
        dates.date_day as population_date
    from opening_populations
    cross join snapshot_window
    inner join dates
        on
            opening_populations.recompute_from_date <= dates.date_day
            and snapshot_window.as_of_date >= dates.date_day

),

days_counted as (

    select
        snapshot_days.establishment_code,
        snapshot_days.date_key,
        snapshot_days.population_date,
        snapshot_days.opening_population + sum(
            coalesce(daily_changes.population_change, 0)
        ) over (
            partition by snapshot_days.establishment_code
            order by snapshot_days.population_date
            rows between unbounded preceding and current row
        ) as population,
        coalesce(daily_changes.receptions, 0) as receptions,
        coalesce(daily_changes.transfers_in, 0) as transfers_in,
        coalesce(daily_changes.transfers_out, 0) as transfers_out,
        coalesce(daily_changes.releases, 0) as releases
    from snapshot_days
    left join daily_changes
        on
            snapshot_days.establishment_code = daily_changes.establishment_code
            and snapshot_days.population_date = daily_changes.change_date

),

{% if is_incremental() %}

-- stored days before the window keep their counts; a day is re-written
-- (with fresh keys) only when the establishment version of one of its rows
-- resolves differently now
stored_days_resolved as (

    select
        stored_days.*,
        {{ dimension_key(
            'establishment_versions.establishment_key',
            'stored_days.establishment_code',
        ) }} as resolved_establishment_key,
        {{ dimension_key(
            'establishment_versions.region_key',
            'stored_days.establishment_code',
        ) }} as resolved_region_key,
        establishment_versions.operational_capacity
            as resolved_operational_capacity
    from stored_days
    cross join recompute_window
    left join establishment_versions
        on
            stored_days.establishment_code
            = establishment_versions.establishment_code
            and {{ scd2_valid_at(
                'establishment_versions',
                'stored_days.population_date',
                current_if_null=false,
            ) }}
    where stored_days.population_date < recompute_window.recompute_from_date

),

rekeyed_days as (

    select distinct population_date
    from stored_days_resolved
    where
        resolved_establishment_key != establishment_key
        or resolved_region_key != region_key
        or resolved_operational_capacity != operational_capacity
        or (resolved_operational_capacity is null)
        != (operational_capacity is null)

),

{% endif %}

days_to_load as (

    select * from days_counted
    {%- if is_incremental() %}

    union all

    select
        stored_days_resolved.establishment_code,
        stored_days_resolved.date_key,
        stored_days_resolved.population_date,
        stored_days_resolved.population,
        stored_days_resolved.receptions,
        stored_days_resolved.transfers_in,
        stored_days_resolved.transfers_out,
        stored_days_resolved.releases
    from stored_days_resolved
    inner join rekeyed_days
        on stored_days_resolved.population_date = rekeyed_days.population_date
    {%- endif %}

),

days_keyed as (

    select
        days_to_load.date_key,
        {{ dimension_key(
            'establishment_versions.establishment_key',
            'days_to_load.establishment_code',
        ) }} as establishment_key,
        {{ dimension_key(
            'establishment_versions.region_key',
            'days_to_load.establishment_code',
        ) }} as region_key,
        days_to_load.establishment_code,
        days_to_load.population_date,
        days_to_load.population,
        days_to_load.receptions,
        days_to_load.transfers_in,
        days_to_load.transfers_out,
        days_to_load.releases,
        establishment_versions.operational_capacity
    from days_to_load
    left join establishment_versions
        on
            days_to_load.establishment_code
            = establishment_versions.establishment_code
            and {{ scd2_valid_at(
                'establishment_versions',
                'days_to_load.population_date',
                current_if_null=false,
            ) }}

),

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
    from days_keyed

)

select * from final
