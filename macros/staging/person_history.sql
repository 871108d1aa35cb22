{#
    The body of a person-history staging model (stg_<system>__<person>_history):
    every version of a person record of a curated source, one row per natural
    key and `valid_from`, standardised, versioned and flagged. The three
    person sources (Common Platform defendants, NOMIS and nDelius offenders)
    deliver the same person columns; only what differs is passed in:

      relation        the import CTE of the curated source table
      natural_key     the system's person id (`defendant_id`, `prison_number`,
                      `crn`), standardised with standardise_id()
      version_key     name of the version key to create
      min_age_years   youngest plausible age, for is_date_of_birth_invalid
      postcode_areas  import CTE of the known postcode areas (a
                      `postcode_area` column), for is_postcode_area_unknown
      extra_codes     the system's own code columns, in output order: a
                      mapping of column name -> import CTE of its known codes
                      (a column of the same name), or none when the code is
                      not checked. Each is standardised with standardise_code()
                      and listed after `postcode_area`; each with known codes
                      adds the flag `is_<column>_unknown` after
                      `is_postcode_area_unknown`.

    Steps: rename and cast, keep the latest delivery of each version and
    recompute the SCD2 columns (staged_versions: on an incremental run, only
    for the persons delivered since the watermark), derive the postcode
    area, flag. Returns one `with ... select` statement:
    use it as the body of the model's `final` CTE; its own CTEs (`renamed`,
    `versioned`, `with_postcode_area`, `flagged`) must not be
    the names of the model's import CTEs. Portable SQL.
#}
{% macro person_history(
    relation,
    natural_key,
    version_key,
    min_age_years,
    postcode_areas,
    extra_codes={}
) -%}
with

renamed as (

    select
        -- ids
        {{ standardise_id(natural_key) }} as {{ natural_key }},
        {{ standardise_code('pnc_id') }} as pnc_id,

        -- strings
        {{ standardise_name('first_name') }} as first_name,
        {{ standardise_name('last_name') }} as last_name,
        {{ standardise_code('gender_code') }} as gender_code,
        {{ standardise_postcode('postcode') }} as postcode,
        {%- for code in extra_codes %}
        {{ standardise_code(code) }} as {{ code }},
        {%- endfor %}

        -- booleans
        cast(_is_current as {{ dbt.type_boolean() }}) as source_is_current,
        cast(_is_deleted as {{ dbt.type_boolean() }}) as is_deleted,

        -- dates
        {{ dbt.safe_cast('date_of_birth', 'date') }} as date_of_birth,
        cast(extraction_date as date) as extraction_date,

        -- timestamps
        cast(_valid_from as {{ dbt.type_timestamp() }}) as valid_from,
        cast(_valid_to as {{ dbt.type_timestamp() }}) as source_valid_to,
        cast(_extracted_at as {{ dbt.type_timestamp() }}) as extracted_at

    from {{ relation }}
    {{ restaged_keys(standardise_id(natural_key)) }}

),

versioned as (

    {{ staged_versions(
        'renamed',
        natural_key=natural_key,
        version_key=version_key,
    ) }}

),

with_postcode_area as (

    select
        *,
        {{ postcode_area('postcode') }} as postcode_area
    from versioned

),

flagged as (

    select
        -- ids
        with_postcode_area.{{ version_key }},
        with_postcode_area.{{ natural_key }},
        with_postcode_area.pnc_id,

        -- strings
        with_postcode_area.first_name,
        with_postcode_area.last_name,
        with_postcode_area.gender_code,
        with_postcode_area.postcode,
        with_postcode_area.postcode_area,
        {%- for code in extra_codes %}
        with_postcode_area.{{ code }},
        {%- endfor %}

        -- numerics
        with_postcode_area.version_number,

        -- booleans
        with_postcode_area.is_current,
        with_postcode_area.is_deleted,
        with_postcode_area.pnc_id is null as has_missing_pnc_id,
        {{ is_pnc_id_invalid('with_postcode_area.pnc_id') }}
            as is_pnc_id_invalid,
        {{ is_date_of_birth_invalid(
            'with_postcode_area.date_of_birth',
            'with_postcode_area.extraction_date',
            min_age_years=min_age_years,
        ) }} as is_date_of_birth_invalid,
        with_postcode_area.postcode is null as has_missing_postcode,
        {{ is_postcode_invalid('with_postcode_area.postcode') }}
            as is_postcode_invalid,
        {{ is_code_unknown(
            'with_postcode_area.postcode_area',
            postcode_areas ~ '.postcode_area',
        ) }} as is_postcode_area_unknown,
        {%- for code, known_codes in extra_codes.items() if known_codes %}
        {{ is_code_unknown(
            'with_postcode_area.' ~ code,
            known_codes ~ '.' ~ code,
        ) }} as is_{{ code }}_unknown,
        {%- endfor %}
        {{ has_inconsistent_source_validity('with_postcode_area') }}
            as has_inconsistent_source_validity,

        -- dates
        with_postcode_area.date_of_birth,
        with_postcode_area.extraction_date,

        -- timestamps
        with_postcode_area.valid_from,
        with_postcode_area.valid_to,
        with_postcode_area.extracted_at

    from with_postcode_area
    left join {{ postcode_areas }}
        on with_postcode_area.postcode_area = {{ postcode_areas }}.postcode_area
    {%- for code, known_codes in extra_codes.items() if known_codes %}
    left join {{ known_codes }}
        on with_postcode_area.{{ code }} = {{ known_codes }}.{{ code }}
    {%- endfor %}

)

select * from flagged
{%- endmacro %}
