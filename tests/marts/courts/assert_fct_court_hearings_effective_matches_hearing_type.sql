{#-
    The is_effective measure of a hearing agrees with the hearing status of
    its junk dimension row (dim_hearing_type.is_effective), for every hearing
    whose type and status resolved. Fails with one row per disagreeing
    hearing.
-#}

with

hearings as (

    select * from {{ ref('fct_court_hearings') }}

),

hearing_types as (

    select * from {{ ref('dim_hearing_type') }}
    where not is_default_member

),

validation_errors as (

    select
        hearings.hearing_id,
        hearings.hearing_type_key,
        hearings.is_effective,
        hearing_types.is_effective as hearing_type_is_effective
    from hearings
    inner join hearing_types
        on hearings.hearing_type_key = hearing_types.hearing_type_key
    where hearings.is_effective != hearing_types.is_effective

)

select * from validation_errors
