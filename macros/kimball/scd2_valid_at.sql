{#
    The join condition that picks, from an SCD2 dimension, the version valid at a fact's
    event: the one whose half-open range [valid_from, valid_to) holds the event (a null
    valid_to is the current, open-ended version). Every fact joins its SCD2 dimensions
    (dim_person, dim_establishment) with this one rule:

        cast(event_at as timestamp) >= dimension.valid_from
        and (
            cast(event_at as timestamp) < dimension.valid_to
            or dimension.valid_to is null
        )

    A DATE event is compared as its midnight, a TIMESTAMP as it is.

    current_if_null (default true): an event without a date (null event_at: a date not
    recorded, or a milestone not reached yet such as the release of a person still in
    custody) joins the current version, instead of none. With current_if_null=false such an
    event matches no version, so dimension_key() gives it the not-yet-arrived member '-2'
    (for facts whose event time is always known, e.g. a movement's movement_at).

    dimension: the alias of the (left-joined) dimension; event_at: the fact's event, a SQL
    expression of type DATE or TIMESTAMP.

    Example:
        left join persons
            on
                outcomes.pseudonymised_person_id = persons.person_id
                and {{ scd2_valid_at('persons', 'outcomes.outcome_date') }}
#}
{% macro scd2_valid_at(dimension, event_at, current_if_null=true) -%}
    {%- set event_timestamp = 'cast(' ~ event_at ~ ' as '
        ~ dbt.type_timestamp() ~ ')' -%}
    {%- set in_range -%}
        {{ event_timestamp }} >= {{ dimension }}.valid_from
        and (
            {{ event_timestamp }} < {{ dimension }}.valid_to
            or {{ dimension }}.valid_to is null
        )
    {%- endset -%}
    {%- if current_if_null -%}
    (
        ({{ event_at }} is null and {{ dimension }}.valid_to is null)
        or (
            {{ in_range | indent(4) }}
        )
    )
    {%- else -%}
    (
        {{ in_range }}
    )
    {%- endif -%}
{%- endmacro %}
