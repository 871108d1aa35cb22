{#
    Source-to-staging reconciliation: every row of the curated source is
    accounted for in the staging model, none dropped, none doubled. The
    model must hold one row per distinct key of `source_relation`
    (`source_key_columns` there, `key_columns` in the model; the same names
    by default). With `check_latest_delivery` (the default), each staged
    row must also come from the latest delivery of its key: its
    `extracted_at` equals the largest `_extracted_at` of the key in the
    source. Fails with one row: `n_expected_rows`, `n_actual_rows`,
    `n_not_latest_delivery`.

    On an incremental run of an incremental staging model, both sides count
    only the rows of the natural keys delivered after the watermark the
    model patched from (reconcile_touched_keys, macros/staging/touched_rows.sql):
    every other key's rows are those the build that last reconciled them saw.
#}
{% test reconciles_with_source(
    model,
    source_relation,
    key_columns,
    source_key_columns=none,
    check_latest_delivery=true
) %}

{%- set staged_keys = as_column_list(key_columns, 'key_columns') %}
{%- set source_keys = as_column_list(
    source_key_columns if source_key_columns is not none else key_columns,
    'source_key_columns'
) %}
{%- if source_keys | length != staged_keys | length %}
    {{ exceptions.raise_compiler_error(
        "reconciles_with_source: 'source_key_columns' and 'key_columns'"
        ~ " must name as many columns, got " ~ source_keys
        ~ " and " ~ staged_keys) }}
{%- endif %}
{%- set touched = reconcile_touched_keys(
    source_relation, staged_keys, source_keys) %}
{%- if touched %}
{%- set source_key = source_keys[staged_keys.index(touched.natural_key)] %}
{%- set delivered -%}
    (
        select * from {{ source_relation }} as delivered
        where {{ standardise_id('delivered.' ~ source_key) }} in (
            {{ touched.key_sql }}
        )
    ) as delivered
{%- endset %}
{%- set staged -%}
    (
        select * from {{ model }} as staged
        where staged.{{ touched.natural_key }} in (
            {{ touched.key_sql }}
        )
    ) as staged
{%- endset %}
{%- else %}
{%- set delivered = source_relation %}
{%- set staged = model ~ ' as staged' %}
{%- endif %}

with

source_rows as (

    select count(*) as n_rows
    from (
        select distinct {{ source_keys | join(', ') }}
        from {{ delivered }}
    ) as source_keys

),

{%- if check_latest_delivery %}

latest_deliveries as (

    select
        {{ source_keys | join(', ') }},
        max(_extracted_at) as latest_extracted_at
    from {{ delivered }}
    group by {{ source_keys | join(', ') }}

),
{%- endif %}

staged_rows as (

    select
        count(*) as n_rows,
        {%- if check_latest_delivery %}
        coalesce(sum(
            case
                when latest_deliveries.latest_extracted_at is null
                    or staged.extracted_at
                    < latest_deliveries.latest_extracted_at
                    then 1
                else 0
            end
        ), 0) as n_not_latest_delivery
        {%- else %}
        0 as n_not_latest_delivery
        {%- endif %}
    from {{ staged }}
    {%- if check_latest_delivery %}
    left join latest_deliveries
        on
        {%- for staged_key in staged_keys %}
            {{ 'and ' if not loop.first }}staged.{{ staged_key }}
            = latest_deliveries.{{ source_keys[loop.index0] }}
        {%- endfor %}
    {%- endif %}

),

reconciled as (

    select
        source_rows.n_rows as n_expected_rows,
        staged_rows.n_rows as n_actual_rows,
        staged_rows.n_not_latest_delivery
    from source_rows
    cross join staged_rows

),

validation_errors as (

    select * from reconciled
    where
        n_expected_rows != n_actual_rows
        or n_not_latest_delivery > 0

)

select * from validation_errors

{% endtest %}
