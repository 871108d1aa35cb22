-- Question: how full is each prison, month by month: its population
-- against its operational capacity?
--
-- How to read it: one row per establishment and calendar month.
-- `average_population` is the mean end-of-day population over the days of
-- the month in the data, `month_end_population` the population on the
-- last day of the month (null for a month still in progress), and
-- `average_operational_capacity` the mean capacity of the establishment
-- version valid on each day. `occupancy_rate` is average population over
-- average capacity: 1 means full, above 1 overcrowded against the
-- operational capacity. `days_over_capacity` counts days whose population
-- exceeded the capacity; `peak_occupancy_rate` is the fullest day.
-- Populations are semi-additive: add establishments together within a
-- month, never add months.

with

population_daily as (

    select * from {{ ref('fct_prison_population_daily') }}

),

establishments as (

    select * from {{ ref('dim_establishment') }}

),

dates as (

    select * from {{ ref('dim_date') }}

),

establishment_days as (

    select
        population_daily.establishment_code,
        establishments.establishment_name,
        establishments.region_name,
        dates.calendar_year_month,
        dates.month_start_date,
        population_daily.population,
        population_daily.operational_capacity,
        population_daily.occupancy_rate,
        case
            when dates.date_day = dates.month_end_date
                then population_daily.population
        end as month_end_population
    from population_daily
    inner join establishments
        on
            population_daily.establishment_key
            = establishments.establishment_key
    inner join dates
        on population_daily.date_key = dates.date_key
    where not dates.is_default_member

),

final as (

    select
        establishment_code,
        establishment_name,
        region_name,
        calendar_year_month,
        month_start_date,
        count(*) as days_in_month_observed,
        avg(population) as average_population,
        max(month_end_population) as month_end_population,
        avg(operational_capacity) as average_operational_capacity,
        case
            when avg(operational_capacity) > 0
                then avg(population) / avg(operational_capacity)
        end as occupancy_rate,
        max(occupancy_rate) as peak_occupancy_rate,
        sum(
            case when population > operational_capacity then 1 else 0 end
        ) as days_over_capacity
    from establishment_days
    group by
        establishment_code,
        establishment_name,
        region_name,
        calendar_year_month,
        month_start_date

)

select * from final
