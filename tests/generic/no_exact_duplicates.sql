{#
    No row delivered twice, identical in every column (metadata included, so
    within one extract). Staging keeps one copy of each (deduplicate_latest),
    so duplicates lose nothing; this test (warn) says how many extra copies
    were delivered: the failure count is the number of surplus rows. Fails
    with one row: `n_rows`, `n_distinct_rows`, `n_extra_copies`.
#}
{% test no_exact_duplicates(model, column_name=none) %}

{{ config(severity='warn', fail_calc='coalesce(sum(n_extra_copies), 0)') }}

with

counted as (

    select count(*) as n_rows from {{ model }}

),

counted_distinct as (

    select count(*) as n_distinct_rows
    from (select distinct * from {{ model }}) as distinct_rows

),

validation_errors as (

    select
        counted.n_rows,
        counted_distinct.n_distinct_rows,
        counted.n_rows - counted_distinct.n_distinct_rows as n_extra_copies
    from counted
    cross join counted_distinct
    where counted.n_rows > counted_distinct.n_distinct_rows

)

select * from validation_errors

{% endtest %}
