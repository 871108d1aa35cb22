{#
    The `delete+insert` incremental strategy on Spark with plain Parquet tables.

    The incremental facts use `delete+insert` keyed by their `unique_key` (DuckDB runs it
    natively). dbt-spark accepts only `append`, `insert_overwrite` and, on Delta / Iceberg /
    Hudi, `merge`: Parquet files cannot delete rows. These two overrides (dbt resolves the
    root project's macros before the adapter's) add `delete+insert` for Spark with the same
    result as DuckDB's: the target keeps every row whose key is not in the new batch
    (`not exists`, so rows with a null key are kept, as `delete ... where key in (...)`
    keeps them), the batch is added, and the target is rewritten from that in one
    `insert overwrite` (through a staging table: Spark cannot overwrite a table it reads).
    It rewrites the whole table, so it costs the table's size rather than the batch's; every
    other strategy goes to dbt-spark unchanged.
#}
{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) %}
    {% if raw_strategy == 'delete+insert' %}
        {% do return(raw_strategy) %}
    {% endif %}
    {% do return(dbt.dbt_spark_validate_get_incremental_strategy(
        raw_strategy, file_format)) %}
{% endmacro %}

{% macro dbt_spark_get_incremental_sql(
    strategy, source, target, existing, unique_key, incremental_predicates
) %}
    {% if strategy != 'delete+insert' %}
        {% do return(dbt.dbt_spark_get_incremental_sql(
            strategy, source, target, existing, unique_key, incremental_predicates)) %}
    {% endif %}
    {% if not unique_key %}
        {{ exceptions.raise_compiler_error(
            "delete+insert on Spark needs a unique_key (model " ~ this ~ ")") }}
    {% endif %}
    {% set keys = [unique_key] if unique_key is string else unique_key %}
    {% set columns = adapter.get_columns_in_relation(target) %}
    {% set column_list = columns | map(attribute='name') | join(', ') %}
    {% set staging = target.incorporate(
        path={'identifier': target.identifier ~ '__dbt_delete_insert'}) %}
    {% do run_query('drop table if exists ' ~ staging) %}
    {% set keep_and_add %}
        create table {{ staging }} using parquet as
        select {{ column_list }}
        from {{ target }} as kept
        where not exists (
            select 1
            from {{ source }} as batch
            where
                {%- for key in keys %}
                batch.{{ key }} = kept.{{ key }}{{ ' and' if not loop.last }}
                {%- endfor %}
        )
        union all
        select {{ column_list }}
        from {{ source }}
    {% endset %}
    {% do run_query(keep_and_add) %}
    {% do run_query(
        'insert overwrite table ' ~ target ~ ' select ' ~ column_list ~ ' from ' ~ staging) %}
    {% do return('drop table if exists ' ~ staging) %}
{% endmacro %}
