-- Question: how long does a criminal case take from the offence to its
-- completion, in each region and year?
--
-- How to read it: one row per region (of the court that completed the case)
-- and calendar year of completion. `median_days_offence_to_completion` is
-- the median number of days from the earliest offence of the case to its
-- completion; the quartiles show the spread (half of the cases lie between
-- them). Completed cases only (not discontinued, not soft-deleted) whose
-- end-to-end time is known. A median over a handful of cases is unstable:
-- read it together with `completed_cases`.

with

case_timeliness as (

    select * from {{ ref('fct_case_timeliness') }}

),

regions as (

    select * from {{ ref('dim_region') }}

),

dates as (

    select * from {{ ref('dim_date') }}

),

completed_cases as (

    select
        regions.region_name,
        dates.calendar_year as completion_year,
        case_timeliness.days_offence_to_completion
    from case_timeliness
    inner join regions
        on case_timeliness.region_key = regions.region_key
    inner join dates
        on case_timeliness.completion_date_key = dates.date_key
    where
        case_timeliness.is_completed
        and not case_timeliness.is_discontinued
        and not case_timeliness.is_case_deleted
        and not dates.is_default_member
        and case_timeliness.days_offence_to_completion is not null

),

final as (

    select
        region_name,
        completion_year,
        count(*) as completed_cases,
        percentile_cont(0.25) within group (
            order by days_offence_to_completion
        ) as lower_quartile_days,
        percentile_cont(0.5) within group (
            order by days_offence_to_completion
        ) as median_days_offence_to_completion,
        percentile_cont(0.75) within group (
            order by days_offence_to_completion
        ) as upper_quartile_days,
        avg(days_offence_to_completion) as mean_days_offence_to_completion
    from completed_cases
    group by region_name, completion_year

)

select * from final
