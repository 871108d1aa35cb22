{#
    Volume anomaly check (severity warn by default). Rows are counted per
    period (date_trunc(datepart, column)); the most recent period present
    is compared with the `lookback_periods` periods before it that hold
    rows:
      method 'stddev': outside mean +/- num_stddevs * sample stddev
      method 'ratio':  outside [min_ratio * mean, max_ratio * mean]
    With fewer than `min_periods` history periods it passes (too little
    history to judge). Fails with one row describing the latest period, the
    norm and the band.
#}
{% test volume_within_norm(
    model,
    column_name,
    datepart='day',
    lookback_periods=28,
    min_periods=7,
    method='stddev',
    num_stddevs=3,
    min_ratio=0.5,
    max_ratio=2.0
) %}

{{ config(severity='warn') }}

{%- if method not in ['stddev', 'ratio'] %}
    {{ exceptions.raise_compiler_error(
        "volume_within_norm: method must be 'stddev' or 'ratio', got '"
        ~ method ~ "'") }}
{%- endif %}
{%- if min_periods < 2 or lookback_periods < min_periods %}
    {{ exceptions.raise_compiler_error(
        "volume_within_norm: need 2 <= min_periods <= lookback_periods,"
        ~ " got min_periods=" ~ min_periods
        ~ ", lookback_periods=" ~ lookback_periods) }}
{%- endif %}
{%- set period_expression = dbt.date_trunc(datepart, column_name) %}

with

periods as (

    select
        {{ period_expression }} as period_start,
        count(*) as row_count

    from {{ model }}

    where {{ column_name }} is not null

    group by {{ period_expression }}

),

ranked as (

    select
        period_start,
        row_count,
        row_number() over (order by period_start desc) as period_rank

    from periods

),

latest as (

    select
        period_start,
        row_count

    from ranked

    where period_rank = 1

),

history as (

    select
        count(*) as history_periods,
        avg(row_count * 1.0) as history_mean,
        stddev_samp(row_count * 1.0) as history_stddev

    from ranked

    where period_rank between 2 and {{ lookback_periods + 1 }}

),

banded as (

    select
        latest.period_start,
        latest.row_count,
        history.history_periods,
        history.history_mean,
        history.history_stddev,
        {%- if method == 'stddev' %}
        history.history_mean - {{ num_stddevs }} * history.history_stddev
            as lower_bound,
        history.history_mean + {{ num_stddevs }} * history.history_stddev
            as upper_bound
        {%- else %}
        history.history_mean * {{ min_ratio }} as lower_bound,
        history.history_mean * {{ max_ratio }} as upper_bound
        {%- endif %}

    from latest
    cross join history

),

validation_errors as (

    select * from banded
    where
        history_periods >= {{ min_periods }}
        and (row_count < lower_bound or row_count > upper_bound)

)

select * from validation_errors

{% endtest %}
