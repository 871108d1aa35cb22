{#-
    The type 2 versions of each prison establishment, ready for
    dim_establishment: one row per establishment and version.

    - NOMIS versions whose tracked attributes (capacity, CNA, security
      category, operational and deleted flags) equal those of the previous
      version are merged into it (scd2_changed_versions()): a new dimension
      row only when an attribute the dimension shows has changed.
    - The first NOMIS version is valid from the establishment's opening date
      (seed `opened_date`), or from its NOMIS time when that is earlier. An
      establishment that opened after 1900-01-01 gets a pre-opening version
      before that, from 1900-01-01, with unknown (null) capacity and
      attributes and is_operational false: an event or snapshot dated before
      the opening still finds a version, and shows no capacity. Without an
      opening date (a code the seed does not hold), the first version is
      valid from the beginning of time (1900-01-01, or its NOMIS time when
      earlier).
    - Establishments of the reference seed that NOMIS holds no version of get
      one version with unknown (null) attributes, so the dimension lists them.
    - The pre-opening and reference-only versions' attributes are unknown
      (unrecorded_establishment_attributes()).
    - version_number, valid_to and is_current are derived after all that
      (version_validity(), as staging does). source_valid_from keeps the
      NOMIS time (null on versions NOMIS did not record).
-#}
{%- set beginning_of_time = "cast('1900-01-01' as "
    ~ dbt.type_timestamp() ~ ")" -%}
{%- set tracked_columns = [
    'operational_capacity', 'certified_normal_accommodation',
    'security_category_code', 'is_operational', 'is_deleted',
] -%}

with

establishment_history as (

    select * from {{ ref('stg_nomis__establishment_history') }}

),

establishments as (

    select * from {{ ref('ref_prison_establishments') }}

),

-- the NOMIS versions that change a tracked attribute; the others are merged
-- into the version before them
changed_versions as (

    {{ scd2_changed_versions(
        'establishment_history', 'establishment_code', tracked_columns,
    ) }}

),

first_source_versions as (

    select
        establishment_code,
        min(valid_from) as first_source_valid_from
    from changed_versions
    group by establishment_code

),

openings as (

    select
        establishment_code,
        cast(opened_date as {{ dbt.type_timestamp() }}) as opened_at
    from establishments

),

first_versions as (

    select
        first_source_versions.establishment_code,
        first_source_versions.first_source_valid_from,
        case
            when openings.opened_at is not null
                then case
                    when
                        openings.opened_at
                        < first_source_versions.first_source_valid_from
                        then openings.opened_at
                    else first_source_versions.first_source_valid_from
                end
            when
                first_source_versions.first_source_valid_from
                < {{ beginning_of_time }}
                then first_source_versions.first_source_valid_from
            else {{ beginning_of_time }}
        end as first_valid_from
    from first_source_versions
    left join openings
        on
            first_source_versions.establishment_code
            = openings.establishment_code

),

nomis_versions as (

    select
        changed_versions.establishment_code,
        changed_versions.operational_capacity,
        changed_versions.certified_normal_accommodation,
        changed_versions.security_category_code,
        changed_versions.is_operational,
        changed_versions.is_deleted,
        changed_versions.valid_from as source_valid_from,
        case
            when
                changed_versions.valid_from
                = first_versions.first_source_valid_from
                then first_versions.first_valid_from
            else changed_versions.valid_from
        end as valid_from
    from changed_versions
    inner join first_versions
        on
            changed_versions.establishment_code
            = first_versions.establishment_code

),

pre_opening_versions as (

    select
        establishment_code,
        {{ unrecorded_establishment_attributes('false', 'false') }}
        {{ beginning_of_time }} as valid_from
    from first_versions
    where first_valid_from > {{ beginning_of_time }}

),

establishments_without_history as (

    select
        establishments.establishment_code,
        {{ unrecorded_establishment_attributes(
            'cast(null as ' ~ dbt.type_boolean() ~ ')',
            'cast(null as ' ~ dbt.type_boolean() ~ ')',
        ) }}
        {{ beginning_of_time }} as valid_from
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

    select * from nomis_versions
    union all
    select * from pre_opening_versions
    union all
    select * from establishments_without_history

),

versions_sequenced as (

    {{ version_validity(
        'versions_unioned', 'establishment_code', 'establishment_version_id'
    ) }}

),

final as (

    select
        establishment_code,
        cast(version_number as {{ dbt.type_int() }}) as version_number,
        operational_capacity,
        certified_normal_accommodation,
        security_category_code,
        is_operational,
        is_deleted,
        source_valid_from,
        valid_from,
        valid_to,
        is_current
    from versions_sequenced

)

select * from final
