{#-
    The type 2 versions of each prison establishment, ready for
    dim_establishment: one row per establishment and version.

    - NOMIS versions whose tracked attributes (capacity, CNA, security
      category, operational and deleted flags) equal those of the previous
      version are merged into it: a new dimension row only when an attribute
      the dimension shows has changed.
    - Establishments of the reference seed that NOMIS holds no version of get
      one version with unknown (null) attributes, so the dimension lists them.
    - valid_to, is_current and version_number are derived again after the
      merge; the first version of each establishment is valid from the
      beginning of time (1900-01-01, or its NOMIS time when earlier), so an
      event older than the first NOMIS record still finds a version.
      source_valid_from keeps the NOMIS time.
-#}
{%- set beginning_of_time = "cast('1900-01-01' as "
    ~ dbt.type_timestamp() ~ ")" -%}
{%- set tracked_columns = [
    'operational_capacity',
    'certified_normal_accommodation',
    'security_category_code',
    'is_operational',
    'is_deleted',
] -%}

with

establishment_history as (

    select * from {{ ref('stg_nomis__establishment_history') }}

),

establishments as (

    select * from {{ ref('ref_prison_establishments') }}

),

source_versions as (

    select
        establishment_code,
        operational_capacity,
        certified_normal_accommodation,
        security_category_code,
        is_operational,
        is_deleted,
        valid_from,
        {{ surrogate_key(tracked_columns) }} as tracked_attributes_hash
    from establishment_history

),

changes_flagged as (

    select
        *,
        coalesce(
            tracked_attributes_hash != lag(tracked_attributes_hash) over (
                partition by establishment_code
                order by valid_from
            ),
            true
        ) as is_change
    from source_versions

),

changed_versions as (

    select
        establishment_code,
        operational_capacity,
        certified_normal_accommodation,
        security_category_code,
        is_operational,
        is_deleted,
        valid_from as source_valid_from
    from changes_flagged
    where is_change

),

establishments_without_history as (

    select
        establishments.establishment_code,
        cast(null as {{ dbt.type_int() }}) as operational_capacity,
        cast(null as {{ dbt.type_int() }})
            as certified_normal_accommodation,
        cast(null as {{ dbt.type_string() }}) as security_category_code,
        cast(null as {{ dbt.type_boolean() }}) as is_operational,
        cast(null as {{ dbt.type_boolean() }}) as is_deleted,
        cast(null as {{ dbt.type_timestamp() }}) as source_valid_from
    from establishments
    where not exists (
        select 1
        from establishment_history
        where
            establishment_history.establishment_code
            = establishments.establishment_code
    )

),

versions_unioned as (

    select * from changed_versions
    union all
    select * from establishments_without_history

),

versions_sequenced as (

    select
        *,
        cast(
            row_number()
                over (
                    partition by establishment_code
                    order by source_valid_from
                )
            as {{ dbt.type_int() }}
        ) as version_number,
        lead(source_valid_from) over (
            partition by establishment_code
            order by source_valid_from
        ) as next_source_valid_from
    from versions_unioned

),

final as (

    select
        establishment_code,
        version_number,
        operational_capacity,
        certified_normal_accommodation,
        security_category_code,
        is_operational,
        is_deleted,
        source_valid_from,
        case
            when
                version_number = 1
                and (
                    source_valid_from is null
                    or source_valid_from > {{ beginning_of_time }}
                )
                then {{ beginning_of_time }}
            else source_valid_from
        end as valid_from,
        next_source_valid_from as valid_to,
        next_source_valid_from is null as is_current
    from versions_sequenced

)

select * from final
