-- Question: of the defendants sentenced for each offence category, what
-- share were sent to immediate custody, and for how long?
--
-- How to read it: one row per offence category and calendar year of
-- sentencing, counting one sentence per case (the principal, i.e. most
-- serious, offence of a guilty outcome; soft-deleted cases left out).
-- `custody_rate` is immediate custodial sentences over all sentences, a
-- share between 0 and 1; `suspended_rate` the same for suspended sentence
-- orders. `median_custodial_sentence_days` is the median custodial term of
-- the immediate custodial sentences (null when there were none). Offence
-- categories come from `dim_offence`; "Missing"/"Not yet arrived" collect
-- outcomes whose offence is unknown to the reference data.

with

case_outcomes as (

    select * from {{ ref('fct_case_outcomes') }}

),

offences as (

    select * from {{ ref('dim_offence') }}

),

disposals as (

    select * from {{ ref('dim_disposal') }}

),

dates as (

    select * from {{ ref('dim_date') }}

),

sentences as (

    select
        offences.offence_category,
        dates.calendar_year as sentence_year,
        disposals.disposal_code,
        case_outcomes.sentence_length_days,
        coalesce(disposals.is_custodial, false) as is_custodial
    from case_outcomes
    inner join offences
        on case_outcomes.offence_key = offences.offence_key
    inner join disposals
        on case_outcomes.disposal_key = disposals.disposal_key
    inner join dates
        on case_outcomes.date_key = dates.date_key
    where
        case_outcomes.is_guilty
        and case_outcomes.is_principal_offence
        and not case_outcomes.is_case_deleted
        and not dates.is_default_member

),

final as (

    select
        offence_category,
        sentence_year,
        count(*) as sentences,
        sum(case when is_custodial then 1 else 0 end)
            as immediate_custodial_sentences,
        avg(case when is_custodial then 1.0 else 0.0 end) as custody_rate,
        avg(case when disposal_code = 'SUSPENDED' then 1.0 else 0.0 end)
            as suspended_rate,
        percentile_cont(0.5) within group (
            order by case when is_custodial then sentence_length_days end
        ) as median_custodial_sentence_days
    from sentences
    group by offence_category, sentence_year

)

select * from final
