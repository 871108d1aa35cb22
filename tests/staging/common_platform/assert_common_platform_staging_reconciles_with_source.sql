-- Every curated row is accounted for in staging, none dropped, none doubled:
-- a versioned table gives one history row per distinct (natural key,
-- _valid_from), taken from its latest delivery, and one current row per
-- natural key; an append-only table gives one row per natural key, from its
-- latest delivery. Fails with one row per staging view that does not
-- reconcile.

with

checks as (

    {{ staging_reconciliation(
        'stg_common_platform__defendant_history',
        source('common_platform', 'defendants'),
        ref('stg_common_platform__defendant_history'),
        [['defendant_id', 'defendant_id'], ['_valid_from', 'valid_from']],
    ) }}

    union all

    {{ staging_reconciliation(
        'stg_common_platform__defendants',
        source('common_platform', 'defendants'),
        ref('stg_common_platform__defendants'),
        [['defendant_id', 'defendant_id']],
        check_latest_delivery=false,
    ) }}

    union all

    {{ staging_reconciliation(
        'stg_common_platform__case_history',
        source('common_platform', 'cases'),
        ref('stg_common_platform__case_history'),
        [['case_id', 'case_id'], ['_valid_from', 'valid_from']],
    ) }}

    union all

    {{ staging_reconciliation(
        'stg_common_platform__cases',
        source('common_platform', 'cases'),
        ref('stg_common_platform__cases'),
        [['case_id', 'case_id']],
        check_latest_delivery=false,
    ) }}

    union all

    {{ staging_reconciliation(
        'stg_common_platform__case_offences',
        source('common_platform', 'case_offences'),
        ref('stg_common_platform__case_offences'),
        [['case_offence_id', 'case_offence_id']],
    ) }}

    union all

    {{ staging_reconciliation(
        'stg_common_platform__hearings',
        source('common_platform', 'hearings'),
        ref('stg_common_platform__hearings'),
        [['hearing_id', 'hearing_id']],
    ) }}

    union all

    {{ staging_reconciliation(
        'stg_common_platform__outcomes',
        source('common_platform', 'outcomes'),
        ref('stg_common_platform__outcomes'),
        [['outcome_id', 'outcome_id']],
    ) }}

),

validation_errors as (

    select * from checks
    where
        n_expected_rows != n_actual_rows
        or n_not_latest_delivery > 0

)

select * from validation_errors
