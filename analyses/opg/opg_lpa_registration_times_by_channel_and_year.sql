-- Question: how long does it take to register a lasting power of attorney,
-- online against on paper, and how many applications end registered?
--
-- How to read it: one row per channel (digital or paper), LPA type and
-- calendar year in which the application was received (soft-deleted
-- applications left out). `median_days_to_register` is the median number
-- of days from receipt to registration over the registered applications;
-- `registered_within_8_weeks_share` the share of them registered within 56
-- days. `registration_rate` is registered applications over the
-- applications of the year that reached an outcome (registered, rejected
-- or withdrawn), between 0 and 1; `pending` are still being processed, so
-- the latest year's figures will move.

with

lpa_applications as (

    select * from {{ ref('fct_lpa_applications') }}

),

lpa_attributes as (

    select * from {{ ref('dim_lpa_attributes') }}

),

dates as (

    select * from {{ ref('dim_date') }}

),

applications as (

    select
        lpa_attributes.channel_name,
        lpa_attributes.lpa_type_name,
        dates.calendar_year as received_year,
        lpa_applications.is_registered,
        lpa_applications.is_rejected,
        lpa_applications.is_withdrawn,
        lpa_applications.is_pending,
        lpa_applications.days_received_to_registered
    from lpa_applications
    inner join lpa_attributes
        on
            lpa_applications.lpa_attributes_key
            = lpa_attributes.lpa_attributes_key
    inner join dates
        on lpa_applications.received_date_key = dates.date_key
    where
        not lpa_applications.is_deleted
        and not dates.is_default_member

),

final as (

    select
        channel_name,
        lpa_type_name,
        received_year,
        count(*) as applications_received,
        sum(case when is_registered then 1 else 0 end) as registered,
        sum(case when is_rejected then 1 else 0 end) as rejected,
        sum(case when is_withdrawn then 1 else 0 end) as withdrawn,
        sum(case when is_pending then 1 else 0 end) as pending,
        case
            when sum(case when is_pending then 0 else 1 end) > 0
                then
                    sum(case when is_registered then 1.0 else 0.0 end)
                    / sum(case when is_pending then 0 else 1 end)
        end as registration_rate,
        percentile_cont(0.5) within group (
            order by days_received_to_registered
        ) as median_days_to_register,
        avg(
            case
                when days_received_to_registered <= 56 then 1.0
                when days_received_to_registered > 56 then 0.0
            end
        ) as registered_within_8_weeks_share
    from applications
    group by channel_name, lpa_type_name, received_year

)

select * from final
