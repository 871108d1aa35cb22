{#
    Keep one row per `partition_by` (a list of column names): the first row by `order_by`
    (e.g. 'extracted_at desc'). Staging uses it to collapse a version or an event that was
    re-delivered in several extraction partitions onto its latest delivery.

    Engine-specific (QUALIFY), hence dispatched. DuckDB filters the window in place and
    returns exactly the relation's columns. The default wraps the window in a subquery that
    any engine with window functions runs; it also returns the helper column
    `dedupe_row_number` (always 1), so callers select their columns explicitly, as every
    staging model does in its `final` CTE.
#}
{% macro deduplicate_latest(relation, partition_by, order_by) -%}
    {{ return(adapter.dispatch('deduplicate_latest', 'derived_tables')(
        relation, partition_by, order_by)) }}
{%- endmacro %}

{% macro duckdb__deduplicate_latest(relation, partition_by, order_by) -%}
    select *
    from {{ relation }}
    qualify row_number() over (
        partition by {{ partition_by | join(', ') }}
        order by {{ order_by }}
    ) = 1
{%- endmacro %}

{% macro default__deduplicate_latest(relation, partition_by, order_by) -%}
    select *
    from (
        select
            ranked_rows.*,
            row_number() over (
                partition by {{ partition_by | join(', ') }}
                order by {{ order_by }}
            ) as dedupe_row_number
        from {{ relation }} as ranked_rows
    ) as deduplicated_rows
    where dedupe_row_number = 1
{%- endmacro %}
