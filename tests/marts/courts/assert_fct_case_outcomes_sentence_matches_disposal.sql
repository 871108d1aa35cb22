{{ config(severity='warn') }}

{#-
    Business rule of a court sentence: a sentence length is set exactly on the
    disposals that carry one (imprisonment, suspended sentence, community
    order: dim_disposal.has_sentence_length) and a fine amount exactly on a
    fine (is_financial_penalty); an outcome without a disposal (not guilty,
    withdrawn, dismissed: disposal_key '-3') has neither. Fails with one row
    per outcome breaking the rule.
    Severity warn: the rule is about the source data, not this model's
    logic; the fact keeps breaking rows (as staging does), so the warning
    counts them rather than stopping the build.
-#}

with

outcomes as (

    select * from {{ ref('fct_case_outcomes') }}

),

disposals as (

    select * from {{ ref('dim_disposal') }}

),

outcomes_with_disposal as (

    select
        outcomes.outcome_id,
        outcomes.disposal_key,
        outcomes.sentence_length_days,
        outcomes.fine_amount,
        coalesce(disposals.has_sentence_length, false) as has_sentence_length,
        coalesce(disposals.is_financial_penalty, false)
            as is_financial_penalty
    from outcomes
    left join disposals
        on outcomes.disposal_key = disposals.disposal_key

),

validation_errors as (

    select *
    from outcomes_with_disposal
    where
        (sentence_length_days is not null) != has_sentence_length
        or (fine_amount is not null) != is_financial_penalty

)

select * from validation_errors
