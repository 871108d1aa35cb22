{#
    Exact re-deliveries, severity warn: rows identical in every column but
    the partition they came in (`partition_column`, default the Hive
    partition `extraction_date`), delivered in more than one partition, as
    when an extract is sent again into a later folder. Not a conflict (see
    no_conflicting_duplicates) and nothing is double-counted: staging keeps
    one copy (`deduplicate_latest`). The failure count is the number of
    surplus copies. Fails with one row: `n_redelivered_rows` (distinct rows
    delivered more than once), `n_extra_copies`, `first_partition`,
    `last_partition`. Plain SQL (the columns are listed by columns_except),
    so DuckDB and Spark run the same test.

    Two passes, each growing with the rows (grouping by every column of a
    large source spilled: at scale 100 the test cost 25 to 40 times its
    scale-10 time): the first groups the rows by a 64-bit hash of their
    columns (row_hash) and keeps the hashes delivered in more than one
    partition; the second compares exactly, by every column, only the rows
    with those hashes (none, on good data). Where the engine has no hash
    (row_hash is none), one pass by every column.
#}
{% test no_redelivered_rows(model, partition_column='extraction_date') %}

{{ config(severity='warn', fail_calc='coalesce(sum(n_extra_copies), 0)') }}

{%- set columns = columns_except(model, [partition_column]) %}
{%- set checked = source_rows_to_compare(
    model, columns, partition_column) %}
{%- set hashed = row_hash(columns) %}

with
{%- if hashed %}

repeated as (

    select {{ hashed }} as row_hash
    from {{ checked }}
    group by {{ hashed }}
    having count(distinct {{ partition_column }}) > 1

),
{%- endif %}

per_row as (

    select
        {% for column in columns -%}
        {{ column }},
        {% endfor -%}
        count(distinct {{ partition_column }}) as n_partitions,
        min({{ partition_column }}) as first_partition,
        max({{ partition_column }}) as last_partition
    from {{ checked }}
    {%- if hashed %}
    where {{ hashed }} in (select row_hash from repeated)
    {%- endif %}
    group by
        {% for column in columns -%}
        {{ column }}{{ ',' if not loop.last }}
        {% endfor %}

),

validation_errors as (

    select
        count(*) as n_redelivered_rows,
        sum(n_partitions - 1) as n_extra_copies,
        min(first_partition) as first_partition,
        max(last_partition) as last_partition
    from per_row
    where n_partitions > 1
    having count(*) > 0

)

select * from validation_errors

{% endtest %}
