-- Question: when a court passes an immediate custodial sentence, can we
-- follow the person into prison, i.e. is there a prison reception on
-- sentence for the same person within a week?
--
-- How to read it: one row per calendar year of sentencing. Sentences are
-- the principal offence of each case with an immediate custodial sentence
-- (soft-deleted cases left out). The person is followed across systems by
-- the linked `person_id` of `dim_person` (each fact's `person_key` is a
-- version of that person). `received_within_7_days_share` is the share of
-- those sentences followed by a prison admission on sentence (reason
-- `SENTENCED`, whichever the establishment) 0 to 7 days after the outcome
-- date, between 0 and 1. A share well below 1 points at linkage gaps
-- between the court and prison records, or at receptions not yet arrived.

with

case_outcomes as (

    select * from {{ ref('fct_case_outcomes') }}

),

prison_movements as (

    select * from {{ ref('fct_prison_movements') }}

),

movement_reasons as (

    select * from {{ ref('dim_movement_reason') }}

),

persons as (

    select * from {{ ref('dim_person') }}

),

dates as (

    select * from {{ ref('dim_date') }}

),

custodial_sentences as (

    select
        case_outcomes.outcome_id,
        case_outcomes.outcome_date,
        persons.person_id,
        dates.calendar_year as sentence_year
    from case_outcomes
    inner join persons
        on case_outcomes.person_key = persons.person_key
    inner join dates
        on case_outcomes.date_key = dates.date_key
    where
        case_outcomes.is_custodial
        and case_outcomes.is_principal_offence
        and not case_outcomes.is_case_deleted
        and not persons.is_default_member
        and not dates.is_default_member

),

sentenced_receptions as (

    select
        persons.person_id,
        dates.date_day as reception_date
    from prison_movements
    inner join movement_reasons
        on
            prison_movements.movement_reason_key
            = movement_reasons.movement_reason_key
    inner join persons
        on prison_movements.person_key = persons.person_key
    inner join dates
        on prison_movements.date_key = dates.date_key
    where
        movement_reasons.movement_reason_code = 'SENTENCED'
        and not persons.is_default_member
        and not dates.is_default_member

),

sentences_followed as (

    select
        custodial_sentences.outcome_id,
        custodial_sentences.sentence_year,
        max(
            case
                when
                    {{ dbt.datediff(
                        'custodial_sentences.outcome_date',
                        'sentenced_receptions.reception_date',
                        'day',
                    ) }} between 0 and 7
                    then 1
                else 0
            end
        ) as is_received_within_7_days
    from custodial_sentences
    left join sentenced_receptions
        on custodial_sentences.person_id = sentenced_receptions.person_id
    group by custodial_sentences.outcome_id, custodial_sentences.sentence_year

),

final as (

    select
        sentence_year,
        count(*) as immediate_custodial_sentences,
        sum(is_received_within_7_days) as received_within_7_days,
        avg(cast(is_received_within_7_days as {{ dbt.type_float() }}))
            as received_within_7_days_share
    from sentences_followed
    group by sentence_year

)

select * from final
