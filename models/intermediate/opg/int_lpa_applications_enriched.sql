{#-
    One row per lasting power of attorney application (its current version,
    soft-deleted applications kept and flagged) with its outcome worked out
    once: the outcome date is the date of the final status the application
    reached (registered, rejected or withdrawn), null while it is pending
    (received or in progress). Adds the donor's age on the day of receipt
    (whole years, from the date of birth on the application; null when that
    date is flagged invalid) and the number of attorneys named.

    Incremental (macros/opg/opg_chain.sql): a daily run recomputes the
    applications it touched (int_lpa_applications_touched).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='lpa_id',
        on_schema_change='fail',
        meta={'touched_by': 'int_lpa_applications_touched'},
    )
}}

with

{{ opg_touched_ctes() }}

applications as (

    select * from {{ ref('stg_sirius__lpa_applications') }}
    where {{ key_is_touched('lpa_id', 'touched_applications') }}

),

attorneys as (

    select * from {{ ref('stg_sirius__attorneys') }}
    where {{ key_is_touched('lpa_id', 'touched_applications') }}

),

attorneys_counted as (

    select
        lpa_id,
        count(*) as number_of_attorneys,
        sum(
            case when attorney_role_code = 'PRIMARY' then 1 else 0 end
        ) as number_of_primary_attorneys,
        sum(
            case when attorney_role_code = 'REPLACEMENT' then 1 else 0 end
        ) as number_of_replacement_attorneys
    from attorneys
    group by lpa_id

),

applications_with_outcome as (

    select
        *,
        case status_code
            when 'REGISTERED' then registered_date
            when 'REJECTED' then rejected_date
            when 'WITHDRAWN' then withdrawn_date
        end as outcome_date,
        extract(year from received_date) as received_year,
        extract(month from received_date) * 100
        + extract(day from received_date) as received_month_day,
        case
            when not is_donor_date_of_birth_invalid
                then extract(year from donor_date_of_birth)
        end as birth_year,
        case
            when not is_donor_date_of_birth_invalid
                then
                    extract(month from donor_date_of_birth) * 100
                    + extract(day from donor_date_of_birth)
        end as birth_month_day
    from applications

),

applications_joined as (

    select
        applications_with_outcome.lpa_id,
        applications_with_outcome.donor_id,
        {{ pseudonymise('applications_with_outcome.donor_id') }}
            as pseudonymised_donor_id,
        applications_with_outcome.donor_postcode_area,
        applications_with_outcome.lpa_type_code,
        applications_with_outcome.channel_code,
        applications_with_outcome.status_code,
        cast(
            coalesce(attorneys_counted.number_of_attorneys, 0)
            as {{ dbt.type_int() }}
        ) as number_of_attorneys,
        cast(
            coalesce(attorneys_counted.number_of_primary_attorneys, 0)
            as {{ dbt.type_int() }}
        ) as number_of_primary_attorneys,
        cast(
            coalesce(attorneys_counted.number_of_replacement_attorneys, 0)
            as {{ dbt.type_int() }}
        ) as number_of_replacement_attorneys,
        -- whole years: the difference of the years, less one when the
        -- birthday had not come yet in the year of receipt
        cast(
            applications_with_outcome.received_year
            - applications_with_outcome.birth_year
            - case
                when
                    applications_with_outcome.received_month_day
                    < applications_with_outcome.birth_month_day
                    then 1
                else 0
            end
            as {{ dbt.type_int() }}
        ) as donor_age_at_receipt,
        cast(
            {{ dbt.datediff(
                'applications_with_outcome.received_date',
                'applications_with_outcome.registered_date',
                'day',
            ) }}
            as {{ dbt.type_int() }}
        ) as days_received_to_registered,
        cast(
            {{ dbt.datediff(
                'applications_with_outcome.received_date',
                'applications_with_outcome.outcome_date',
                'day',
            ) }}
            as {{ dbt.type_int() }}
        ) as days_received_to_outcome,
        applications_with_outcome.status_code = 'REGISTERED'
            as is_registered,
        applications_with_outcome.status_code = 'REJECTED' as is_rejected,
        applications_with_outcome.status_code = 'WITHDRAWN' as is_withdrawn,
        applications_with_outcome.status_code in ('RECEIVED', 'IN_PROGRESS')
            as is_pending,
        applications_with_outcome.is_deleted,
        applications_with_outcome.has_inconsistent_status_dates,
        applications_with_outcome.received_date,
        applications_with_outcome.registered_date,
        applications_with_outcome.rejected_date,
        applications_with_outcome.withdrawn_date,
        applications_with_outcome.outcome_date,
        applications_with_outcome.extracted_at
    from applications_with_outcome
    left join attorneys_counted
        on applications_with_outcome.lpa_id = attorneys_counted.lpa_id

),

final as (

    select * from applications_joined

)

select * from final
