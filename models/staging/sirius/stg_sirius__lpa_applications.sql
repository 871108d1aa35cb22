with

lpa_application_history as (

    select * from {{ ref('stg_sirius__lpa_application_history') }}

),

final as (

    select * from lpa_application_history
    where is_current

)

select * from final
