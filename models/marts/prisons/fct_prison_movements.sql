{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='movement_id',
        on_schema_change='fail',
    )
}}

{#-
    Transaction fact, one row per prison movement (admission, transfer or
    release). The establishments are role-playing: from (not applicable to
    an admission) and to (not applicable to a release), each the
    dim_establishment version valid at the movement time; the region is the
    one of the establishment the movement concerns (the receiving one for an
    admission or a transfer, the releasing one for a release).

    Incremental (delete+insert on movement_id; keyed_fact_rows_to_load()).
    A run loads:
      (a) movements delivered by an extract newer than the high-water mark
          max(extracted_at) of the table (new and late movements), and
          movements not in the table yet;
      (b) stored movements whose keys resolve differently now: a '-2' key
          whose dimension row has arrived, a person whose linkage or SCD2
          history changed, an establishment version that changed.
    Every column is a function of the movement and the dimensions, so an
    incremental run gives the same table as a full refresh.
-#}

{{ check_high_water_mark(
    ref('stg_nomis__movements'),
    'extracted_at',
) }}

with

movements as (

    select * from {{ ref('stg_nomis__movements') }}

),

person_records as (

    select * from {{ ref('int_person_record_keys') }}
    where system = 'nomis'

),

persons as (

    select * from {{ ref('dim_person') }}
    where not is_default_member

),

establishment_versions as (

    select * from {{ ref('dim_establishment') }}
    where not is_default_member

),

movement_reasons as (

    select * from {{ ref('dim_movement_reason') }}
    where not is_default_member

),

dates as (

    select * from {{ ref('dim_date') }}
    where not is_default_member

),

movements_keyed as (

    select
        movements.movement_id,
        movements.booking_id,
        {{ dimension_key('dates.date_key', 'movements.movement_date') }}
            as date_key,
        {{ dimension_key('persons.person_key', 'movements.prison_number') }}
            as person_key,
        {{ dimension_key(
            'from_establishments.establishment_key',
            'movements.from_establishment_code',
            applies="movements.movement_type_code is distinct from 'ADM'",
        ) }} as from_establishment_key,
        {{ dimension_key(
            'to_establishments.establishment_key',
            'movements.to_establishment_code',
            applies="movements.movement_type_code is distinct from 'REL'",
        ) }} as to_establishment_key,
        {{ dimension_key(
            'movement_reasons.movement_reason_key',
            'movements.movement_reason_code',
        ) }} as movement_reason_key,
        {{ dimension_key(
            "case when movements.movement_type_code = 'REL'"
            ~ " then from_establishments.region_key"
            ~ " else to_establishments.region_key end",
            "case when movements.movement_type_code = 'REL'"
            ~ " then movements.from_establishment_code"
            ~ " else movements.to_establishment_code end",
        ) }} as region_key,
        movements.movement_type_code,
        movements.movement_at,
        movements.extracted_at
    from movements
    left join dates
        on movements.movement_date = dates.date_day
    left join person_records
        on movements.prison_number = person_records.record_id
    left join persons
        on
            person_records.pseudonymised_person_id = persons.person_id
            and {{ scd2_valid_at(
                'persons', 'movements.movement_at', current_if_null=false
            ) }}
    left join establishment_versions as from_establishments
        on
            movements.from_establishment_code
            = from_establishments.establishment_code
            and {{ scd2_valid_at(
                'from_establishments',
                'movements.movement_at',
                current_if_null=false,
            ) }}
    left join establishment_versions as to_establishments
        on
            movements.to_establishment_code
            = to_establishments.establishment_code
            and {{ scd2_valid_at(
                'to_establishments',
                'movements.movement_at',
                current_if_null=false,
            ) }}
    left join movement_reasons
        on
            movements.movement_reason_code
            = movement_reasons.movement_reason_code

),

{{ keyed_fact_rows_to_load(
    'movements_keyed',
    'movement_id',
    [
        'date_key', 'person_key', 'from_establishment_key',
        'to_establishment_key', 'movement_reason_key', 'region_key',
    ],
) }}

final as (

    select
        cast(movement_id as {{ dbt.type_string() }}) as movement_id,
        cast(booking_id as {{ dbt.type_string() }}) as booking_id,
        cast(date_key as {{ dbt.type_string() }}) as date_key,
        cast(person_key as {{ dbt.type_string() }}) as person_key,
        cast(from_establishment_key as {{ dbt.type_string() }})
            as from_establishment_key,
        cast(to_establishment_key as {{ dbt.type_string() }})
            as to_establishment_key,
        cast(movement_reason_key as {{ dbt.type_string() }})
            as movement_reason_key,
        cast(region_key as {{ dbt.type_string() }}) as region_key,
        cast(movement_type_code as {{ dbt.type_string() }})
            as movement_type_code,
        movement_at,
        extracted_at
    from rows_to_load

)

select * from final
