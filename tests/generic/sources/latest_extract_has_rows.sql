{#
    An empty extract (attach to a curated source table, severity warn): the
    table delivered no row in the latest extract of the curated data (the
    latest extraction date of any curated table) although it normally
    delivers plenty. The expected rows per extract are the mean over up to
    `lookback_extracts` earlier daily extracts when at least
    `min_history_extracts` exist, else the backfill's rows per day of history
    (rows of the first extract / days from `history_start` to it). The test
    warns only when that expectation is at least `min_expected_rows` (10: an
    empty extract then has a chance below e^-10 under a Poisson count), so a
    small table with quiet days does not cry wolf. A table empty in every
    extract is the business of not_empty. Fails with one row: latest
    extraction date, rows delivered (0), expected rows, history used.
#}
{% test latest_extract_has_rows(
    model,
    min_expected_rows=10,
    history_start='2019-01-01',
    lookback_extracts=28,
    min_history_extracts=3
) %}

{{ config(severity='warn') }}

{%- if execute %}
    {%- set node = curated_source_node(model) %}
    {%- set every_file = curated_files_glob(node, every_table=true) %}

with

extracts as (

    {{ curated_extraction_dates(every_file) }}

),

bounds as (

    select
        min(extraction_date) as first_extraction_date,
        max(extraction_date) as latest_extraction_date
    from extracts

),

table_rows as (

    select
        cast(extraction_date as date) as extraction_date,
        count(*) as n_rows
    from {{ model }}
    group by cast(extraction_date as date)

),

per_extract as (

    select
        extracts.extraction_date,
        coalesce(table_rows.n_rows, 0) as n_rows
    from extracts
    left join table_rows
        on extracts.extraction_date = table_rows.extraction_date

),

daily_history as (

    select
        per_extract.n_rows,
        row_number() over (
            order by per_extract.extraction_date desc
        ) as recency_rank
    from per_extract
    cross join bounds
    where
        per_extract.extraction_date > bounds.first_extraction_date
        and per_extract.extraction_date < bounds.latest_extraction_date

),

history as (

    select
        count(*) as n_history_extracts,
        avg(n_rows * 1.0) as mean_rows
    from daily_history
    where recency_rank <= {{ lookback_extracts }}

),

backfill as (

    select
        per_extract.n_rows * 1.0 / nullif({{ dbt.datediff(
            "cast('" ~ history_start ~ "' as date)",
            'bounds.first_extraction_date',
            'day',
        ) }}, 0) as rows_per_day
    from per_extract
    inner join bounds
        on per_extract.extraction_date = bounds.first_extraction_date

),

measured as (

    select
        bounds.latest_extraction_date,
        latest.n_rows as latest_rows,
        case
            when history.n_history_extracts >= {{ min_history_extracts }}
                then history.mean_rows
            else backfill.rows_per_day
        end as expected_rows,
        history.n_history_extracts
    from bounds
    inner join per_extract as latest
        on bounds.latest_extraction_date = latest.extraction_date
    cross join history
    cross join backfill
    where bounds.latest_extraction_date > bounds.first_extraction_date

),

validation_errors as (

    select
        '{{ node.source_name }}.{{ node.name }}' as source_table,
        *
    from measured
    where latest_rows = 0 and expected_rows >= {{ min_expected_rows }}

)

select * from validation_errors

{%- else %}

select cast(null as {{ dbt.type_string() }}) as source_table
where 1 = 0

{%- endif %}

{% endtest %}
