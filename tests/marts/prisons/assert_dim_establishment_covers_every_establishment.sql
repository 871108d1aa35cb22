{#-
    dim_establishment lists every establishment exactly once as current: each
    code of the seed ref_prison_establishments and each code NOMIS holds,
    and no other code. Fails with one row per missing or unexpected code.
-#}

with

dimension_current as (

    select establishment_code
    from {{ ref('dim_establishment') }}
    where is_current and not is_default_member

),

seed_codes as (

    select establishment_code from {{ ref('ref_prison_establishments') }}

),

nomis_codes as (

    select distinct establishment_code
    from {{ ref('stg_nomis__establishment_history') }}

),

expected_codes as (

    select establishment_code from seed_codes
    union
    select establishment_code from nomis_codes

),

compared as (

    select
        coalesce(
            expected_codes.establishment_code,
            dimension_current.establishment_code
        ) as establishment_code,
        case
            when dimension_current.establishment_code is null
                then 'no current version in dim_establishment'
            when expected_codes.establishment_code is null
                then 'in dim_establishment, neither in the seed nor in NOMIS'
        end as failure_reason
    from expected_codes
    full outer join dimension_current
        on
            expected_codes.establishment_code
            = dimension_current.establishment_code

),

validation_errors as (

    select * from compared
    where failure_reason is not null

)

select * from validation_errors
