{{ config(severity='warn') }}

{#-
    A case's milestones happen in order: offence on or before charge, charge
    before or on the first hearing, first hearing on or before completion, and
    completion on or after charge. Milestones not reached yet (null) are not
    compared. Fails with one row per case out of order.
    Severity warn: the rule is about the source data, not this model's
    logic; the fact keeps breaking rows (as staging does), so the warning
    counts them rather than stopping the build.
-#}

with

cases as (

    select * from {{ ref('fct_case_timeliness') }}

),

validation_errors as (

    select
        case_id,
        offence_date,
        charge_date,
        first_hearing_date,
        completion_date
    from cases
    where
        offence_date > charge_date
        or charge_date > first_hearing_date
        or first_hearing_date > completion_date
        or charge_date > completion_date

)

select * from validation_errors
