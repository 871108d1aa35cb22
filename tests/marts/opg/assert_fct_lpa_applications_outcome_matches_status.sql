{{ config(severity='warn') }}

{#-
    An application's dates follow its status: a registered application has a
    registration date and no rejection or withdrawal date, and likewise for
    rejected and withdrawn ones; a pending application has no outcome date at
    all. The outcome date is the date of the status reached. Fails with one
    row per application breaking the rule.
    Severity warn: the rule is about the source data, not this model's
    logic; the fact keeps breaking rows (as staging does), so the warning
    counts them rather than stopping the build.
-#}

with

applications as (

    select * from {{ ref('fct_lpa_applications') }}

),

validation_errors as (

    select
        lpa_id,
        status_code,
        registered_date,
        rejected_date,
        withdrawn_date,
        outcome_date
    from applications
    where
        (registered_date is not null) != is_registered
        or (rejected_date is not null) != is_rejected
        or (withdrawn_date is not null) != is_withdrawn
        or (outcome_date is null) != is_pending
        or outcome_date
        != coalesce(registered_date, rejected_date, withdrawn_date)

)

select * from validation_errors
