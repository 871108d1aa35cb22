{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='lpa_id',
        on_schema_change='fail',
        meta={'grain_source': 'int_lpa_applications_enriched'},
    )
}}

{#-
    Accumulating snapshot, one row per lasting power of attorney application,
    from receipt to its outcome (registered, rejected or withdrawn).

    Incremental (delete+insert on lpa_id): a run reloads the applications
    that are new, that have a '-2' key, or whose row would differ now (its
    status, dates, counts, donor, region or type and channel:
    accumulating_snapshot_rows_to_load); the date keys are resolved for
    those only. Patched by key (macros/opg/opg_chain.sql), only the
    applications int_lpa_applications_touched lists and the '-2' ones are
    compared. Rebuilt in full when an application left
    int_lpa_applications_enriched (grain_source_full_rebuild_reason).

    Milestone date keys: the dim_date key of the milestone's date when it has
    happened; '-3' (not applicable) for an outcome the application has not
    reached (a registered application's rejected and withdrawn dates, every
    outcome date of a pending application); '-1' (missing) when the date is
    null although the status says the milestone happened (and for a null
    received date).
-#}

{%- set default_keyed_columns = [
    'received_date_key', 'registered_date_key', 'rejected_date_key',
    'withdrawn_date_key', 'outcome_date_key', 'donor_key', 'region_key',
    'lpa_attributes_key',
] %}

with

{{ opg_touched_ctes() }}

applications as (

    select * from {{ ref('int_lpa_applications_enriched') }}
    {%- if patched_chain_is_patched('int_lpa_applications_touched') %}
    where
        lpa_id in (select lpa_id from touched_applications)
        or {{ stored_not_yet_arrived('lpa_id', default_keyed_columns) }}
    {%- endif %}

),

dates as (

    select * from {{ ref('dim_date') }}
    where not is_default_member

),

donors as (

    select * from {{ ref('dim_donor') }}
    where not is_default_member

),

postcode_areas as (

    select * from {{ ref('dim_postcode_area') }}
    where not is_default_member

),

lpa_attributes as (

    select * from {{ ref('dim_lpa_attributes') }}
    where not is_default_member

),

-- the keys of the other dimensions, resolved for every application (cheap
-- joins) so that a changed one reloads the row
applications_resolved as (

    select
        applications.*,
        {{ dimension_key(
            'donors.donor_key', 'applications.donor_id'
        ) }} as donor_key,
        -- the donor's region from the postcode on this application
        {{ dimension_key(
            'postcode_areas.region_key', 'applications.donor_postcode_area'
        ) }} as region_key,
        -- missing type or channel: '-1'; a combination not in the junk
        -- dimension (an unknown code): '-2'
        {{ dimension_key(
            'lpa_attributes.lpa_attributes_key',
            'case when applications.channel_code is not null'
            ~ ' then applications.lpa_type_code end',
        ) }} as lpa_attributes_key
    from applications
    left join donors
        on applications.pseudonymised_donor_id = donors.donor_id
    left join postcode_areas
        on applications.donor_postcode_area = postcode_areas.postcode_area
    left join lpa_attributes
        on
            applications.lpa_type_code = lpa_attributes.lpa_type_code
            and applications.channel_code = lpa_attributes.channel_code

),

-- applications_resolved_to_load: the applications this run loads (all of
-- them on a full refresh)
{{ accumulating_snapshot_rows_to_load(
    rows='applications_resolved',
    unique_key='lpa_id',
    compared_columns=[
        'donor_key', 'region_key', 'lpa_attributes_key', 'status_code',
        'donor_age_at_receipt', 'number_of_attorneys',
        'number_of_primary_attorneys', 'number_of_replacement_attorneys',
        'days_received_to_registered', 'days_received_to_outcome',
        'is_registered', 'is_rejected', 'is_withdrawn', 'is_pending',
        'is_deleted', 'received_date', 'registered_date', 'rejected_date',
        'withdrawn_date', 'outcome_date',
    ],
    default_keyed_columns=default_keyed_columns,
) }}

-- applications_keyed: the applications loaded, with their milestone date keys
{{ role_playing_date_keys(
    'applications_keyed',
    rows='applications_resolved_to_load',
    alias='applications',
    date_keys={
        'received_date_key': 'received_date',
        'registered_date_key': 'registered_date',
        'rejected_date_key': 'rejected_date',
        'withdrawn_date_key': 'withdrawn_date',
        'outcome_date_key': 'outcome_date',
    },
    applies={
        'registered_date_key': 'applications.registered_date is not null'
        ~ ' or applications.is_registered',
        'rejected_date_key': 'applications.rejected_date is not null'
        ~ ' or applications.is_rejected',
        'withdrawn_date_key': 'applications.withdrawn_date is not null'
        ~ ' or applications.is_withdrawn',
        'outcome_date_key': 'not applications.is_pending',
    },
) }}

final as (

    select
        cast(lpa_id as {{ dbt.type_string() }}) as lpa_id,
        cast(received_date_key as {{ dbt.type_string() }})
            as received_date_key,
        cast(registered_date_key as {{ dbt.type_string() }})
            as registered_date_key,
        cast(rejected_date_key as {{ dbt.type_string() }})
            as rejected_date_key,
        cast(withdrawn_date_key as {{ dbt.type_string() }})
            as withdrawn_date_key,
        cast(outcome_date_key as {{ dbt.type_string() }})
            as outcome_date_key,
        cast(donor_key as {{ dbt.type_string() }}) as donor_key,
        cast(region_key as {{ dbt.type_string() }}) as region_key,
        cast(lpa_attributes_key as {{ dbt.type_string() }})
            as lpa_attributes_key,
        cast(status_code as {{ dbt.type_string() }}) as status_code,
        cast(donor_age_at_receipt as {{ dbt.type_int() }})
            as donor_age_at_receipt,
        cast(number_of_attorneys as {{ dbt.type_int() }})
            as number_of_attorneys,
        cast(number_of_primary_attorneys as {{ dbt.type_int() }})
            as number_of_primary_attorneys,
        cast(number_of_replacement_attorneys as {{ dbt.type_int() }})
            as number_of_replacement_attorneys,
        cast(days_received_to_registered as {{ dbt.type_int() }})
            as days_received_to_registered,
        cast(days_received_to_outcome as {{ dbt.type_int() }})
            as days_received_to_outcome,
        is_registered,
        is_rejected,
        is_withdrawn,
        is_pending,
        is_deleted,
        received_date,
        registered_date,
        rejected_date,
        withdrawn_date,
        outcome_date
    from applications_keyed

)

select * from final
