with

linked_records as (

    select * from {{ ref('int_person_records_linked') }}

),

final as (

    select
        system,
        record_id,
        person_id,
        {{ pseudonymise('person_id') }} as pseudonymised_person_id
    from linked_records

)

select * from final
