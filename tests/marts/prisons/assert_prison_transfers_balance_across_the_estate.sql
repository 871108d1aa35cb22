{#-
    A transfer leaves one establishment and enters another on the same day:
    across the estate, the transfers out of a day equal the transfers in.
    Returns the days where they differ.
-#}

with

population_days as (

    select * from {{ ref('fct_prison_population_daily') }}

),

daily_transfers as (

    select
        population_date,
        sum(transfers_in) as transfers_in,
        sum(transfers_out) as transfers_out
    from population_days
    group by population_date

),

unbalanced_days as (

    select * from daily_transfers
    where transfers_in != transfers_out

)

select * from unbalanced_days
