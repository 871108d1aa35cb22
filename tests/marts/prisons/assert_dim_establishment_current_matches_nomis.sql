{#-
    The current version of each establishment in dim_establishment shows the
    attributes of the current NOMIS version (stg_nomis__establishments):
    merging unchanged versions must never lose or alter the latest values.
    Fails with one row per establishment whose attributes differ.
-#}

with

dimension_current as (

    select * from {{ ref('dim_establishment') }}
    where is_current and not is_default_member

),

nomis_current as (

    select * from {{ ref('stg_nomis__establishments') }}

),

validation_errors as (

    select
        nomis_current.establishment_code,
        nomis_current.operational_capacity as nomis_operational_capacity,
        dimension_current.operational_capacity,
        nomis_current.security_category_code as nomis_security_category_code,
        dimension_current.security_category_code
    from nomis_current
    left join dimension_current
        on
            nomis_current.establishment_code
            = dimension_current.establishment_code
    where
        dimension_current.establishment_code is null
        or nomis_current.operational_capacity
        is distinct from dimension_current.operational_capacity
        or nomis_current.certified_normal_accommodation
        is distinct from dimension_current.certified_normal_accommodation
        or nomis_current.security_category_code
        is distinct from dimension_current.security_category_code
        or nomis_current.is_operational
        is distinct from dimension_current.is_operational
        or nomis_current.is_deleted
        is distinct from dimension_current.is_deleted

)

select * from validation_errors
