{#-
    Accumulating snapshot, one row per NOMIS booking (a custodial episode,
    from reception to release), rebuilt on every run. Milestones: reception
    (the booking's start date) and release (the end of the booking's last
    stay when the person left custody: the release movement, or the
    booking's end date when that movement has not arrived). The first
    establishment is the one that received the person; the last is where
    they were released from, or are held now. Durations run to the release
    date, or to the as-of date (the latest NOMIS extraction date) while in
    custody. Soft-deleted bookings are left out. The episodes come assembled
    at the level of NOMIS codes (int_custodial_episodes_assembled); this
    model keys them to the conformed dimensions.
-#}

{%- set int_type = dbt.type_int() -%}

with

episodes as (

    select * from {{ ref('int_custodial_episodes_assembled') }}

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

offences as (

    select * from {{ ref('dim_offence') }}
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

-- the keys of the other dimensions and the days in custody
episodes_resolved as (

    select
        episodes.*,
        {{ dimension_key('persons.person_key', 'episodes.prison_number') }}
            as person_key,
        {{ dimension_key(
            'first_establishments.establishment_key',
            'episodes.first_establishment_code',
        ) }} as first_establishment_key,
        {{ dimension_key(
            'last_establishments.establishment_key',
            'episodes.last_establishment_code',
        ) }} as last_establishment_key,
        {{ dimension_key('offences.offence_key', 'episodes.offence_code') }}
            as offence_key,
        {{ dimension_key(
            'first_establishments.region_key',
            'episodes.first_establishment_code',
        ) }} as region_key,
        {{ dimension_key(
            'movement_reasons.movement_reason_key',
            'episodes.release_reason_code',
            applies='episodes.is_released',
        ) }} as release_reason_key,
        {{ dbt.datediff(
            'episodes.reception_date',
            'coalesce(episodes.release_date, episodes.as_of_date)',
            'day',
        ) }} as days_in_custody
    from episodes
    left join person_records
        on episodes.prison_number = person_records.record_id
    left join persons
        on
            person_records.pseudonymised_person_id = persons.person_id
            and {{ scd2_valid_at('persons', 'episodes.reception_date') }}
    -- the reception establishment as it was on the reception date
    left join establishment_versions as first_establishments
        on
            episodes.first_establishment_code
            = first_establishments.establishment_code
            and {{ scd2_valid_at(
                'first_establishments', 'episodes.reception_date'
            ) }}
    -- the last establishment at release, or as it is now while in custody
    left join establishment_versions as last_establishments
        on
            episodes.last_establishment_code
            = last_establishments.establishment_code
            and {{ scd2_valid_at(
                'last_establishments', 'episodes.released_at'
            ) }}
    left join offences
        on episodes.offence_code = offences.offence_code
    left join movement_reasons
        on
            episodes.release_reason_code
            = movement_reasons.movement_reason_code

),

-- episodes_keyed: the episodes with their milestone date keys
{{ role_playing_date_keys(
    'episodes_keyed',
    rows='episodes_resolved',
    alias='episodes',
    date_keys={
        'reception_date_key': 'reception_date',
        'release_date_key': 'release_date',
    },
    applies={'release_date_key': 'episodes.is_released'},
) }}

final as (

    select
        cast(booking_id as {{ dbt.type_string() }}) as booking_id,
        cast(person_key as {{ dbt.type_string() }}) as person_key,
        cast(reception_date_key as {{ dbt.type_string() }})
            as reception_date_key,
        cast(release_date_key as {{ dbt.type_string() }})
            as release_date_key,
        cast(first_establishment_key as {{ dbt.type_string() }})
            as first_establishment_key,
        cast(last_establishment_key as {{ dbt.type_string() }})
            as last_establishment_key,
        cast(offence_key as {{ dbt.type_string() }}) as offence_key,
        cast(region_key as {{ dbt.type_string() }}) as region_key,
        cast(release_reason_key as {{ dbt.type_string() }})
            as release_reason_key,
        cast(sentence_type_code as {{ dbt.type_string() }})
            as sentence_type_code,
        cast(sentence_length_days as {{ int_type }}) as sentence_length_days,
        cast(days_in_custody as {{ int_type }}) as days_in_custody,
        cast(transfer_count as {{ int_type }}) as transfer_count,
        is_remand_only,
        is_released,
        reception_date,
        release_date,
        conditional_release_date
    from episodes_keyed

)

select * from final
