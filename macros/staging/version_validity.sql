{#
    The SCD2 columns of a versioned curated table, recomputed from its de-duplicated versions
    (one row per natural key and `valid_from`) instead of trusting the flags the source
    delivered:

      <version_key>    surrogate_key([natural key, valid_from]): one key per version
      version_number   1 for the first version of an entity, then 2, 3, ...
      valid_to         the next version's valid_from; null for the last version
      is_current       true for the last version of each entity (soft-deleted or not)

    `relation` must hold one row per (natural_key, valid_from) with a `valid_from` column;
    every one of its columns is passed through. Portable SQL (window functions only).
#}
{% macro version_validity(relation, natural_key, version_key) -%}
    select
        {{ surrogate_key([natural_key, 'valid_from']) }} as {{ version_key }},
        {{ relation }}.*,
        row_number() over (
            partition by {{ natural_key }}
            order by valid_from
        ) as version_number,
        lead(valid_from) over (
            partition by {{ natural_key }}
            order by valid_from
        ) as valid_to,
        lead(valid_from) over (
            partition by {{ natural_key }}
            order by valid_from
        ) is null as is_current
    from {{ relation }}
{%- endmacro %}

{#
    True when the validity delivered with a kept version (`source_valid_to`,
    `source_is_current`) disagrees with the recomputed `valid_to` and `is_current` of
    version_validity(). `relation` is the alias holding those four columns.
#}
{% macro has_inconsistent_source_validity(relation) -%}
    coalesce(
        {{ relation }}.source_valid_to is distinct from {{ relation }}.valid_to
        or {{ relation }}.source_is_current is distinct from {{ relation }}.is_current,
        true
    )
{%- endmacro %}
