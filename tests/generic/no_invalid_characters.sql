{#
    Text free of control characters (U+0000 to U+001F, U+007F) and of the
    Unicode replacement character U+FFFD, which a broken encoding leaves
    behind. Such values are kept as delivered (the correct character is
    unknown), so the test warns, with every offending row. Nulls pass. Uses
    the dispatched regex_full_match (RE2 on DuckDB).
#}
{% test no_invalid_characters(model, column_name) %}

{{ config(severity='warn') }}

with

validation_errors as (

    select *
    from {{ model }}
    where
        not {{ regex_full_match(column_name, '[^\\x00-\\x1f\\x7f\\x{fffd}]*') }}

)

select * from validation_errors

{% endtest %}
