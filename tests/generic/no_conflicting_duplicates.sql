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
#}
{% test no_conflicting_duplicates(
    model, key_columns, partition_columns=['extraction_date']
) %}

{%- set columns = as_column_list(key_columns, 'key_columns') %}

with

distinct_rows as (

    select distinct {{ columns_except(partition_columns, model) }}
    from {{ model }}

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
