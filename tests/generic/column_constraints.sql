{#
    The row constraints declared on a model's (or seed's) columns, checked
    in one query per model instead of one test per column and rule:
    `not_null` (`constraints: [{type: not_null}]`) and `check`
    (`constraints: [{type: check, expression: ...}]`, the accepted ranges
    and code lists: docs/data-quality.md).

    Constraints the stored table enforces on every write are not read again:
    on DuckDB, a model with an enforced contract is created with them, so the
    columns its table declares NOT NULL (columns_enforcing_not_null) and the
    check expressions its table carries (checks_enforced_by_table) are
    skipped. The others (models without a contract, seeds, every constraint
    on Spark) are counted in one scan of the model: on an incremental run,
    of the touched rows (macros/staging/touched_rows.sql).

    A check fails on the rows where its expression is false; a null result
    (a null value) passes, as in a CHECK constraint and in the
    `accepted_values` and `accepted_range` tests.

    A failure names the model, the rule and each failing column with its
    failing rows (and a check's expression): at error severity the query
    stops with that message (DuckDB `error`, Spark `raise_error`:
    raise_sql_error), so `dbt build` and run_results.json show it; at warn
    severity it returns one row holding it (`failure`).
#}
{% test column_constraints(model) %}

{%- set tested = constraint_tested_node() %}
{%- set declared = constrained_columns(tested, 'not_null') %}
{%- set enforced = columns_enforcing_not_null(tested, declared) %}
{%- set columns = [] %}
{%- for column in declared if column not in enforced %}
    {%- do columns.append(column) %}
{%- endfor %}
{%- set declared_checks = constrained_checks(tested) %}
{%- set enforced_checks = checks_enforced_by_table(tested, declared_checks) %}
{%- set checks = [] %}
{%- for check in declared_checks if check not in enforced_checks %}
    {%- do checks.append(check) %}
{%- endfor %}
{%- set name = tested.alias if tested is not none else 'model' %}
{%- set message = "'" ~ name ~ ": ' || failure" %}

with

{%- if not columns and not checks %}

failures as (

    select cast('' as {{ dbt.type_string() }}) as failure

),
{%- else %}

counted as (

    select
        {%- for column in columns %}
        sum(
            case when {{ column }} is null then 1 else 0 end
        ) as nulls_{{ loop.index }},
        {%- endfor %}
        {%- for check in checks %}
        sum(
            case when not ({{ check.expression }}) then 1 else 0 end
        ) as fails_{{ loop.index }},
        {%- endfor %}
        count(*) as counted_rows
    from {{ model }}

),

failures as (

    select
        concat_ws(
            '; '
            {%- if columns %},
            case
                when
                    {%- for column in columns %}
                    {{ 'or ' if not loop.first }}nulls_{{ loop.index }} > 0
                    {%- endfor %}
                    then 'not_null constraint fails on ' || concat_ws(
                        ', '
                        {%- for column in columns %},
                        case
                            when nulls_{{ loop.index }} > 0
                                then '{{ column }} ('
                                || cast(
                                    nulls_{{ loop.index }}
                                    as {{ dbt.type_string() }}
                                )
                                || ' rows)'
                        end
                        {%- endfor %}
                    )
            end
            {%- endif %}
            {%- for check in checks %},
            case
                when fails_{{ loop.index }} > 0
                    then 'check constraint fails on {{ check.column }} ('
                    || cast(fails_{{ loop.index }} as {{ dbt.type_string() }})
                    || ' rows): '
                    || '{{ dbt.escape_single_quotes(check.expression) }}'
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
