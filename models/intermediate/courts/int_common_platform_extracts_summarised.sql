{#-
    One row: the window of the Common Platform data the court facts are built
    from. as_of_date is the latest extraction date of any Common Platform
    table (the extract the warehouse is as of, even when it delivered no
    hearing); no court business date is later.
-#}

with

case_history as (

    select * from {{ ref('stg_common_platform__case_history') }}

),

case_offences as (

    select * from {{ ref('stg_common_platform__case_offences') }}

),

defendant_history as (

    select * from {{ ref('stg_common_platform__defendant_history') }}

),

hearings as (

    select * from {{ ref('stg_common_platform__hearings') }}

),

outcomes as (

    select * from {{ ref('stg_common_platform__outcomes') }}

),

as_of as (

    {{ latest_extraction_date([
        'case_history',
        'case_offences',
        'defendant_history',
        'hearings',
        'outcomes',
    ]) }}

),

final as (

    select as_of.as_of_date
    from as_of

)

select * from final
