{#-
    Accumulating snapshot, one row per Delius event (a community order,
    suspended sentence order, licence or post-sentence supervision), rebuilt
    on every run. Milestones: start, expected end and termination (not
    applicable while the order is active). The probation unit is the one
    managing the order now; the person is the linked person's version valid
    on the start date; the release establishment (licences) is its version
    valid on the start date. int_supervision_orders_assembled gives the live
    (not soft-deleted) events at the level of Delius codes, with the linked
    person and the days supervised (to the termination date, or to the as-of
    date while active); this model keys them to the dimensions.
-#}

{%- set int_type = dbt.type_int() -%}
{%- set string_type = dbt.type_string() -%}

with

orders as (

    select * from {{ ref('int_supervision_orders_assembled') }}

),

persons as (

    select * from {{ ref('dim_person') }}
    where not is_default_member

),

offences as (

    select * from {{ ref('dim_offence') }}
    where not is_default_member

),

order_types as (

    select * from {{ ref('dim_order_type') }}
    where not is_default_member

),

probation_units as (

    select * from {{ ref('dim_probation_unit') }}
    where not is_default_member

),

courts as (

    select * from {{ ref('dim_court') }}
    where not is_default_member

),

establishment_versions as (

    select * from {{ ref('dim_establishment') }}
    where not is_default_member

),

dates as (

    select * from {{ ref('dim_date') }}
    where not is_default_member

),

-- the keys of the other dimensions: the person in the version valid on the
-- start date, the release establishment (licences) likewise
orders_resolved as (

    select
        orders.*,
        {{ dimension_key('persons.person_key', 'orders.crn') }}
            as person_key,
        {{ dimension_key('offences.offence_key', 'orders.offence_code') }}
            as offence_key,
        {{ dimension_key(
            'order_types.order_type_key', 'orders.order_type_code'
        ) }} as order_type_key,
        {{ dimension_key(
            'probation_units.probation_unit_key', 'orders.pdu_code'
        ) }} as probation_unit_key,
        {{ dimension_key('probation_units.region_key', 'orders.pdu_code') }}
            as region_key,
        {{ dimension_key(
            'courts.court_key',
            'orders.sentencing_court_code',
            applies="orders.order_type_code in ('CO', 'SSO')",
        ) }} as sentencing_court_key,
        {{ dimension_key(
            'establishment_versions.establishment_key',
            'orders.release_establishment_code',
            applies="orders.order_type_code in ('LIC', 'PSS')",
        ) }} as release_establishment_key
    from orders
    left join persons
        on
            orders.pseudonymised_person_id = persons.person_id
            and {{ scd2_valid_at('persons', 'orders.order_start_date') }}
    left join offences
        on orders.offence_code = offences.offence_code
    left join order_types
        on orders.order_type_code = order_types.order_type_code
    left join probation_units
        on orders.pdu_code = probation_units.pdu_code
    left join courts
        on orders.sentencing_court_code = courts.court_code
    left join establishment_versions
        on
            orders.release_establishment_code
            = establishment_versions.establishment_code
            and {{ scd2_valid_at(
                'establishment_versions', 'orders.order_start_date'
            ) }}

),

-- orders_keyed: the orders with their milestone date keys
{{ role_playing_date_keys(
    'orders_keyed',
    rows='orders_resolved',
    alias='orders',
    date_keys={
        'start_date_key': 'order_start_date',
        'expected_end_date_key': 'expected_end_date',
        'termination_date_key': 'termination_date',
    },
    applies={'termination_date_key': 'orders.is_terminated'},
) }}

final as (

    select
        cast(event_id as {{ string_type }}) as event_id,
        cast(person_key as {{ string_type }}) as person_key,
        cast(start_date_key as {{ string_type }}) as start_date_key,
        cast(expected_end_date_key as {{ string_type }})
            as expected_end_date_key,
        cast(termination_date_key as {{ string_type }})
            as termination_date_key,
        cast(offence_key as {{ string_type }}) as offence_key,
        cast(order_type_key as {{ string_type }}) as order_type_key,
        cast(probation_unit_key as {{ string_type }}) as probation_unit_key,
        cast(region_key as {{ string_type }}) as region_key,
        cast(sentencing_court_key as {{ string_type }})
            as sentencing_court_key,
        cast(release_establishment_key as {{ string_type }})
            as release_establishment_key,
        cast(termination_reason_code as {{ string_type }})
            as termination_reason_code,
        cast(order_length_days as {{ int_type }}) as planned_length_days,
        cast(actual_days_supervised as {{ int_type }})
            as actual_days_supervised,
        requirement_count,
        upw_hours,
        rar_days,
        curfew_months,
        is_terminated,
        is_successful_completion,
        has_upw,
        has_rar,
        has_curfew,
        has_drug_rehab,
        has_alcohol_treatment,
        has_mental_health,
        order_start_date,
        expected_end_date,
        termination_date
    from orders_keyed

)

select * from final
