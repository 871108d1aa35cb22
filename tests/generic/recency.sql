{#
    Fails with one row when the most recent value of `field` (or of the
    tested column) is older than `interval` dateparts before the reference
    "now" (var generic_tests_reference_now, else the current timestamp), or
    when there is no value.
#}
{% test recency(model, datepart, interval, field=none, column_name=none) %}

{%- set checked_column = field or column_name %}
{%- if not checked_column %}
    {{ exceptions.raise_compiler_error(
        "recency: give `field` or attach the test to a column") }}
{%- endif %}

with

latest as (

    select max({{ checked_column }}) as most_recent

    from {{ model }}

),

measured as (

    select
        cast(most_recent as {{ dbt.type_timestamp() }}) as most_recent,
        {{ reference_now_timestamp() }} as reference_now,
        {{ dbt.dateadd(datepart, -1 * interval, reference_now_timestamp()) }}
            as threshold

    from latest

),

validation_errors as (

    select * from measured
    where most_recent is null or most_recent < threshold

)

select * from validation_errors

{% endtest %}
