{#
    The OPG chain, incremental: how int_lpa_applications_enriched,
    int_donors_deduplicated and dim_donor (config meta `touched_by:
    int_lpa_applications_touched`) take in a daily extract, recomputing only
    the applications and donors it touched (macros/chains/patched_chain.sql
    for the mechanism, docs/performance.md). Each is `delete+insert` on its
    key; int_lpa_applications_touched, rebuilt on every run before them, lists
    the touched keys and reads the stored int_lpa_applications_enriched as
    the last build left it.

    A row of int_lpa_applications_enriched is a function of one application's
    versions (stg_sirius__lpa_application_history) and of its attorneys
    (stg_sirius__attorneys). An application is touched when a version of it
    or one of its attorneys was restaged in this invocation, or when its
    stored number of attorneys differs from a count of the staged ones (an
    attorney re-delivered under another application leaves the one it was
    on). A row of int_donors_deduplicated and of dim_donor is a function of
    the donor's current applications and of seeds: a donor is touched when
    it is the donor of a restaged application, now or as the stored table
    held it (an application re-delivered under another donor). A touched
    donor that no longer has an application is deleted (the pre-hook
    delete_touched_donors). fct_lpa_applications compares only the touched
    applications' rows and its '-2' rows (an application's donor key is
    resolved from its own donor id; its region and type from seeds).

    Rebuilt in full together (patched_chain_full_rebuild_reason) on
    --full-refresh, when a Sirius staging model was rebuilt in full or did
    not run in this invocation, or when int_lpa_applications_enriched is
    missing. A change in the seed ref_postcode_areas needs --full-refresh.
#}

{#- The incremental staging models the OPG chain reads, by role. -#}
{% macro opg_chain_staging_models() -%}
    {{ return({
        'applications': 'stg_sirius__lpa_application_history',
        'attorneys': 'stg_sirius__attorneys',
    }) }}
{%- endmacro %}

{#
    The CTEs of a run patched by key (touched_key_ctes), each ending with a
    comma: touched_applications (lpa_id) and touched_donors (donor_id), from
    int_lpa_applications_touched.
#}
{% macro opg_touched_ctes() -%}
    {{ return(touched_key_ctes('int_lpa_applications_touched', {
        'touched_applications': 'lpa_id',
        'touched_donors': 'donor_id',
    })) }}
{%- endmacro %}

{#
    pre-hook of int_donors_deduplicated and dim_donor: on a run patched by
    key, deletes the rows of the touched donors (`column`: the model's donor
    id, clear or pseudonymised, the touched table's column of the same
    name), so that a donor left without an application goes; the others are
    inserted again with the batch. `select 1` otherwise.
#}
{% macro delete_touched_donors(column) -%}
    {%- if execute and model.resource_type == 'model'
        and patched_chain_is_patched('int_lpa_applications_touched') -%}
        {%- set touched = ref('int_lpa_applications_touched') -%}
        {{ return(delete_rows_by_key(
            this, 'donor_id',
            'select ' ~ column ~ ' as donor_id from ' ~ touched
            ~ ' where ' ~ column ~ ' is not null')) }}
    {%- endif -%}
    select 1
{%- endmacro %}
