{#-
    The supervision orders of fct_probation_supervision at the level of Delius
    codes, one row per live (not soft-deleted) event: the order's codes,
    measures and milestones (int_probation_orders_enriched), the linked person
    of its CRN and the days supervised, to the termination date or, while the
    order is active, to the as-of date (the latest Delius extraction date).
    The fact keys them to its dimensions.
-#}

with

orders as (

    select * from {{ ref('int_probation_orders_enriched') }}
    where not is_deleted

),

extract_window as (

    select * from {{ ref('int_delius_extracts_summarised') }}

),

person_records as (

    select * from {{ ref('int_person_record_keys') }}
    where system = 'delius'

),

final as (

    select
        -- ids
        orders.event_id,
        orders.crn,
        person_records.pseudonymised_person_id,

        -- strings
        orders.order_type_code,
        orders.offence_code,
        orders.pdu_code,
        orders.sentencing_court_code,
        orders.release_establishment_code,
        orders.termination_reason_code,

        -- numerics
        orders.order_length_days,
        {{ dbt.datediff(
            'orders.order_start_date',
            'coalesce(orders.termination_date, extract_window.as_of_date)',
            'day',
        ) }} as actual_days_supervised,
        orders.requirement_count,
        orders.upw_hours,
        orders.rar_days,
        orders.curfew_months,

        -- booleans
        orders.is_terminated,
        orders.is_successful_completion,
        orders.has_upw,
        orders.has_rar,
        orders.has_curfew,
        orders.has_drug_rehab,
        orders.has_alcohol_treatment,
        orders.has_mental_health,

        -- dates
        orders.order_start_date,
        orders.expected_end_date,
        orders.termination_date
    from orders
    cross join extract_window
    left join person_records
        on orders.crn = person_records.record_id

)

select * from final
