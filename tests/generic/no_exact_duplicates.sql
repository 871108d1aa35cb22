{#
    No row delivered twice, identical in every column (metadata included, so
    within one extract). Staging keeps one copy of each (deduplicate_latest),
    so duplicates lose nothing; this test (warn) says how many extra copies
    were delivered: the failure count is the number of surplus rows. Fails
    with one row: `n_rows`, `n_distinct_rows`, `n_extra_copies`.

    Identical rows lie in one partition (`extraction_date` is one of the
    columns compared), so on an incremental `dbt build` of a curated source
    the test reads only the partitions after those an earlier build checked
    (source_new_rows_condition, macros/staging/touched_rows.sql) and counts
    the surplus copies those extracts delivered.

    Two passes, each growing with the rows (a distinct over every column of
    a large source spilled: at scale 100 the test cost 15 to 30 times its
    scale-10 time): the first counts the rows and groups them by a 64-bit
    hash of every column (row_hash); the second compares exactly only the
    rows whose hash repeats (none, on good data): every other row is
    distinct. Where the engine has no hash (row_hash is none), one distinct
    over every column.
#}
{% test no_exact_duplicates(model, column_name=none) %}

{{ config(severity='warn', fail_calc='coalesce(sum(n_extra_copies), 0)') }}

{%- set new_rows = source_new_rows_condition(
    model, 'delivered.extraction_date') %}
{%- if new_rows %}
{%- set checked -%}
    (select * from {{ model }} as delivered where {{ new_rows }}) as checked
{%- endset %}
{%- else %}
{%- set checked = model %}
{%- endif %}
{%- set hashed = row_hash(columns_except(model, [])) %}

with
{%- if hashed %}

hashed_rows as (

    select {{ hashed }} as row_hash from {{ checked }}

),

counted as (

    select count(*) as n_rows from hashed_rows

),

repeated as (

    select row_hash
    from hashed_rows
    group by row_hash
    having count(*) > 1

),

-- the rows whose hash repeats, compared exactly; every other row is distinct
suspects as (

    select *
    from {{ checked }}
    where {{ hashed }} in (select row_hash from repeated)

),

counted_distinct as (

    select
        (select n_rows from counted)
        - (select count(*) from suspects)
        + (
            select count(*)
            from (select distinct * from suspects) as distinct_suspects
        ) as n_distinct_rows

),
{%- else %}

counted as (

    select count(*) as n_rows from {{ checked }}

),

counted_distinct as (

    select count(*) as n_distinct_rows
    from (select distinct * from {{ checked }}) as distinct_rows

),
{%- endif %}

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
