{#
    The recompute window of an incremental periodic snapshot (one row per member and
    period, delete+insert by period), written once for every such fact
    (fct_prison_population_daily, fct_probation_caseload_monthly).

    The level (population, caseload) at the end of a period is a running sum of
    per-period changes, continued from the stored level of the period before the
    window, so members are never exploded over their whole history. On an incremental
    run the window starts at the earliest of:
      (a) the first period whose counts can still move: the day after the last as-of
          date for days, the period of the last as-of date otherwise (its snapshot
          date and to-date counts move);
      (b) the period of the earliest first-known date of a row touched by a newer
          extract (`touched`), clipped to the first snapshot period;
      (c) the first snapshot period, when a member is new to the table or the first
          snapshot period moved back.
    A full refresh starts at the first snapshot period with every opening level 0.

    periodic_snapshot_rows() emits the CTEs up to `rows_to_resolve`: the counted rows of
    the window plus, on an incremental run, the stored rows before it (`is_stored`, their
    stored key columns as `stored_<column>`). The model then resolves its dimension keys
    on `rows_to_resolve` once (one CTE, its own joins), and
    periodic_snapshot_rows_to_load() keeps the counted rows and the stored periods one of
    whose rows resolves differently now (a dimension row arrived or changed): so an
    incremental run gives the same table as a full refresh.

    Inputs, CTE names in the calling model:
      snapshot_window: one row, first_snapshot_date (first period start) and as_of_date;
      members: the grain columns, every member the table must have a row for (a set
          that only grows, so a row once written is never orphaned);
      periods: date_key, <period_column> (period start) and <period_attributes>, for
          every period up to the as-of date;
      changes: the grain columns, <period_column>, <level_column>_change and the
          <flow_columns>, at most one row per member and period;
      touched: rows with <touched_from_column> (first date the row can change
          counts from) and <touched_at_column> (date of the extract that last
          delivered it).
    CTEs emitted: stored_rows, stored_window, stored_members, unstored_members,
    touched_window (incremental only), recompute_window, opening_levels, period_rows,
    counted_rows, rows_to_resolve; then rekeyed_periods (incremental only),
    rows_to_load. Each ends with a comma.

    Example (fct_prison_population_daily):
        {{ periodic_snapshot_rows(
            grain=['establishment_code'], period='day',
            period_column='population_date',
            snapshot_date_column='population_date',
            level_column='population',
            flow_columns=['receptions', 'transfers_in', 'transfers_out', 'releases'],
            resolved_columns=['establishment_key', 'region_key',
                'operational_capacity'],
            touched='stays',
            touched_from_column='booking_first_known_date',
            touched_at_column='booking_last_extraction_date',
        ) }}
#}
{% macro periodic_snapshot_rows(
    grain,
    period,
    period_column,
    snapshot_date_column,
    level_column,
    flow_columns,
    resolved_columns,
    touched,
    touched_from_column,
    touched_at_column,
    period_attributes=[],
    snapshot_window='snapshot_window',
    members='members',
    periods='periods',
    changes='changes'
) -%}
{{ periodic_snapshot_recompute_window(
    grain, period, period_column, snapshot_date_column, touched,
    touched_from_column, touched_at_column, snapshot_window, members,
) }}
{{ periodic_snapshot_counted_rows(
    grain, period, period_column, level_column, flow_columns,
    period_attributes, resolved_columns, members, periods, changes,
) }}
{%- endmacro %}

{#
    Helper of periodic_snapshot_rows: the CTEs stored_rows .. recompute_window, whose one
    row holds recompute_from_date, the first period to (re)compute. The home of any rule
    about which stored periods a run may keep.
#}
{% macro periodic_snapshot_recompute_window(
    grain,
    period,
    period_column,
    snapshot_date_column,
    touched,
    touched_from_column,
    touched_at_column,
    snapshot_window,
    members
) -%}
{% if is_incremental() %}
stored_rows as (

    select * from {{ this }}

),

stored_window as (

    select
        min({{ period_column }}) as first_stored_date,
        max({{ snapshot_date_column }}) as last_as_of_date,
        {%- if period == 'day' %}
        cast(
            {{ dbt.dateadd('day', 1, 'max(' ~ snapshot_date_column ~ ')') }}
            as date
        ) as resume_from_date
        {%- else %}
        cast(
            {{ dbt.date_trunc(period, 'max(' ~ snapshot_date_column ~ ')') }}
            as date
        ) as resume_from_date
        {%- endif %}
    from stored_rows

),

stored_members as (

    select distinct
        {%- for column in grain %}
        {{ column }},
        {%- endfor %}
        true as is_stored
    from stored_rows

),

unstored_members as (

    select count(*) as unstored_member_count
    from {{ members }}
    left join stored_members
        on
        {%- for column in grain %}
            {% if not loop.first %}and {% endif -%}
            {{ members }}.{{ column }}
            is not distinct from stored_members.{{ column }}
        {%- endfor %}
    where stored_members.is_stored is null

),

{%- set touched_from -%}
    min(
        coalesce(
            {{ touched }}.{{ touched_from_column }},
            {{ snapshot_window }}.first_snapshot_date
        )
    )
{%- endset %}

touched_window as (

    select
        {%- if period == 'day' %}
        {{ touched_from }} as touched_from_date
        {%- else %}
        cast({{ dbt.date_trunc(period, touched_from) }} as date)
            as touched_from_date
        {%- endif %}
    from {{ touched }}
    cross join stored_window
    cross join {{ snapshot_window }}
    where {{ touched }}.{{ touched_at_column }} > stored_window.last_as_of_date

),
{% endif %}

-- the first period to (re)compute: the first snapshot period on a full refresh
recompute_window as (

    select
        {%- if is_incremental() %}
            case
                when unstored_members.unstored_member_count > 0
                    then {{ snapshot_window }}.first_snapshot_date
                when
                    {{ snapshot_window }}.first_snapshot_date
                    < stored_window.first_stored_date
                    then {{ snapshot_window }}.first_snapshot_date
                when
                    touched_window.touched_from_date
                    < {{ snapshot_window }}.first_snapshot_date
                    then {{ snapshot_window }}.first_snapshot_date
                when
                    touched_window.touched_from_date
                    < stored_window.resume_from_date
                    then touched_window.touched_from_date
                else stored_window.resume_from_date
            end as recompute_from_date
        {%- else %}
            {{ snapshot_window }}.first_snapshot_date as recompute_from_date
        {%- endif %}
    from {{ snapshot_window }}
    {%- if is_incremental() %}
    cross join stored_window
    cross join touched_window
    cross join unstored_members
    {%- endif %}

),
{%- endmacro %}

{#
    Helper of periodic_snapshot_rows: the CTEs opening_levels .. rows_to_resolve (see
    there).
#}
{% macro periodic_snapshot_counted_rows(
    grain,
    period,
    period_column,
    level_column,
    flow_columns,
    period_attributes,
    resolved_columns,
    members,
    periods,
    changes
) -%}
-- each member's level at the end of the period before the window: none on a
-- full refresh, the stored one on an incremental run
opening_levels as (

    select
        {%- for column in grain %}
        {{ members }}.{{ column }},
        {%- endfor %}
        recompute_window.recompute_from_date,
        {%- if is_incremental() %}
        coalesce(stored_rows.{{ level_column }}, 0) as opening_level
        {%- else %}
        0 as opening_level
        {%- endif %}
    from {{ members }}
    cross join recompute_window
    {%- if is_incremental() %}
    left join stored_rows
        on
        {%- for column in grain %}
            {{ members }}.{{ column }}
            is not distinct from stored_rows.{{ column }}
            and
        {%- endfor %}
            stored_rows.{{ period_column }} = cast(
                {{ dbt.dateadd(
                    period, -1, 'recompute_window.recompute_from_date'
                ) }} as date
            )
    {%- endif %}

),

period_rows as (

    select
        {%- for column in grain %}
        opening_levels.{{ column }},
        {%- endfor %}
        opening_levels.opening_level,
        {{ periods }}.date_key,
        {%- for column in [period_column] + period_attributes %}
        {{ periods }}.{{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from opening_levels
    inner join {{ periods }}
        on
            opening_levels.recompute_from_date
            <= {{ periods }}.{{ period_column }}

),

counted_rows as (

    select
        {%- for column in grain %}
        period_rows.{{ column }},
        {%- endfor %}
        period_rows.date_key,
        {%- for column in [period_column] + period_attributes %}
        period_rows.{{ column }},
        {%- endfor %}
        period_rows.opening_level + sum(
            coalesce({{ changes }}.{{ level_column }}_change, 0)
        ) over (
            partition by
            {%- for column in grain %}
                period_rows.{{ column }}{% if not loop.last %},{% endif %}
            {%- endfor %}
            order by period_rows.{{ period_column }}
            rows between unbounded preceding and current row
        ) as {{ level_column }},
        {%- for column in flow_columns %}
        coalesce({{ changes }}.{{ column }}, 0) as {{ column }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from period_rows
    left join {{ changes }}
        on
        {%- for column in grain %}
            period_rows.{{ column }}
            is not distinct from {{ changes }}.{{ column }}
            and
        {%- endfor %}
            period_rows.{{ period_column }}
            = {{ changes }}.{{ period_column }}

),

{%- set row_columns = grain + ['date_key', period_column] + period_attributes
    + [level_column] + flow_columns %}

-- the counted rows, and on an incremental run the stored rows before the
-- window with their stored keys, to resolve the dimension keys on once
rows_to_resolve as (

    select
        {%- for column in row_columns %}
        {{ column }}{% if not loop.last or is_incremental() %},{% endif %}
        {%- endfor %}
        {%- if is_incremental() %}
        false as is_stored,
        {%- for column in resolved_columns %}
        null as stored_{{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
        {%- endif %}
    from counted_rows
    {%- if is_incremental() %}

    union all

    select
        {%- for column in row_columns %}
        stored_rows.{{ column }},
        {%- endfor %}
        true as is_stored,
        {%- for column in resolved_columns %}
        stored_rows.{{ column }} as stored_{{ column }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from stored_rows
    cross join recompute_window
    where
        stored_rows.{{ period_column }}
        < recompute_window.recompute_from_date
    {%- endif %}

),
{%- endmacro %}

{#
    The rows a periodic snapshot loads (CTE rows_to_load, then a comma), from `keyed`:
    rows_to_resolve (periodic_snapshot_rows) with the model's dimension key columns
    resolved. The counted rows, and on an incremental run every stored row of a period
    one of whose rows now resolves a key column differently (stored counts, fresh keys;
    rekeyed_periods).

    Example: {{ periodic_snapshot_rows_to_load('days_keyed', 'population_date',
        ['establishment_key', 'region_key', 'operational_capacity']) }}
#}
{% macro periodic_snapshot_rows_to_load(keyed, period_column, resolved_columns) -%}
{% if is_incremental() %}
-- a stored period is re-written (stored counts, fresh keys) only when a key of
-- one of its rows resolves differently now
rekeyed_periods as (

    select distinct {{ period_column }}
    from {{ keyed }}
    where
        is_stored
        and (
        {%- for column in resolved_columns %}
            {% if not loop.first %}or {% endif -%}
            {{ column }} is distinct from stored_{{ column }}
        {%- endfor %}
        )

),
{% endif %}

rows_to_load as (

    select {{ keyed }}.* from {{ keyed }}
    {%- if is_incremental() %}
    left join rekeyed_periods
        on
            {{ keyed }}.{{ period_column }}
            = rekeyed_periods.{{ period_column }}
    where
        not {{ keyed }}.is_stored
        or rekeyed_periods.{{ period_column }} is not null
    {%- endif %}

),
{%- endmacro %}
