-- Every curated row is accounted for in staging, none dropped, none doubled:
-- a versioned table gives one history row per distinct (natural key,
-- _valid_from), taken from its latest delivery, and one current row per
-- natural key; an append-only table gives one row per natural key, from its
-- latest delivery. Fails with one row per staging view that does not
-- reconcile.

with

checks as (

    {{ staging_reconciliation(
        'stg_sirius__lpa_application_history',
        source('sirius', 'lpa_applications'),
        ref('stg_sirius__lpa_application_history'),
        [['lpa_id', 'lpa_id'], ['_valid_from', 'valid_from']],
    ) }}

    union all

    {{ staging_reconciliation(
        'stg_sirius__lpa_applications',
        source('sirius', 'lpa_applications'),
        ref('stg_sirius__lpa_applications'),
        [['lpa_id', 'lpa_id']],
        check_latest_delivery=false,
    ) }}

    union all

    {{ staging_reconciliation(
        'stg_sirius__attorneys',
        source('sirius', 'attorneys'),
        ref('stg_sirius__attorneys'),
        [['attorney_id', 'attorney_id']],
    ) }}

),

validation_errors as (

    select * from checks
    where
        n_expected_rows != n_actual_rows
        or n_not_latest_delivery > 0

)

select * from validation_errors
