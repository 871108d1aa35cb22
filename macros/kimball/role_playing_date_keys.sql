{#
    The role-playing date keys of a fact (Kimball: one dim_date playing each milestone's
    role), written once for the accumulating snapshots (fct_case_timeliness,
    fct_custodial_episodes, fct_lpa_applications, fct_probation_supervision). Emits the
    CTE `name`: every column of `rows`, then one key per entry of `date_keys`, from one
    left join of `dates` per role (aliased <key column without _key>s, e.g.
    received_dates), falling back to the default members by dimension_key():
      - the milestone does not apply (its `applies` condition is false): '-3';
      - the date is null: '-1' missing;
      - the date is not in dim_date: '-2' not yet arrived;
      - otherwise the dim_date key of the date.

    Inputs: `rows`, a CTE of the calling model holding the dates (aliased `alias`, which
    the `applies` conditions name); `dates`, dim_date without its default members;
    `date_keys`, an ordered mapping of each key column to the date column of `rows` it
    keys; `applies`, a mapping of a key column to its boolean SQL condition (a key not
    in it always applies). A key column in `applies` but not in `date_keys` is a
    compile error. The CTE ends with a comma.

    Example (fct_custodial_episodes):
        {{ role_playing_date_keys(
            'episodes_keyed', rows='episodes_resolved', alias='episodes',
            date_keys={'reception_date_key': 'reception_date',
                'release_date_key': 'release_date'},
            applies={'release_date_key': 'episodes.is_released'},
        ) }}
#}
{% macro role_playing_date_keys(
    name,
    rows,
    date_keys,
    alias=none,
    applies={},
    dates='dates'
) -%}
{%- set alias = alias or rows -%}
{%- for key_column in applies if key_column not in date_keys -%}
    {{ exceptions.raise_compiler_error(
        "role_playing_date_keys: applies names '" ~ key_column
        ~ "', not a key of date_keys (" ~ date_keys.keys() | join(', ') ~ ")"
    ) }}
{%- endfor -%}
{{ name }} as (

    select
        {{ alias }}.*,
        {%- for key_column, date_column in date_keys.items() %}
        {{ dimension_key(
            role_playing_date_alias(key_column) ~ '.date_key',
            alias ~ '.' ~ date_column,
            applies=applies.get(key_column),
        ) }} as {{ key_column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ rows }}{{ ' as ' ~ alias if alias != rows }}
    {%- for key_column, date_column in date_keys.items() %}
    {%- set role_dates = role_playing_date_alias(key_column) %}
    left join {{ dates }} as {{ role_dates }}
        on {{ alias }}.{{ date_column }} = {{ role_dates }}.date_day
    {%- endfor %}

),
{%- endmacro %}

{#
    Helper of role_playing_date_keys: the alias of dim_date in one role, from its key
    column: `received_date_key` -> `received_dates`. A key column not ending in
    `_date_key` is a compile error (the fact's naming convention).
#}
{% macro role_playing_date_alias(key_column) -%}
    {%- if not key_column.endswith('_date_key') -%}
        {{ exceptions.raise_compiler_error(
            "role_playing_date_keys: key column '" ~ key_column
            ~ "' does not end in _date_key"
        ) }}
    {%- endif -%}
    {{ key_column[:-4] }}s
{%- endmacro %}
