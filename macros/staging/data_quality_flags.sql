{#
    Data-quality flags shared by the staging models. Each returns a boolean expression that
    is never null, so a flag is always true or false. Portable SQL.
#}

{#
    A date of birth is invalid when it is missing, or gives an implausible age on `as_of`
    (the extraction date): younger than `min_age_years` (a date in the future always is) or
    older than `max_age_years`.
#}
{% macro is_date_of_birth_invalid(
    date_of_birth, as_of, min_age_years, max_age_years=110
) -%}
    coalesce(
        {{ date_of_birth }} is null
        or {{ date_of_birth }}
            > {{ dbt.dateadd('year', -1 * min_age_years, as_of) }}
        or {{ date_of_birth }}
            < {{ dbt.dateadd('year', -1 * max_age_years, as_of) }},
        true
    )
{%- endmacro %}

{# A UK postcode in the standard format (after standardise_postcode), e.g. 'LS1 4AB'. #}
{% macro is_postcode_invalid(postcode) -%}
    coalesce(
        not {{ regex_full_match(
            postcode, '[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}'
        ) }},
        false
    )
{%- endmacro %}

{# A Police National Computer id: four-digit year, slash, seven digits, check letter. #}
{% macro is_pnc_id_invalid(pnc_id) -%}
    coalesce(not {{ regex_full_match(pnc_id, '[0-9]{4}/[0-9]{7}[A-Z]') }}, false)
{%- endmacro %}

{#
    A code that is present but missing from its reference seed. `known_code` is the seed's
    code column after a left join on the code, so it is null when the code is unknown.
#}
{% macro is_code_unknown(code, known_code) -%}
    ({{ code }} is not null and {{ known_code }} is null)
{%- endmacro %}
