{#-
    The periodic and the accumulating snapshots agree: on the last day of
    fct_prison_population_daily (the as-of date), the population of each
    establishment equals the number of custodial episodes still in custody
    whose last establishment it is. Returns the establishments that differ.
-#}

with

population_days as (

    select * from {{ ref('fct_prison_population_daily') }}

),

episodes as (

    select * from {{ ref('fct_custodial_episodes') }}

),

establishments as (

    select * from {{ ref('dim_establishment') }}

),

last_day as (

    select max(population_date) as as_of_date
    from population_days

),

last_day_populations as (

    select
        population_days.establishment_code,
        population_days.population
    from population_days
    inner join last_day
        on population_days.population_date = last_day.as_of_date

),

episodes_in_custody as (

    select
        establishments.establishment_code,
        count(*) as episodes_in_custody
    from episodes
    inner join establishments
        on episodes.last_establishment_key = establishments.establishment_key
    where not episodes.is_released
    group by establishments.establishment_code

),

differences as (

    select
        coalesce(
            last_day_populations.establishment_code,
            episodes_in_custody.establishment_code
        ) as establishment_code,
        coalesce(last_day_populations.population, 0) as population,
        coalesce(episodes_in_custody.episodes_in_custody, 0)
            as episodes_in_custody
    from last_day_populations
    full outer join episodes_in_custody
        on
            last_day_populations.establishment_code
            = episodes_in_custody.establishment_code

),

mismatches as (

    select * from differences
    where population != episodes_in_custody

)

select * from mismatches
