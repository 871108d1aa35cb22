{#-
    One row per calendar day between the vars date_spine_start and
    date_spine_end (inclusive), plus the three default members. The UK
    financial year runs from 1 April to 31 March: '2024-25' starts on
    2024-04-01 and its quarter 1 is April to June.
-#}

with

spine as (

    {{ day_spine(var('date_spine_start'), var('date_spine_end')) }}

),

bank_holidays as (

    select * from {{ ref('ref_bank_holidays') }}

),

calendar_parts as (

    select
        date_day,
        cast(extract(year from date_day) as integer) as calendar_year,
        cast(extract(quarter from date_day) as integer) as calendar_quarter,
        cast(extract(month from date_day) as integer) as calendar_month,
        cast(extract(day from date_day) as integer) as day_of_month,
        {{ iso_date_part('iso_year', 'date_day') }} as iso_year,
        {{ iso_date_part('iso_week', 'date_day') }} as iso_week,
        {{ iso_date_part('iso_day_of_week', 'date_day') }} as day_of_week,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date)
            as month_start_date,
        cast({{ dbt.last_day('date_day', 'month') }} as date)
            as month_end_date
    from spine

),

financial_parts as (

    select
        *,
        case
            when calendar_month >= 4 then calendar_year
            else calendar_year - 1
        end
            as financial_year_start,
        case
            when calendar_month between 4 and 6 then 1
            when calendar_month between 7 and 9 then 2
            when calendar_month between 10 and 12 then 3
            else 4
        end as financial_quarter,
        {{ dbt.right(
            dbt.concat(["'0'", dbt.safe_cast('calendar_month', dbt.type_string())]), 2
        ) }} as month_two_digits
    from calendar_parts

),

days_described as (

    select
        cast(
            financial_parts.calendar_year * 10000
            + financial_parts.calendar_month * 100
            + financial_parts.day_of_month
            as {{ dbt.type_string() }}
        ) as date_key,
        financial_parts.date_day,
        financial_parts.calendar_year,
        financial_parts.calendar_quarter,
        financial_parts.calendar_month,
        case financial_parts.calendar_month
            when 1 then 'January'
            when 2 then 'February'
            when 3 then 'March'
            when 4 then 'April'
            when 5 then 'May'
            when 6 then 'June'
            when 7 then 'July'
            when 8 then 'August'
            when 9 then 'September'
            when 10 then 'October'
            when 11 then 'November'
            when 12 then 'December'
        end as month_name,
        {{ dbt.concat([
            dbt.safe_cast('financial_parts.calendar_year', dbt.type_string()),
            "'-'",
            'financial_parts.month_two_digits',
        ]) }} as calendar_year_month,
        financial_parts.month_start_date,
        financial_parts.month_end_date,
        financial_parts.day_of_month,
        financial_parts.iso_year,
        financial_parts.iso_week,
        financial_parts.day_of_week,
        case financial_parts.day_of_week
            when 1 then 'Monday'
            when 2 then 'Tuesday'
            when 3 then 'Wednesday'
            when 4 then 'Thursday'
            when 5 then 'Friday'
            when 6 then 'Saturday'
            when 7 then 'Sunday'
        end as day_name,
        financial_parts.day_of_week in (6, 7) as is_weekend,
        bank_holidays.holiday_date is not null as is_bank_holiday,
        bank_holidays.holiday_name as bank_holiday_name,
        financial_parts.day_of_week not in (6, 7)
        and bank_holidays.holiday_date is null as is_working_day,
        {{ dbt.concat([
            dbt.safe_cast(
                'financial_parts.financial_year_start', dbt.type_string()
            ),
            "'-'",
            dbt.right(
                dbt.safe_cast(
                    'financial_parts.financial_year_start + 1',
                    dbt.type_string(),
                ),
                2,
            ),
        ]) }} as financial_year,
        financial_parts.financial_quarter
    from financial_parts
    left join bank_holidays
        on financial_parts.date_day = bank_holidays.holiday_date

),

final as (

    {{ default_member_rows('days_described', {
        'date_key': 'key',
        'date_day': 'null',
        'calendar_year': 'null',
        'calendar_quarter': 'null',
        'calendar_month': 'null',
        'month_name': 'label',
        'calendar_year_month': 'label',
        'month_start_date': 'null',
        'month_end_date': 'null',
        'day_of_month': 'null',
        'iso_year': 'null',
        'iso_week': 'null',
        'day_of_week': 'null',
        'day_name': 'label',
        'is_weekend': 'null',
        'is_bank_holiday': 'null',
        'bank_holiday_name': 'null',
        'is_working_day': 'null',
        'financial_year': 'label',
        'financial_quarter': 'null',
    }) }}

)

select * from final
