{#
    Exact re-deliveries, severity warn: rows identical in every column but
    the partition they came in (`partition_column`, default the Hive
    partition `extraction_date`), delivered in more than one partition, as
    when an extract is sent again into a later folder. Not a conflict (see
    no_conflicting_duplicates) and nothing is double-counted: staging keeps
    one copy (`deduplicate_latest`). The failure count is the number of
    surplus copies. Fails with one row: `n_redelivered_rows` (distinct rows
    delivered more than once), `n_extra_copies`, `first_partition`,
    `last_partition`.
#}
{% test no_redelivered_rows(model, partition_column='extraction_date') %}

{{ config(severity='warn', fail_calc='coalesce(sum(n_extra_copies), 0)') }}

with

delivered as (

    select
        {{ columns_except([partition_column], model) }},
        {{ partition_column }} as delivered_in
    from {{ model }}

),

per_row as (

    select
        {{ columns_except(['delivered_in']) }},
        count(distinct delivered_in) as n_partitions,
        min(delivered_in) as first_partition,
        max(delivered_in) as last_partition
    from delivered
    group by all

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
