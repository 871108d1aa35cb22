{#
    Deletes the rows of `relation` whose `key_column` is among the `key_column`
    values of the query `keys_sql`: the statement to run (a hook may return it).
    Dispatched: DuckDB (and any engine with DELETE) deletes in place; Spark's
    plain Parquet tables cannot delete rows, so the table is rewritten without
    them through a staging table (as the delete+insert strategy for Spark in
    spark_incremental.sql does: Spark cannot overwrite a table it reads).
#}
{% macro delete_rows_by_key(relation, key_column, keys_sql) -%}
    {{ return(adapter.dispatch('delete_rows_by_key', 'derived_tables')(
        relation, key_column, keys_sql)) }}
{%- endmacro %}

{% macro duckdb__delete_rows_by_key(relation, key_column, keys_sql) -%}
    {{ return(default__delete_rows_by_key(relation, key_column, keys_sql)) }}
{%- endmacro %}

{% macro default__delete_rows_by_key(relation, key_column, keys_sql) -%}
    {%- set statement -%}
        delete from {{ relation }}
        where {{ key_column }} in (
            select gone.{{ key_column }} from ({{ keys_sql }}) as gone
        )
    {%- endset -%}
    {{ return(statement) }}
{%- endmacro %}

{% macro spark__delete_rows_by_key(relation, key_column, keys_sql) -%}
    {%- set staging = relation.incorporate(
        path={'identifier': relation.identifier ~ '__dbt_delete'}) -%}
    {%- set columns = adapter.get_columns_in_relation(relation)
        | map(attribute='name') | join(', ') -%}
    {%- do run_query('drop table if exists ' ~ staging) -%}
    {%- set keep -%}
        create table {{ staging }} using parquet as
        select {{ columns }}
        from {{ relation }} as kept
        where not exists (
            select 1 from ({{ keys_sql }}) as gone
            where gone.{{ key_column }} = kept.{{ key_column }}
        )
    {%- endset -%}
    {%- do run_query(keep) -%}
    {%- do run_query(
        'insert overwrite table ' ~ relation ~ ' select ' ~ columns
        ~ ' from ' ~ staging) -%}
    {{ return('drop table if exists ' ~ staging) }}
{%- endmacro %}
