{#-
    The junk dimension dim_lpa_attributes is built from fixed code lists, so
    it must hold every combination of LPA type and channel that the
    applications actually carry; otherwise those applications would fall back
    to the 'not yet arrived' member. Fails with one row per uncovered
    combination.
-#}

with

applications as (

    select * from {{ ref('stg_sirius__lpa_applications') }}

),

lpa_attributes as (

    select * from {{ ref('dim_lpa_attributes') }}
    where not is_default_member

),

observed_combinations as (

    select distinct
        lpa_type_code,
        channel_code
    from applications
    where lpa_type_code is not null or channel_code is not null

),

validation_errors as (

    select
        observed_combinations.lpa_type_code,
        observed_combinations.channel_code
    from observed_combinations
    left join lpa_attributes
        on
            observed_combinations.lpa_type_code
            = lpa_attributes.lpa_type_code
            and observed_combinations.channel_code
            = lpa_attributes.channel_code
    where lpa_attributes.lpa_attributes_key is null

)

select * from validation_errors
