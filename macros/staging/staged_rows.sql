{#
    The two row-picking patterns of the staging models of curated tables, on
    the rows this run restages (staging_rows: all of them on a full build,
    the keys delivered since the watermark on an incremental run). Each
    returns one `with ... select` statement: use it as the body of a CTE.
    `relation` is the model's renamed CTE: staged natural key,
    `extraction_date`, `extracted_at` and, for versions, `valid_from`.
#}

{#
    One row per `natural_key` of an event or current-state table (or per
    `partition_by` columns, when given): the latest delivery
    (deduplicate_latest on `extracted_at`). Portable SQL; the default
    de-duplication adds the helper column `dedupe_row_number`, so callers
    select their columns explicitly.
#}
{% macro staged_latest(relation, natural_key, partition_by=none) -%}
with

rows_to_stage as (

    {{ staging_rows(relation, natural_key) }}

),

deduplicated as (

    {{ deduplicate_latest(
        'rows_to_stage',
        partition_by=partition_by or [natural_key],
        order_by='extracted_at desc',
    ) }}

)

select * from deduplicated
{%- endmacro %}

{#
    Every version of a versioned entity, one row per `natural_key` and
    `valid_from`: the latest delivery of each version (staged_latest), with
    its SCD2 columns recomputed (version_validity: `version_key`,
    `version_number`, `valid_to`, `is_current`).
#}
{% macro staged_versions(relation, natural_key, version_key) -%}
with

latest_deliveries as (

    {{ staged_latest(
        relation,
        natural_key,
        partition_by=[natural_key, 'valid_from'],
    ) }}

),

versioned as (

    {{ version_validity(
        'latest_deliveries',
        natural_key=natural_key,
        version_key=version_key,
    ) }}

)

select * from versioned
{%- endmacro %}
