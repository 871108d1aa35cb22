{{ config(severity='warn') }}

{#-
    Every defendant of the courts facts should be linked to a person: the
    linkage (int_person_record_keys) covers every defendant record staged. A
    person key '-2' (not yet arrived) means a defendant record the linkage
    does not hold, e.g. a case delivered before its defendant. The facts keep
    such rows (and re-key them once the person arrives), so this warns rather
    than fails. One row per fact with the number of unresolved rows.
-#}

{%- set not_yet_arrived = default_member_key('not_yet_arrived') %}

with

hearings as (

    select * from {{ ref('fct_court_hearings') }}

),

outcomes as (

    select * from {{ ref('fct_case_outcomes') }}

),

cases as (

    select * from {{ ref('fct_case_timeliness') }}

),

unresolved as (

    select
        'fct_court_hearings' as fact_name,
        count(*) as n_unresolved
    from hearings
    where person_key = {{ not_yet_arrived }}
    union all
    select
        'fct_case_outcomes' as fact_name,
        count(*) as n_unresolved
    from outcomes
    where person_key = {{ not_yet_arrived }}
    union all
    select
        'fct_case_timeliness' as fact_name,
        count(*) as n_unresolved
    from cases
    where person_key = {{ not_yet_arrived }}

),

validation_errors as (

    select * from unresolved
    where n_unresolved > 0

)

select * from validation_errors
