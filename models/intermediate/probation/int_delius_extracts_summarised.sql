{#-
    One row: the window of the Delius data the probation facts are built
    from. as_of_date is the latest extraction date of any Delius table (the
    extract the warehouse is as of, even when it delivered no event);
    first_termination_date is the earliest termination: the curated history
    holds only orders that ended on or after its start, so the monthly
    caseload starts in that month (earlier months would undercount).
-#}

with

event_history as (

    select * from {{ ref('stg_delius__event_history') }}

),

terminations as (

    select * from {{ ref('stg_delius__terminations') }}

),

requirements as (

    select * from {{ ref('stg_delius__requirements') }}

),

offender_history as (

    select * from {{ ref('stg_delius__offender_history') }}

),

as_of as (

    {{ latest_extraction_date([
        'event_history',
        'terminations',
        'requirements',
        'offender_history',
    ]) }}

),

termination_dates as (

    select min(termination_date) as first_termination_date
    from terminations

),

final as (

    select
        as_of.as_of_date,
        termination_dates.first_termination_date
    from as_of
    cross join termination_dates

)

select * from final
