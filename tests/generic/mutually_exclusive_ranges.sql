{#
    Half-open ranges [lower, upper) must not overlap within each partition.
    A null upper bound is an open range (the current SCD2 version) and must
    be the last range of its partition. `gaps`: 'allowed' (default),
    'not_allowed' (each range ends where the next starts) or 'required'.
    Fails with one row per offending range and a `failure_reason`.
#}
{% test mutually_exclusive_ranges(
    model,
    lower_bound_column,
    upper_bound_column,
    partition_by=none,
    gaps='allowed',
    zero_length_range_allowed=false
) %}

{%- if gaps not in ['allowed', 'not_allowed', 'required'] %}
    {{ exceptions.raise_compiler_error(
        "mutually_exclusive_ranges: gaps must be 'allowed', 'not_allowed'"
        ~ " or 'required', got '" ~ gaps ~ "'") }}
{%- endif %}
{%- set partition_columns = (
    as_column_list(partition_by, 'partition_by') if partition_by else []) %}
{%- set partition_clause -%}
    {%- if partition_columns -%}
    partition by {{ partition_columns | join(', ') }}
    {%- endif -%}
{%- endset %}
{%- set window_clause -%}
    over (
        {{ partition_clause }}
        order by
            case when {{ lower_bound_column }} is null then 1 else 0 end,
            {{ lower_bound_column }},
            case when {{ upper_bound_column }} is null then 1 else 0 end,
            {{ upper_bound_column }}
    )
{%- endset %}

with

ranges as (

    select
        {% for column in partition_columns -%}
        {{ column }},
        {% endfor -%}
        {{ lower_bound_column }} as lower_bound,
        {{ upper_bound_column }} as upper_bound,
        lead({{ lower_bound_column }}) {{ window_clause }} as next_lower_bound,
        row_number() {{ window_clause }} as range_number,
        count(*) over ({{ partition_clause }}) as ranges_in_partition

    from {{ model }}

),

checked as (

    select
        *,
        case
            when lower_bound is null
                then 'lower bound is null'
            when upper_bound is not null and lower_bound > upper_bound
                then 'lower bound is after upper bound'
            {%- if not zero_length_range_allowed %}
            when upper_bound is not null and lower_bound = upper_bound
                then 'zero-length range'
            {%- endif %}
            when range_number = ranges_in_partition
                then null
            when upper_bound is null
                then 'open range (null upper bound) is not the last range'
            when next_lower_bound < upper_bound
                then 'overlaps the next range'
            {%- if gaps == 'not_allowed' %}
            when next_lower_bound > upper_bound
                then 'gap before the next range'
            {%- elif gaps == 'required' %}
            when next_lower_bound = upper_bound
                then 'no gap before the next range'
            {%- endif %}
        end as failure_reason

    from ranges

),

validation_errors as (

    select * from checked where failure_reason is not null

)

select * from validation_errors

{% endtest %}
