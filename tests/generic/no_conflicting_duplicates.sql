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

    Two passes, each growing with the rows (a distinct over every column of
    a large source spilled: at scale 100 the test cost 20 to 50 times its
    scale-10 time): the first groups the rows by a 64-bit hash of the key
    (row_hash) and keeps the hashes of more than one row; the second
    compares exactly only the rows with those hashes (a key of one row
    cannot conflict). Where the engine has no hash (row_hash is none), one
    distinct over every column.
#}
{% test no_conflicting_duplicates(
    model, key_columns, partition_columns=['extraction_date']
) %}

{%- set columns = as_column_list(key_columns, 'key_columns') %}
{%- set compared = columns_except(model, partition_columns) %}
{%- set checked = source_rows_to_compare(
    model, columns,
    'extraction_date' if 'extraction_date' in partition_columns else none) %}

{%- set hashed = row_hash(columns) %}

with
{%- if hashed %}

repeated_keys as (

    select {{ hashed }} as key_hash
    from {{ checked }}
    group by {{ hashed }}
    having count(*) > 1

),
{%- endif %}

distinct_rows as (

    select distinct
        {% for column in compared -%}
        {{ column }}{{ ',' if not loop.last }}
        {% endfor %}
    from {{ checked }}
    {%- if hashed %}
    where {{ hashed }} in (select key_hash from repeated_keys)
    {%- endif %}

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
