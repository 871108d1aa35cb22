{#
    One row reconciling a staging view with its curated source, for the singular tests in
    tests/staging/: `n_expected_rows` is the number of distinct `key_columns` in the source
    (each a pair [source column, staged column]), `n_actual_rows` the rows of the staging
    view. With `check_latest_delivery`, `n_not_latest_delivery` counts staged rows that are
    not from the latest delivery (`_extracted_at`) of their key in the source; otherwise it
    is 0. Portable SQL.
#}
{% macro staging_reconciliation(
    label, source_relation, staging_relation, key_columns, check_latest_delivery=true
) -%}
    {%- set source_keys = key_columns | map(attribute=0) | list -%}
    select
        '{{ label }}' as staged_relation,
        source_rows.n_rows as n_expected_rows,
        staged_rows.n_rows as n_actual_rows,
        staged_rows.n_not_latest_delivery
    from (
        select count(*) as n_rows
        from (
            select distinct {{ source_keys | join(', ') }}
            from {{ source_relation }}
        ) as source_keys
    ) as source_rows
    cross join (
        select
            count(*) as n_rows,
            {%- if check_latest_delivery %}
            coalesce(sum(
                case
                    when latest.latest_extracted_at is null
                        or staged.extracted_at < latest.latest_extracted_at
                        then 1
                    else 0
                end
            ), 0) as n_not_latest_delivery
            {%- else %}
            0 as n_not_latest_delivery
            {%- endif %}
        from {{ staging_relation }} as staged
        {%- if check_latest_delivery %}
        left join (
            select
                {{ source_keys | join(', ') }},
                max(_extracted_at) as latest_extracted_at
            from {{ source_relation }}
            group by {{ source_keys | join(', ') }}
        ) as latest
            on
            {%- for source_key, staged_key in key_columns %}
                {{ 'and ' if not loop.first }}staged.{{ staged_key }}
                = latest.{{ source_key }}
            {%- endfor %}
        {%- endif %}
    ) as staged_rows
{%- endmacro %}
