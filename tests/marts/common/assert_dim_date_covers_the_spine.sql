{#-
    dim_date holds every day from date_spine_start to date_spine_end exactly
    once: the first and last days match the vars and the number of real rows
    equals the number of days between them (with unique date_day, no gap).
-#}

with

days as (

    select date_day from {{ ref('dim_date') }}
    where not is_default_member

),

measured as (

    select
        min(date_day) as first_day,
        max(date_day) as last_day,
        count(*) as n_days,
        count(distinct date_day) as n_distinct_days
    from days

),

measured_span as (

    select
        *,
        {{ dbt.datediff('first_day', 'last_day', 'day') }} + 1  -- noqa: LT05
            as n_days_in_span
    from measured

),

validation_errors as (

    select * from measured_span
    where
        first_day != cast('{{ var("date_spine_start") }}' as date)
        or last_day != cast('{{ var("date_spine_end") }}' as date)
        or n_days != n_distinct_days
        or n_days != n_days_in_span

)

select * from validation_errors
