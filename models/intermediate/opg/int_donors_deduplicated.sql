{#-
    One row per LPA donor record (Sirius donor_id). Sirius holds the donor's
    details on each application, so a donor with several applications has
    them several times; this keeps one set, type 1 (as they are now): the
    details on the donor's latest application, preferring applications that
    are not soft-deleted, then the latest received date (a missing one
    last), the latest version and the highest lpa_id. A date of birth flagged invalid in staging is
    left out; the year of birth then comes from the latest application with
    a valid one.

    Sirius does not link donor records, and donors are not linked to the
    criminal justice person records: a donor who applied again under a new
    donor_id has two rows.

    Incremental (macros/opg/opg_chain.sql): a daily run recomputes the
    donors it touched (int_lpa_applications_touched); a touched donor left
    without an application is deleted (delete_touched_donors).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='donor_id',
        on_schema_change='fail',
        pre_hook="{{ delete_touched_donors('donor_id') }}",
        meta={'touched_by': 'int_lpa_applications_touched'},
    )
}}

with

{{ opg_touched_ctes() }}

applications as (

    select * from {{ ref('stg_sirius__lpa_applications') }}
    where {{ key_is_touched('donor_id', 'touched_donors') }}

),

applications_ranked as (

    select
        donor_id,
        donor_postcode_area,
        case
            when not is_donor_date_of_birth_invalid then donor_date_of_birth
        end as donor_date_of_birth,
        received_date,
        row_number() over (
            partition by donor_id
            order by
                case when is_deleted then 1 else 0 end asc,
                case when received_date is null then 1 else 0 end asc,
                received_date desc,
                valid_from desc,
                lpa_id desc
        ) as recency_rank
    from applications
    where donor_id is not null

),

donors_aggregated as (

    select
        donor_id,
        min(received_date) as first_received_date
    from applications_ranked
    group by donor_id

),

latest_details as (

    select
        donor_id,
        donor_postcode_area
    from applications_ranked
    where recency_rank = 1

),

latest_birth_dates as (

    select
        donor_id,
        donor_date_of_birth,
        row_number() over (
            partition by donor_id
            order by recency_rank asc
        ) as birth_date_rank
    from applications_ranked
    where donor_date_of_birth is not null

),

donors_joined as (

    select
        donors_aggregated.donor_id,
        latest_details.donor_postcode_area,
        latest_birth_dates.donor_date_of_birth,
        cast(
            extract(year from latest_birth_dates.donor_date_of_birth)
            as {{ dbt.type_int() }}
        ) as year_of_birth,
        donors_aggregated.first_received_date
    from donors_aggregated
    inner join latest_details
        on donors_aggregated.donor_id = latest_details.donor_id
    left join latest_birth_dates
        on
            donors_aggregated.donor_id = latest_birth_dates.donor_id
            and latest_birth_dates.birth_date_rank = 1

),

donors_aged as (

    select
        *,
        -- whole years on the first receipt: the difference of the years,
        -- less one when the birthday had not come yet that year
        cast(
            extract(year from first_received_date)
            - extract(year from donor_date_of_birth)
            - case
                when
                    extract(month from first_received_date) * 100
                    + extract(day from first_received_date)
                    < extract(month from donor_date_of_birth) * 100
                    + extract(day from donor_date_of_birth)
                    then 1
                else 0
            end
            as {{ dbt.type_int() }}
        ) as age_at_first_receipt
    from donors_joined

),

final as (

    select
        donor_id,
        {{ pseudonymise('donor_id') }} as pseudonymised_donor_id,
        donor_postcode_area,
        donor_date_of_birth,
        year_of_birth,
        age_at_first_receipt,
        first_received_date
    from donors_aged

)

select * from final
