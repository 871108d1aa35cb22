{#-
    A case has one principal offence, and an offence one outcome, so at most
    one outcome per case is flagged is_principal_offence (none while the
    principal offence's outcome has not arrived). Fails with one row per case
    with more.
-#}

with

outcomes as (

    select * from {{ ref('fct_case_outcomes') }}

),

validation_errors as (

    select
        case_id,
        count(*) as number_of_principal_outcomes
    from outcomes
    where is_principal_offence
    group by case_id
    having count(*) > 1

)

select * from validation_errors
