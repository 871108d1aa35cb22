{#
    A portable day spine: one row per day, column `date_day` (DATE), from `start_date` to
    `end_date`, BOTH inclusive (ISO 'YYYY-MM-DD' strings, e.g. the vars date_spine_start and
    date_spine_end). The number of days is worked out at compile time; the rows come from
    cross joins of a ten-row digits table (no generate_series, no dbt_utils) and dbt.dateadd.
    Dispatched, so an adapter can override it with a native generator. Named day_spine, not
    date_spine, so as not to shadow dbt's own dbt.date_spine(datepart, start_date, end_date),
    which takes SQL expressions and excludes its end date.

    Example: select date_day from ({{ day_spine('2015-01-01', '2030-12-31') }}) as spine
#}
{% macro day_spine(start_date, end_date) -%}
    {{ return(adapter.dispatch('day_spine', 'derived_tables')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__day_spine(start_date, end_date) -%}
    {%- set first_text = day_spine_checked_date(start_date, 'start_date') | trim -%}
    {%- set last_text = day_spine_checked_date(end_date, 'end_date') | trim -%}
    {%- set first_day = modules.datetime.date.fromisoformat(first_text) -%}
    {%- set last_day = modules.datetime.date.fromisoformat(last_text) -%}
    {%- set n_days = (last_day - first_day).days + 1 -%}
    {%- if n_days < 1 -%}
        {{ exceptions.raise_compiler_error(
            "day_spine: end_date " ~ last_text ~ " is before start_date " ~ first_text) }}
    {%- endif -%}
    {#- one digits table per decimal digit of the largest day number -#}
    {%- set n_digits = (n_days - 1) | string | length -%}
    select
        cast(
            {{ dbt.dateadd(
                'day', 'day_number', "cast('" ~ first_text ~ "' as date)"
            ) }}
            as date
        ) as date_day
    from (
        select
            {%- for i in range(n_digits) %}
            {{ 'digits_' ~ i }}.digit * {{ 10 ** i }}
            {{- ' +' if not loop.last else ' as day_number' }}
            {%- endfor %}
        from
            {%- for i in range(n_digits) %}
            {{ 'cross join ' if not loop.first }}(
                {%- for digit in range(10) %}
                select {{ digit }} as digit
                {%- if not loop.last %}
                union all
                {%- endif %}
                {%- endfor %}
            ) as {{ 'digits_' ~ i }}
            {%- endfor %}
    ) as day_numbers
    where day_number < {{ n_days }}
{%- endmacro %}

{#-
    The text of an ISO date argument of day_spine, checked. Linters render models with
    var() stubbed and execute false: there a placeholder date keeps the model renderable
    (dbt itself always has the real vars).
-#}
{% macro day_spine_checked_date(value, name) -%}
    {%- set text = value | string | trim -%}
    {%- if not execute and not modules.re.match('^[0-9]{4}-', text) -%}
        {%- set text = '2000-01-01' -%}
    {%- endif -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', text) -%}
        {{ exceptions.raise_compiler_error(
            "day_spine: " ~ name ~ " must be an ISO date 'YYYY-MM-DD', got '" ~ text ~ "'") }}
    {%- endif -%}
    {{ text }}
{%- endmacro %}

{#
    ISO 8601 calendar parts of a date, as INTEGER: 'iso_year' (the year the ISO week belongs
    to), 'iso_week' (1-53, weeks start on Monday, week 1 holds the first Thursday) and
    'iso_day_of_week' (1 = Monday .. 7 = Sunday). SQL engines name these differently, hence
    the dispatch. Used by dim_date.
#}
{% macro iso_date_part(part, date_expr) -%}
    {%- if part not in ('iso_year', 'iso_week', 'iso_day_of_week') -%}
        {{ exceptions.raise_compiler_error(
            "iso_date_part: unknown part '" ~ part
            ~ "', expected iso_year, iso_week or iso_day_of_week") }}
    {%- endif -%}
    {{ return(adapter.dispatch('iso_date_part', 'derived_tables')(part, date_expr)) }}
{%- endmacro %}

{% macro duckdb__iso_date_part(part, date_expr) -%}
    {%- set functions = {
        'iso_year': 'isoyear', 'iso_week': 'weekofyear', 'iso_day_of_week': 'isodow'
    } -%}
    cast({{ functions[part] }}({{ date_expr }}) as integer)
{%- endmacro %}

{#- Spark: extract(YEAROFWEEK ..), WEEKOFYEAR, DAYOFWEEK_ISO (1 = Monday). -#}
{% macro spark__iso_date_part(part, date_expr) -%}
    {%- set fields = {
        'iso_year': 'yearofweek', 'iso_week': 'week', 'iso_day_of_week': 'dayofweek_iso'
    } -%}
    cast(extract({{ fields[part] }} from {{ date_expr }}) as integer)
{%- endmacro %}

{#- Athena (Trino): year_of_week, week (ISO), day_of_week (1 = Monday). -#}
{% macro athena__iso_date_part(part, date_expr) -%}
    {%- set functions = {
        'iso_year': 'year_of_week', 'iso_week': 'week',
        'iso_day_of_week': 'day_of_week'
    } -%}
    cast({{ functions[part] }}({{ date_expr }}) as integer)
{%- endmacro %}

{#- PostgreSQL, Redshift and most ANSI-leaning engines -#}
{% macro default__iso_date_part(part, date_expr) -%}
    {%- set fields = {'iso_year': 'isoyear', 'iso_week': 'week', 'iso_day_of_week': 'isodow'} -%}
    cast(extract({{ fields[part] }} from {{ date_expr }}) as integer)
{%- endmacro %}
