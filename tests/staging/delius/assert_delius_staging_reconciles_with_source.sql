-- Every curated row is accounted for in staging, none dropped, none doubled:
-- a versioned table gives one history row per distinct (natural key,
-- _valid_from), taken from its latest delivery, and one current row per
-- natural key; an append-only table gives one row per natural key, from its
-- latest delivery. Fails with one row per staging view that does not
-- reconcile.

with

checks as (

    {{ staging_reconciliation(
        'stg_delius__offender_history',
        source('delius', 'offenders'),
        ref('stg_delius__offender_history'),
        [['crn', 'crn'], ['_valid_from', 'valid_from']],
    ) }}

    union all

    {{ staging_reconciliation(
        'stg_delius__offenders',
        source('delius', 'offenders'),
        ref('stg_delius__offenders'),
        [['crn', 'crn']],
        check_latest_delivery=false,
    ) }}

    union all

    {{ staging_reconciliation(
        'stg_delius__event_history',
        source('delius', 'events'),
        ref('stg_delius__event_history'),
        [['event_id', 'event_id'], ['_valid_from', 'valid_from']],
    ) }}

    union all

    {{ staging_reconciliation(
        'stg_delius__events',
        source('delius', 'events'),
        ref('stg_delius__events'),
        [['event_id', 'event_id']],
        check_latest_delivery=false,
    ) }}

    union all

    {{ staging_reconciliation(
        'stg_delius__requirements',
        source('delius', 'requirements'),
        ref('stg_delius__requirements'),
        [['requirement_id', 'requirement_id']],
    ) }}

    union all

    {{ staging_reconciliation(
        'stg_delius__terminations',
        source('delius', 'terminations'),
        ref('stg_delius__terminations'),
        [['termination_id', 'termination_id']],
    ) }}

),

validation_errors as (

    select * from checks
    where
        n_expected_rows != n_actual_rows
        or n_not_latest_delivery > 0

)

select * from validation_errors
