{#
    The `not_null` constraints declared on a model's (or seed's) columns
    (`constraints: [{type: not_null}]`), checked in one query per model
    instead of one `not_null` test per column.

    Columns whose stored table enforces the constraint on every write
    (columns_enforcing_not_null: on DuckDB, the columns a model with an
    enforced contract declares NOT NULL) are not read again. The others
    (models without a contract, seeds, every column on Spark) are counted
    in one scan of the model: on an incremental run, of the touched rows
    (macros/staging/touched_rows.sql).

    A failure names the model, the rule and each failing column with its
    null rows: at error severity the query stops with that message (DuckDB
    `error`, Spark `raise_error`: raise_sql_error), so `dbt build` and
    run_results.json show it; at warn severity it returns one row holding
    it (`failure`).
#}
{% test column_constraints(model) %}

{%- set tested = constraint_tested_node() %}
{%- set declared = constrained_columns(tested, 'not_null') %}
{%- set enforced = columns_enforcing_not_null(tested, declared) %}
{%- set columns = [] %}
{%- for column in declared if column not in enforced %}
    {%- do columns.append(column) %}
{%- endfor %}
{%- set name = tested.alias if tested is not none else 'model' %}
{%- set message = "'" ~ name ~ ": not_null constraint fails on ' || failure" %}

with

{%- if not columns %}

failures as (

    select cast('' as {{ dbt.type_string() }}) as failure

),
{%- else %}

counted as (

    select
        {%- for column in columns %}
        sum(
            case when {{ column }} is null then 1 else 0 end
        ) as nulls_{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}

),

failures as (

    select
        concat_ws(
            ', '
            {%- for column in columns %},
            case
                when nulls_{{ loop.index }} > 0
                    then '{{ column }} ('
                    || cast(nulls_{{ loop.index }} as {{ dbt.type_string() }})
                    || ' rows)'
            end
            {%- endfor %}
        ) as failure
    from counted

),
{%- endif %}

validation_errors as (

    select {{ message }} as failure
    from failures
    where
        {%- if (config.get('severity') or 'error') | lower == 'error' %}
        case
            when failure <> '' then {{ raise_sql_error(message) }}
            else false
        end
        {%- else %}
        failure <> ''
        {%- endif %}

)

select * from validation_errors

{% endtest %}
