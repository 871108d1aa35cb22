{#
    At most one distinct row per key (attach to a curated source with its
    delivery grain, e.g. [hearing_id, _extracted_at] or [case_id, _valid_from,
    _extracted_at]). Rows identical in every column are not a conflict (see
    no_exact_duplicates), nor are rows identical but for the partition they
    were delivered in (`partition_columns`, default the Hive partition
    `extraction_date`: an exact re-delivery, see no_redelivered_rows); two
    different rows for one key in one extract are: staging could not tell
    which is true and would keep one at random. Fails with one row per
    conflicting key and the number of distinct rows.

    On an incremental `dbt build` of a curated source, only the keys
    delivered in the partitions after those an earlier build checked
    (source_new_rows_condition, macros/staging/touched_rows.sql) are
    compared, with all their rows in every partition: a conflict lies
    within one key, and one among the checked partitions only was found by
    the build that checked them.
#}
{% test no_conflicting_duplicates(
    model, key_columns, partition_columns=['extraction_date']
) %}

{%- set columns = as_column_list(key_columns, 'key_columns') %}
{%- set compared = columns_except(model, partition_columns) %}
{%- set checked = source_rows_to_compare(
    model, columns,
    'extraction_date' if 'extraction_date' in partition_columns else none) %}

with

distinct_rows as (

    select distinct
        {% for column in compared -%}
        {{ column }}{{ ',' if not loop.last }}
        {% endfor %}
    from {{ checked }}

),

validation_errors as (

    select
        {% for column in columns -%}
        {{ column }},
        {% endfor -%}
        count(*) as n_distinct_rows

    from distinct_rows

    group by
        {% for column in columns -%}
        {{ column }}{{ ',' if not loop.last }}
        {% endfor %}

    having count(*) > 1

)

select * from validation_errors

{% endtest %}
