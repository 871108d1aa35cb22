{#-
    One row: the window of the Sirius data the OPG facts are built from.
    as_of_date is the latest extraction date of any Sirius table (the extract
    the warehouse is as of, even when it delivered no application); no OPG
    business date is later.
-#}

with

lpa_application_history as (

    select * from {{ ref('stg_sirius__lpa_application_history') }}

),

attorneys as (

    select * from {{ ref('stg_sirius__attorneys') }}

),

as_of as (

    {{ latest_extraction_date([
        'lpa_application_history',
        'attorneys',
    ]) }}

),

final as (

    select as_of.as_of_date
    from as_of

)

select * from final
