{#
    Standardisation helpers for staging: portable SQL (dbt cross-database macros only).
    Each takes a column expression and returns an expression; empty strings become null.
#}

{# An identifier (natural key): text, trimmed. Case is kept: keys are delivered upper-case. #}
{% macro standardise_id(expression) -%}
    nullif(trim(cast({{ expression }} as {{ dbt.type_string() }})), '')
{%- endmacro %}

{# A code: text, trimmed and upper-cased, so that codes compare equal across systems. #}
{% macro standardise_code(expression) -%}
    nullif(upper(trim(cast({{ expression }} as {{ dbt.type_string() }}))), '')
{%- endmacro %}

{# A name or free text: trimmed, case kept (names are personal data, not codes). #}
{% macro standardise_name(expression) -%}
    nullif(trim(cast({{ expression }} as {{ dbt.type_string() }})), '')
{%- endmacro %}

{#
    A UK postcode: upper case, every space removed, then one space before the inward code
    (the last three characters): ' ls14ab' and 'LS1  4AB' both give 'LS1 4AB'. A value of
    three characters or fewer cannot hold an inward code and is returned without spaces.
#}
{% macro standardise_postcode(expression) -%}
    {%- set compact = dbt.replace(
        "upper(trim(cast(" ~ expression ~ " as " ~ dbt.type_string() ~ ")))", "' '", "''"
    ) -%}
    case
        when {{ dbt.length(compact) }} > 3
            then {{ dbt.concat([
                "substring(" ~ compact ~ ", 1, " ~ dbt.length(compact) ~ " - 3)",
                "' '",
                dbt.right(compact, 3),
            ]) }}
        else nullif({{ compact }}, '')
    end
{%- endmacro %}

{#
    The postcode area of a standardised postcode: its one or two leading letters
    ('LS' for 'LS1 4AB', 'M' for 'M1 1AA'); null when the postcode is null or does not
    start with a letter.
#}
{% macro postcode_area(postcode) -%}
    case
        when substring({{ postcode }}, 1, 1) between 'A' and 'Z'
            and substring({{ postcode }}, 2, 1) between 'A' and 'Z'
            then substring({{ postcode }}, 1, 2)
        when substring({{ postcode }}, 1, 1) between 'A' and 'Z'
            then substring({{ postcode }}, 1, 1)
    end
{%- endmacro %}
