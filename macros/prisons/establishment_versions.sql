{#
    The attributes of an establishment version nobody recorded, for
    int_establishment_versions_merged: its pre-opening version (before the opening
    date) and the one version of an establishment of the reference seed that NOMIS holds
    no version of. Capacity, CNA, security category and NOMIS time (source_valid_from)
    are unknown (null); the operational and deleted flags are the given SQL expressions
    (false before opening: not yet operational; null when nothing is known). Emits the
    select-list items operational_capacity, certified_normal_accommodation,
    security_category_code, is_operational, is_deleted and source_valid_from, each
    followed by a comma, in the column order of the model's NOMIS versions.

    Example:
        select
            establishment_code,
            {{ unrecorded_establishment_attributes('false', 'false') }}
            valid_from
        from first_versions
#}
{% macro unrecorded_establishment_attributes(is_operational, is_deleted) -%}
cast(null as {{ dbt.type_int() }}) as operational_capacity,
        cast(null as {{ dbt.type_int() }})
            as certified_normal_accommodation,
        cast(null as {{ dbt.type_string() }}) as security_category_code,
        {{ is_operational }} as is_operational,
        {{ is_deleted }} as is_deleted,
        cast(null as {{ dbt.type_timestamp() }}) as source_valid_from,
{%- endmacro %}
