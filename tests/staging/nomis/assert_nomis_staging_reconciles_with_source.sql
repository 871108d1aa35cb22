-- Every curated row is accounted for in staging, none dropped, none doubled:
-- a versioned table gives one history row per distinct (natural key,
-- _valid_from), taken from its latest delivery, and one current row per
-- natural key; an append-only table gives one row per natural key, from its
-- latest delivery. Fails with one row per staging view that does not
-- reconcile.

with

checks as (

    {{ staging_reconciliation(
        'stg_nomis__establishment_history',
        source('nomis', 'establishments'),
        ref('stg_nomis__establishment_history'),
        [
            ['establishment_code', 'establishment_code'],
            ['_valid_from', 'valid_from'],
        ],
    ) }}

    union all

    {{ staging_reconciliation(
        'stg_nomis__establishments',
        source('nomis', 'establishments'),
        ref('stg_nomis__establishments'),
        [['establishment_code', 'establishment_code']],
        check_latest_delivery=false,
    ) }}

    union all

    {{ staging_reconciliation(
        'stg_nomis__offender_history',
        source('nomis', 'offenders'),
        ref('stg_nomis__offender_history'),
        [['prison_number', 'prison_number'], ['_valid_from', 'valid_from']],
    ) }}

    union all

    {{ staging_reconciliation(
        'stg_nomis__offenders',
        source('nomis', 'offenders'),
        ref('stg_nomis__offenders'),
        [['prison_number', 'prison_number']],
        check_latest_delivery=false,
    ) }}

    union all

    {{ staging_reconciliation(
        'stg_nomis__booking_history',
        source('nomis', 'bookings'),
        ref('stg_nomis__booking_history'),
        [['booking_id', 'booking_id'], ['_valid_from', 'valid_from']],
    ) }}

    union all

    {{ staging_reconciliation(
        'stg_nomis__bookings',
        source('nomis', 'bookings'),
        ref('stg_nomis__bookings'),
        [['booking_id', 'booking_id']],
        check_latest_delivery=false,
    ) }}

    union all

    {{ staging_reconciliation(
        'stg_nomis__movements',
        source('nomis', 'movements'),
        ref('stg_nomis__movements'),
        [['movement_id', 'movement_id']],
    ) }}

    union all

    {{ staging_reconciliation(
        'stg_nomis__sentence_history',
        source('nomis', 'sentences'),
        ref('stg_nomis__sentence_history'),
        [['sentence_id', 'sentence_id'], ['_valid_from', 'valid_from']],
    ) }}

    union all

    {{ staging_reconciliation(
        'stg_nomis__sentences',
        source('nomis', 'sentences'),
        ref('stg_nomis__sentences'),
        [['sentence_id', 'sentence_id']],
        check_latest_delivery=false,
    ) }}

),

validation_errors as (

    select * from checks
    where
        n_expected_rows != n_actual_rows
        or n_not_latest_delivery > 0

)

select * from validation_errors
