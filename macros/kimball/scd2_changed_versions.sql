{#
    The versions of an SCD2 history that change a tracked attribute: a `select` of
    `natural_key`, the `tracked_columns` and `valid_from` from `relation`, keeping a
    version only when its tracked attributes differ from those of the version before it
    (by `valid_from`) of the same entity; the first version of each entity is always
    kept. A version that changes only untracked columns is merged into the one before
    it, so a dimension gets a new row only when an attribute it shows has changed. The
    comparison is on a `surrogate_key()` hash of the tracked columns, so two nulls are
    equal.

    Example (int_establishment_versions_merged):
        changed_versions as (
            {{ scd2_changed_versions(
                'establishment_history',
                'establishment_code',
                ['operational_capacity', 'is_operational'],
            ) }}
        ),
#}
{% macro scd2_changed_versions(relation, natural_key, tracked_columns) -%}
    select
        {{ natural_key }},
        {%- for column in tracked_columns %}
        {{ column }},
        {%- endfor %}
        valid_from
    from (
        select
            *,
            coalesce(
                {{ surrogate_key(tracked_columns) }} != lag(
                    {{ surrogate_key(tracked_columns) }}
                ) over (
                    partition by {{ natural_key }}
                    order by valid_from
                ),
                true
            ) as is_change
        from {{ relation }}
    ) as versions_flagged
    where is_change
{%- endmacro %}
