{#-
    dim_donor is built from the same applications as the fact, so every
    application's donor must resolve: a donor key '-2' (not yet arrived) can
    only come from a broken join (e.g. the pseudonyms of the fact and the
    dimension computed differently). Fails with one row per such application.
-#}

with

applications as (

    select * from {{ ref('fct_lpa_applications') }}

),

validation_errors as (

    select
        lpa_id,
        donor_key
    from applications
    where donor_key = {{ default_member_key('not_yet_arrived') }}

)

select * from validation_errors
