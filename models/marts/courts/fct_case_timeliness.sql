{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='case_id',
        on_schema_change='fail',
        meta={'grain_source': 'int_case_milestones_aggregated'},
    )
}}

{#-
    Accumulating snapshot, one row per case: its milestones (offence, charge,
    first hearing, completion) with the days between them.

    Incremental (delete+insert on case_id): a run reloads the cases that are
    new, that have a '-2' key, or whose row would differ now (status, counts,
    durations, milestone dates and flags, person, offence, court or region:
    accumulating_snapshot_rows_to_load); the date keys are resolved for those
    only. Patched by case (macros/courts/court_chain.sql), only the cases of
    court_fact_row_is_touched and the '-2' ones are compared. Rebuilt in full when a case left int_case_milestones_aggregated
    (grain_source_full_rebuild_reason).

    Milestone date keys:
      - a milestone that has happened: the dim_date key of its date;
      - a milestone that has not happened yet and need not have ('-3' not
        applicable): the completion of an open case; the first hearing of an
        open case not yet heard, or of a case discontinued before any hearing;
      - a milestone that should have a date but has none ('-1' missing): the
        offence date or charge date of any case, the completion date of a
        completed or discontinued case, the first hearing of a case completed
        (not discontinued) with no hearing.
-#}

{%- set default_keyed_columns = [
    'offence_date_key', 'charge_date_key', 'first_hearing_date_key',
    'completion_date_key', 'person_key', 'offence_key', 'court_key', 'region_key',
] %}

with

{{ court_touched_ctes() }}

cases as (

    select * from {{ ref('int_case_milestones_aggregated') }}
    {%- if court_chain_is_patched() %}
    where
        {{ court_fact_row_is_touched('case_id', 'pseudonymised_person_id') }}
        or {{ stored_not_yet_arrived('case_id', default_keyed_columns) }}
    {%- endif %}

),

dates as (

    select * from {{ ref('dim_date') }}
    where not is_default_member

),

persons as (

    select * from {{ ref('dim_person') }}
    where not is_default_member

),

offences as (

    select * from {{ ref('dim_offence') }}
    where not is_default_member

),

courts as (

    select * from {{ ref('dim_court') }}
    where not is_default_member

),

-- the keys of the other dimensions, resolved for every case (the person in
-- the version valid on the charge date, the current version when the charge
-- date is unknown), so that a changed one reloads the row
cases_resolved as (

    select
        cases.*,
        {{ dimension_key('persons.person_key', 'cases.defendant_id') }}
            as person_key,
        {{ dimension_key(
            'offences.offence_key', 'cases.principal_offence_code'
        ) }} as offence_key,
        {{ dimension_key('courts.court_key', 'cases.court_code') }}
            as court_key,
        {{ dimension_key('courts.region_key', 'cases.court_code') }}
            as region_key
    from cases
    left join persons
        on
            cases.pseudonymised_person_id = persons.person_id
            and {{ scd2_valid_at('persons', 'cases.charge_date') }}
    left join offences
        on cases.principal_offence_code = offences.offence_code
    left join courts
        on cases.court_code = courts.court_code

),

-- cases_resolved_to_load: the cases this run loads (all of them on a full
-- refresh)
{{ accumulating_snapshot_rows_to_load(
    rows='cases_resolved',
    unique_key='case_id',
    compared_columns=[
        'person_key', 'offence_key', 'court_key', 'region_key',
        'case_status_code', 'principal_offence_sequence', 'number_of_offences',
        'number_of_hearings', 'number_of_effective_hearings',
        'number_of_adjourned_hearings', 'number_of_vacated_hearings',
        'days_offence_to_charge', 'days_charge_to_first_hearing',
        'days_first_hearing_to_completion', 'days_offence_to_completion',
        'days_charge_to_completion', 'is_completed', 'is_discontinued',
        'is_case_deleted', 'offence_date', 'charge_date', 'first_hearing_date',
        'completion_date',
    ],
    default_keyed_columns=default_keyed_columns,
) }}

-- cases_keyed: the cases loaded, with their milestone date keys
{{ role_playing_date_keys(
    'cases_keyed',
    rows='cases_resolved_to_load',
    alias='cases',
    date_keys={
        'offence_date_key': 'offence_date',
        'charge_date_key': 'charge_date',
        'first_hearing_date_key': 'first_hearing_date',
        'completion_date_key': 'completion_date',
    },
    applies={
        'first_hearing_date_key': 'cases.first_hearing_date is not null'
        ~ ' or (cases.is_completed and not cases.is_discontinued)',
        'completion_date_key': 'cases.completion_date is not null'
        ~ ' or cases.is_completed',
    },
) }}

final as (

    select
        cast(case_id as {{ dbt.type_string() }}) as case_id,
        cast(offence_date_key as {{ dbt.type_string() }}) as offence_date_key,
        cast(charge_date_key as {{ dbt.type_string() }}) as charge_date_key,
        cast(first_hearing_date_key as {{ dbt.type_string() }})
            as first_hearing_date_key,
        cast(completion_date_key as {{ dbt.type_string() }})
            as completion_date_key,
        cast(person_key as {{ dbt.type_string() }}) as person_key,
        cast(offence_key as {{ dbt.type_string() }}) as offence_key,
        cast(court_key as {{ dbt.type_string() }}) as court_key,
        cast(region_key as {{ dbt.type_string() }}) as region_key,
        cast(case_status_code as {{ dbt.type_string() }}) as case_status_code,
        cast(principal_offence_sequence as {{ dbt.type_int() }})
            as principal_offence_sequence,
        cast(number_of_offences as {{ dbt.type_int() }}) as number_of_offences,
        cast(number_of_hearings as {{ dbt.type_int() }}) as number_of_hearings,
        cast(number_of_effective_hearings as {{ dbt.type_int() }})
            as number_of_effective_hearings,
        cast(number_of_adjourned_hearings as {{ dbt.type_int() }})
            as number_of_adjourned_hearings,
        cast(number_of_vacated_hearings as {{ dbt.type_int() }})
            as number_of_vacated_hearings,
        cast(days_offence_to_charge as {{ dbt.type_int() }})
            as days_offence_to_charge,
        cast(days_charge_to_first_hearing as {{ dbt.type_int() }})
            as days_charge_to_first_hearing,
        cast(days_first_hearing_to_completion as {{ dbt.type_int() }})
            as days_first_hearing_to_completion,
        cast(days_offence_to_completion as {{ dbt.type_int() }})
            as days_offence_to_completion,
        cast(days_charge_to_completion as {{ dbt.type_int() }})
            as days_charge_to_completion,
        is_completed,
        is_discontinued,
        is_case_deleted,
        offence_date,
        charge_date,
        first_hearing_date,
        completion_date
    from cases_keyed

)

select * from final
