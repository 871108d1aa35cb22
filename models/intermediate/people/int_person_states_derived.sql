{#-
    The state of each linked person at every moment one of the person's record
    versions starts (a candidate change point), from the versions of all the
    person's records live then (not soft-deleted):
      home postcode area  from the record whose address changed most recently
      probation PDU       from the probation record whose PDU changed last
      record counts       live records per system
    int_person_versions keeps the change points where the state differs from
    the one before, as the person's SCD2 versions.
    Incremental (macros/people/person_chain.sql): a daily run recomputes
    every state of the persons whose records or links changed.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='person_id',
        on_schema_change='fail',
        meta={'person_chain': 'persons'},
        pre_hook="{{ delete_vanished_persons() }}",
    )
}}

with

linked_records as (

    select * from {{ ref('int_person_records_linked') }}

),

record_versions_dated as (

    select * from {{ ref('int_person_record_versions_dated') }}

),

{{ persons_touched_ctes(
    ref('int_person_records_linked'), ref('int_person_records_unioned')
) }}

person_record_versions as (

    select
        linked_records.person_id,
        record_versions_dated.*
    from record_versions_dated
    inner join linked_records
        on
            record_versions_dated.system = linked_records.system
            and record_versions_dated.record_id = linked_records.record_id
    where {{ person_is_touched('linked_records.person_id') }}

),

change_points as (

    select distinct
        person_id,
        valid_from as changed_at
    from person_record_versions

),

-- each change point with the record versions live at that moment
live_versions as (

    select
        change_points.person_id,
        change_points.changed_at,
        versions.system,
        versions.record_id,
        versions.postcode_area,
        versions.pdu_code,
        versions.address_since,
        versions.pdu_since,
        versions.valid_from
    from change_points
    inner join person_record_versions as versions
        on
            change_points.person_id = versions.person_id
            and change_points.changed_at >= versions.valid_from
            and coalesce(
                change_points.changed_at < versions.valid_to, true
            )
    where not versions.is_deleted

),

home_addresses_ranked as (

    select
        person_id,
        changed_at,
        postcode_area,
        row_number() over (
            partition by person_id, changed_at
            order by
                address_since desc,
                valid_from desc,
                system asc,
                record_id asc
        ) as address_rank
    from live_versions
    where postcode_area is not null

),

probation_units_ranked as (

    select
        person_id,
        changed_at,
        pdu_code,
        row_number() over (
            partition by person_id, changed_at
            order by pdu_since desc, valid_from desc, record_id asc
        ) as pdu_rank
    from live_versions
    where system = 'delius' and pdu_code is not null

),

-- each record live at a change point, once: a plain distinct, then plain
-- counts (DuckDB cannot spill a count(distinct ...) per group: at scale 100
-- it ran out of memory here)
live_records as (

    select distinct
        person_id,
        changed_at,
        system,
        record_id
    from live_versions

),

record_counts as (

    select
        person_id,
        changed_at,
        count(
            case when system = 'common_platform' then record_id end
        ) as court_record_count,
        count(
            case when system = 'nomis' then record_id end
        ) as prison_record_count,
        count(
            case when system = 'delius' then record_id end
        ) as probation_record_count
    from live_records
    group by person_id, changed_at

),

states as (

    select
        change_points.person_id,
        change_points.changed_at,
        home_addresses.postcode_area as home_postcode_area,
        probation_units.pdu_code as probation_pdu_code,
        cast(coalesce(record_counts.court_record_count, 0) as integer)
            as court_record_count,
        cast(coalesce(record_counts.prison_record_count, 0) as integer)
            as prison_record_count,
        cast(coalesce(record_counts.probation_record_count, 0) as integer)
            as probation_record_count
    from change_points
    left join home_addresses_ranked as home_addresses
        on
            change_points.person_id = home_addresses.person_id
            and change_points.changed_at = home_addresses.changed_at
            and home_addresses.address_rank = 1
    left join probation_units_ranked as probation_units
        on
            change_points.person_id = probation_units.person_id
            and change_points.changed_at = probation_units.changed_at
            and probation_units.pdu_rank = 1
    left join record_counts
        on
            change_points.person_id = record_counts.person_id
            and change_points.changed_at = record_counts.changed_at

),

final as (

    select * from states

)

select * from final
