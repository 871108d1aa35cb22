{#-
    What this run's courts chain recomputes (macros/courts/court_chain.sql):
    the touched case ids, the touched persons (pseudonymised), and one row
    naming the invocation, with the reason when the chain is rebuilt in full
    (then no other row). Built before the four courts intermediates and
    int_person_record_keys, so it reads their tables as the last build left
    them: the case a moved row was in, the person each record was linked to.
-#}
{%- set marks = court_chain_watermarks() if execute else 'not executing' -%}
{%- set columns = ['case_id', 'pseudonymised_person_id'] -%}
{%- set stored = {} -%}
{%- if marks is not string -%}
    {%- for name in court_chain_models() -%}
        {%- do stored.update({name: patched_chain_stored_relation(name)}) -%}
    {%- endfor -%}
{%- endif -%}
-- depends_on: {{ ref('stg_common_platform__case_history') }}
-- depends_on: {{ ref('stg_common_platform__case_offences') }}
-- depends_on: {{ ref('stg_common_platform__hearings') }}
-- depends_on: {{ ref('stg_common_platform__outcomes') }}
-- depends_on: {{ ref('int_person_records_linked') }}
-- depends_on: {{ ref('int_person_records_unioned') }}

with

-- the one row saying which invocation wrote this table, and why the courts
-- chain is rebuilt in full in it (null when it is patched by case)
invocation as (

    {{ patched_chain_invocation(marks, columns) }}

),

{% if marks is not string %}
case_history as (

    select * from {{ ref('stg_common_platform__case_history') }}

),

case_offences as (

    select * from {{ ref('stg_common_platform__case_offences') }}

),

hearings as (

    select * from {{ ref('stg_common_platform__hearings') }}

),

outcomes as (

    select * from {{ ref('stg_common_platform__outcomes') }}

),

linked_records as (

    select * from {{ ref('int_person_records_linked') }}

),

person_records as (

    select * from {{ ref('int_person_records_unioned') }}

),

restaged_cases as (

    select case_id from case_history
    where {{ court_restaged('case_history', 'cases') }}

),

restaged_case_offences as (

    select case_offence_id, case_id from case_offences
    where {{ court_restaged('case_offences', 'case_offences') }}

),

restaged_hearings as (

    select hearing_id, case_id from hearings
    where {{ court_restaged('hearings', 'hearings') }}

),

restaged_outcomes as (

    select outcome_id, case_offence_id from outcomes
    where {{ court_restaged('outcomes', 'outcomes') }}

),

-- the records whose link or history changed since int_person_record_keys
-- was written (it is replaced after this model), with their person now and
-- before
changed_records as (

    {{ person_records_changed('linked_records', 'person_records') }}

),

-- cases whose defendant is linked to another person than before
relinked_cases as (

    select cases.case_id
    from case_history as cases
    inner join linked_records
        on cases.defendant_id = linked_records.record_id
    inner join changed_records
        on linked_records.record_key = changed_records.record_key
    where
        cases.is_current
        and linked_records.system = 'common_platform'
        and changed_records.stored_person_id
        is distinct from changed_records.person_id

),

-- the persons whose dim_person versions the person chain may rewrite
touched_persons as (

    select person_id from changed_records
    union
    select stored_person_id as person_id from changed_records
    where stored_person_id is not null

),

touched as (

    select case_id from restaged_cases
    union
    select case_id from restaged_case_offences
    union
    select stored.case_id
    from {{ stored['int_case_offences_ranked'] }} as stored
    inner join restaged_case_offences
        on stored.case_offence_id = restaged_case_offences.case_offence_id
    union
    select case_id from restaged_hearings
    union
    select stored.case_id
    from {{ stored['int_hearings_enriched'] }} as stored
    inner join restaged_hearings
        on stored.hearing_id = restaged_hearings.hearing_id
    union
    select case_offences.case_id
    from restaged_outcomes
    inner join case_offences
        on restaged_outcomes.case_offence_id = case_offences.case_offence_id
    union
    select stored.case_id
    from {{ stored['int_case_outcomes_enriched'] }} as stored
    inner join restaged_outcomes
        on stored.outcome_id = restaged_outcomes.outcome_id
    union
    select case_id from relinked_cases

),
{% endif %}

final as (

    select * from invocation
    {%- if marks is not string %}
    union all
    {{ touched_key_rows('touched', {'case_id': 'case_id'}, columns) }}
    union all
    {{ touched_key_rows(
        'touched_persons',
        {'pseudonymised_person_id': pseudonymise('person_id')},
        columns,
    ) }}
    {%- endif %}

)

select * from final
