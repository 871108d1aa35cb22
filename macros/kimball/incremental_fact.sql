{#
    The rows an incremental transaction fact (delete+insert on its unique key) loads,
    written once for the facts whose rows each come from one intermediate row and whose
    person is the linked defendant (fct_case_outcomes, fct_court_hearings). A full
    refresh loads every row; an incremental run loads:
      (a) rows whose source_extracted_at is after the high-water mark max(extracted_at)
          of the stored table (new, late and changed rows);
      (b) rows whose stored keys (`key_columns`) point at the not-yet-arrived member
          '-2', so a dimension row that arrived since is picked up;
      (c) rows whose stored person_key differs from the person key resolved now
          (linkage regrouped the defendant's records, or the person's SCD2 history
          changed);
      (d) rows whose stored value of one of `recomputed_columns` is distinct from the
          one the intermediate model computes now (a value derived from other rows,
          such as a hearing's number within its case).
    Everything else in a row is a function of those sources, so an incremental run
    gives the same table as a full refresh.

    With `by_case` (the courts facts), on a run in which the courts chain was
    patched by case (court_chain_is_patched, macros/courts/court_chain.sql),
    (c) and (d) are found without reading every row:
    incremental_fact_rows_to_load_by_case.

    The person key is the dim_person version valid on `person_date` (the current
    version when the date is unknown), or a default member by `dimension_key()` on
    the natural key `person_id_column` (missing when null, not yet arrived otherwise).

    Inputs, CTE names in the calling model: `rows` (the intermediate rows, with the
    unique key, source_extracted_at, pseudonymised_person_id, `person_id_column` and
    `person_date`) and `persons` (dim_person without its default members).
    CTEs emitted, each ending with a comma: existing_<rows> and high_water_mark
    (incremental only), person_keys (unique key, person_key), <rows>_to_load (the
    rows to load, every column of `rows`).

    Example (fct_case_outcomes):
        {{ incremental_fact_rows_to_load(
            rows='outcomes',
            unique_key='outcome_id',
            key_columns=['date_key', 'offence_key', 'court_key', 'region_key',
                'disposal_key'],
            person_id_column='defendant_id',
            person_date='outcome_date',
        ) }}
#}
{% macro incremental_fact_rows_to_load(
    rows,
    unique_key,
    key_columns,
    person_id_column,
    person_date,
    recomputed_columns=[],
    by_case=false
) -%}
{%- set existing = 'existing_' ~ rows -%}
{%- set not_yet_arrived = default_member_key('not_yet_arrived') -%}
{%- if by_case %}
{{ court_touched_ctes() }}
{%- endif -%}
{%- if by_case and court_chain_is_patched() %}
{{ incremental_fact_rows_to_load_by_case(
    rows, unique_key, key_columns, person_id_column, person_date) }}
{%- else %}
{% if is_incremental() %}

{{ existing }} as (

    select * from {{ this }}

),

high_water_mark as (

    select {{ high_water_mark('extracted_at') }} as max_extracted_at
    from {{ existing }}

),

{% endif %}

{{ fact_person_keys(rows, unique_key, person_id_column, person_date) }}

{{ rows }}_to_load as (

    select {{ rows }}.*
    from {{ rows }}
    {%- if is_incremental() %}
    cross join high_water_mark
    where
        {{ rows }}.source_extracted_at > high_water_mark.max_extracted_at
        or {{ rows }}.{{ unique_key }} in (
            select {{ unique_key }} from {{ existing }}
            where
                {{ not_yet_arrived }} in (
                    {{ key_columns | join(', ') }}
                )
        )
        or {{ rows }}.{{ unique_key }} in (
            select {{ existing }}.{{ unique_key }}
            from {{ existing }}
            inner join person_keys
                on {{ existing }}.{{ unique_key }} = person_keys.{{ unique_key }}
            where {{ existing }}.person_key != person_keys.person_key
        )
        {%- for column in recomputed_columns %}
        or {{ rows }}.{{ unique_key }} in (
            select {{ existing }}.{{ unique_key }}
            from {{ existing }}
            inner join {{ rows }} as recomputed
                on {{ existing }}.{{ unique_key }} = recomputed.{{ unique_key }}
            where
                {{ existing }}.{{ column }}
                is distinct from recomputed.{{ column }}
        )
        {%- endfor %}
    {%- endif %}

),
{%- endif %}
{%- endmacro %}

{#
    incremental_fact_rows_to_load on a run in which the courts chain was
    patched by case: the rows to load are (a) and (b) as there, and the rows
    of the cases and persons int_court_cases_touched lists
    (court_fact_row_is_touched): an intermediate row of any other case was
    not rewritten (so neither its values nor its hearing number changed), and
    its person's dim_person versions did not change (so its person key did
    not). The person keys are then resolved for the loaded rows only. Same
    inputs and CTEs emitted; person_keys comes after <rows>_to_load and
    covers only its rows.
#}
{% macro incremental_fact_rows_to_load_by_case(
    rows,
    unique_key,
    key_columns,
    person_id_column,
    person_date
) -%}
{%- set existing = 'existing_' ~ rows -%}

{{ existing }} as (

    select * from {{ this }}

),

high_water_mark as (

    select {{ high_water_mark('extracted_at') }} as max_extracted_at
    from {{ existing }}

),

{{ rows }}_to_load as (

    select {{ rows }}.*
    from {{ rows }}
    cross join high_water_mark
    where
        {{ rows }}.source_extracted_at > high_water_mark.max_extracted_at
        or {{ rows }}.{{ unique_key }} in (
            select {{ unique_key }} from {{ existing }}
            where
                {{ default_member_key('not_yet_arrived') }} in (
                    {{ key_columns | join(', ') }}
                )
        )
        or {{ court_fact_row_is_touched(
            rows ~ '.case_id', rows ~ '.pseudonymised_person_id') }}

),

{{ fact_person_keys(
    rows, unique_key, person_id_column, person_date, loaded=true) }}
{%- endmacro %}

{#
    The person_keys CTE of a courts fact (unique key, person_key): the
    defendant's person in the SCD2 version valid on `person_date`, for every
    row of `rows`, or with `loaded` only for <rows>_to_load. Used by
    incremental_fact_rows_to_load() and incremental_fact_rows_to_load_by_case().
#}
{% macro fact_person_keys(
    rows, unique_key, person_id_column, person_date, loaded=false
) -%}
-- the defendant's person, in the version valid on the {{ person_date }} (the
-- current version when the date is unknown){{ ', for the rows loaded' if loaded }}
person_keys as (

    select
        {{ rows }}.{{ unique_key }},
        {{ dimension_key(
            'persons.person_key', rows ~ '.' ~ person_id_column
        ) }} as person_key
    from {{ rows ~ ('_to_load as ' ~ rows if loaded else '') }}
    left join persons
        on
            {{ rows }}.pseudonymised_person_id = persons.person_id
            and {{ scd2_valid_at('persons', rows ~ '.' ~ person_date) }}

),
{%- endmacro %}

{#
    A condition true when a row's key columns resolve differently now than the stored
    row's: `<new>.<column> != <stored>.<column>` for each column, joined by `or` (a null
    on either side is not a difference; key columns are never null). Used by an
    incremental fact that reloads a stored row whose dimension keys changed since it was
    written (a '-2' key whose dimension row arrived, a person or an SCD2 version that
    changed), in keyed_fact_rows_to_load() (fct_prison_movements).

    Example:
        where {{ keys_differ(
            'movements_keyed', 'stored_movements', ['date_key', 'person_key']
        ) }}
#}
{% macro keys_differ(new, stored, key_columns) -%}
    {%- for column in key_columns %}
        {% if not loop.first %}or {% endif -%}
        {{ new }}.{{ column }} != {{ stored }}.{{ column }}
    {%- endfor %}
{%- endmacro %}

{#
    The rows an incremental transaction fact (delete+insert on `unique_key`) loads when
    every column of a row is a function of its source row and the dimensions: a full
    refresh loads every row of `keyed`; an incremental run loads
      (a) rows whose extracted_at is after the high-water mark max(extracted_at) of the
          stored table (new and late rows), and rows not in the table yet;
      (b) stored rows whose keys (`key_columns`) resolve differently now (keys_differ():
          a '-2' key whose dimension row has arrived, a person whose linkage or SCD2
          history changed, a dimension version that changed).
    So an incremental run gives the same table as a full refresh.

    Input, a CTE name in the calling model: `keyed` (the source rows with their
    dimension keys resolved, `unique_key` and extracted_at). CTEs emitted, each ending
    with a comma: stored_rows and high_water_mark (incremental only), rows_to_load
    (every column of `keyed`).

    Example (fct_prison_movements):
        {{ keyed_fact_rows_to_load(
            'movements_keyed', 'movement_id', ['date_key', 'person_key'],
        ) }}
#}
{% macro keyed_fact_rows_to_load(keyed, unique_key, key_columns) -%}
{% if is_incremental() %}

stored_rows as (

    select * from {{ this }}

),

high_water_mark as (

    select {{ high_water_mark('extracted_at') }} as max_extracted_at
    from stored_rows

),

{% endif %}

rows_to_load as (

    select {{ keyed }}.*
    from {{ keyed }}
    {%- if is_incremental() %}
    cross join high_water_mark
    left join stored_rows
        on {{ keyed }}.{{ unique_key }} = stored_rows.{{ unique_key }}
    where
        {{ keyed }}.extracted_at > high_water_mark.max_extracted_at
        or stored_rows.{{ unique_key }} is null
        or {{ keys_differ(keyed, 'stored_rows', key_columns) }}
    {%- endif %}

),
{%- endmacro %}

{#
    The rows an incremental accumulating snapshot (one row per case, application or
    order; `delete+insert` on that grain's key) loads. A full refresh loads every row; an
    incremental run loads the rows of the keys:
      (a) not in the stored table yet;
      (b) whose stored row has a key among `default_keyed_columns` at the not-yet-arrived
          member '-2', so a dimension row that arrived since is picked up;
      (c) whose value of one of `compared_columns` now is distinct from the stored one.
    `compared_columns` must hold every input of a row except the date keys: the columns
    copied from the intermediate row (status, counts, flags, durations and the milestone
    dates themselves) and the keys of the other dimensions, resolved for every row in
    `rows` (cheap joins, a person's SCD2 version included). A date key is a function of
    its date, of flags that say whether the milestone applies (both compared) and of
    dim_date (static but for '-2', see (b)); so the costly date-key joins run on the
    loaded rows only, and every row not loaded equals what a full refresh gives. A key
    that leaves the intermediate cannot be deleted by `delete+insert`: the model then
    rebuilds in full (`meta: {grain_source: ...}`, see grain_source_full_rebuild_reason).

    Inputs: `rows`, a CTE of the calling model with `unique_key` and every column of
    `compared_columns`. CTEs emitted, each ending with a comma: stored_<rows>
    (incremental only) and <rows>_to_load (every column of `rows`).

    Example (fct_lpa_applications):
        {{ accumulating_snapshot_rows_to_load(
            rows='applications_resolved',
            unique_key='lpa_id',
            compared_columns=['donor_key', 'region_key', 'status_code', ...],
            default_keyed_columns=['received_date_key', 'donor_key', ...],
        ) }}
#}
{% macro accumulating_snapshot_rows_to_load(
    rows,
    unique_key,
    compared_columns,
    default_keyed_columns
) -%}
{%- set stored = 'stored_' ~ rows -%}
{% if is_incremental() %}

{{ stored }} as (

    select * from {{ this }}

),

{% endif %}

{{ rows }}_to_load as (

    select {{ rows }}.*
    from {{ rows }}
    {%- if is_incremental() %}
    left join {{ stored }}
        on {{ rows }}.{{ unique_key }} = {{ stored }}.{{ unique_key }}
    where
        {{ stored }}.{{ unique_key }} is null
        or {{ default_member_key('not_yet_arrived') }} in (
            {%- for column in default_keyed_columns %}
            {{ stored }}.{{ column }}{{ ',' if not loop.last }}
            {%- endfor %}
        )
        {%- for column in compared_columns %}
        or {{ rows }}.{{ column }} is distinct from {{ stored }}.{{ column }}
        {%- endfor %}
    {%- endif %}

),
{%- endmacro %}

{#
    A condition true for the rows whose `unique_key` has a stored row (in the
    model's own table) with one of `default_keyed_columns` at the
    not-yet-arrived member '-2': an accumulating snapshot that compares only
    the touched keys' rows still reloads these, so a dimension row that
    arrived since is picked up. Only on an incremental run.
#}
{% macro stored_not_yet_arrived(unique_key, default_keyed_columns) -%}
    {{ unique_key }} in (
        select stored.{{ unique_key }} from {{ this }} as stored
        where {{ default_member_key('not_yet_arrived') }} in (
            {{ default_keyed_columns | join(', ') }}
        )
    )
{%- endmacro %}
