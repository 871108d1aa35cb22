{#-
    Stock and flow reconcile in fct_prison_population_daily: for every
    establishment and every day after the first, the population at the end
    of the day equals the previous day's population plus receptions and
    transfers in, minus releases and transfers out. Returns the days that do
    not balance.
-#}

with

population_days as (

    select * from {{ ref('fct_prison_population_daily') }}

),

days_with_previous as (

    select
        establishment_code,
        population_date,
        population,
        receptions,
        transfers_in,
        transfers_out,
        releases,
        lag(population) over (
            partition by establishment_code order by population_date
        ) as previous_population
    from population_days

),

unbalanced_days as (

    select * from days_with_previous
    where
        previous_population is not null
        and population != previous_population
        + receptions
        + transfers_in
        - transfers_out
        - releases

)

select * from unbalanced_days
