{#-
    What this run's OPG chain recomputes (macros/opg/opg_chain.sql): the
    touched applications (lpa_id), the touched donors (donor_id, with its
    pseudonym as dim_donor.donor_id), and one row naming the invocation, with
    the reason when the chain is rebuilt in full (then no other row). Built
    before int_lpa_applications_enriched, so it reads its table as the last
    build left it: the donor an application had, its attorney counts.
-#}
{%- set marks = patched_chain_watermarks(
    opg_chain_staging_models(), ['int_lpa_applications_enriched'],
) if execute else 'not executing' -%}
{%- set columns = ['lpa_id', 'donor_id', 'pseudonymised_donor_id'] -%}
{%- set stored = patched_chain_stored_relation(
    'int_lpa_applications_enriched') if marks is not string else none %}
-- depends_on: {{ ref('stg_sirius__lpa_application_history') }}
-- depends_on: {{ ref('stg_sirius__attorneys') }}

with

-- the one row saying which invocation wrote this table, and why the OPG
-- chain is rebuilt in full in it (null when it is patched by key)
invocation as (

    {{ patched_chain_invocation(marks, columns) }}

),

{% if marks is not string %}
application_history as (

    select * from {{ ref('stg_sirius__lpa_application_history') }}

),

attorneys as (

    select * from {{ ref('stg_sirius__attorneys') }}

),

stored_applications as (

    select * from {{ stored }}

),

restaged_applications as (

    select lpa_id, donor_id from application_history
    where {{ patched_chain_restaged(
        'application_history', marks, 'applications') }}

),

restaged_attorneys as (

    select lpa_id from attorneys
    where {{ patched_chain_restaged('attorneys', marks, 'attorneys') }}

),

-- an attorney re-delivered under another application leaves the one it
-- was on without a trace in the restaged rows: the applications whose
-- stored number of attorneys (when not none) differs from a count of the
-- staged ones (one that gained an attorney holds a restaged one)
recounted_applications as (

    select lpa_id, number_of_attorneys from stored_applications
    where number_of_attorneys > 0
    except
    select
        lpa_id,
        cast(count(*) as {{ dbt.type_int() }}) as number_of_attorneys
    from attorneys
    group by lpa_id

),

touched_applications as (

    select lpa_id from restaged_applications
    union
    select lpa_id from restaged_attorneys
    union
    select lpa_id from recounted_applications

),

-- a donor's row is a function of its applications: the donors of the
-- restaged applications, now and as the stored table held them
touched_donors as (

    select donor_id from restaged_applications
    union
    select stored_applications.donor_id
    from stored_applications
    inner join restaged_applications
        on stored_applications.lpa_id = restaged_applications.lpa_id

),
{% endif %}

final as (

    select * from invocation
    {%- if marks is not string %}
    union all
    {{ touched_key_rows(
        'touched_applications', {'lpa_id': 'lpa_id'}, columns) }}
    union all
    {{ touched_key_rows(
        'touched_donors',
        {
            'donor_id': 'donor_id',
            'pseudonymised_donor_id': pseudonymise('donor_id'),
        },
        columns,
    ) }}
    {%- endif %}

)

select * from final
