{#-
    The junk dimension dim_hearing_type is built from fixed code lists, so it
    must hold every combination of hearing type and status that the hearings
    actually carry; otherwise those hearings would fall back to the
    'not yet arrived' member. Fails with one row per uncovered combination.
-#}

with

hearings as (

    select * from {{ ref('stg_common_platform__hearings') }}

),

hearing_types as (

    select * from {{ ref('dim_hearing_type') }}
    where not is_default_member

),

observed_combinations as (

    select distinct
        hearing_type_code,
        hearing_status_code
    from hearings
    where hearing_type_code is not null or hearing_status_code is not null

),

validation_errors as (

    select
        observed_combinations.hearing_type_code,
        observed_combinations.hearing_status_code
    from observed_combinations
    left join hearing_types
        on
            observed_combinations.hearing_type_code
            = hearing_types.hearing_type_code
            and observed_combinations.hearing_status_code
            = hearing_types.hearing_status_code
    where hearing_types.hearing_type_key is null

)

select * from validation_errors
