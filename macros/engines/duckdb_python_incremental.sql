{#
    Incremental Python models on DuckDB leave no table behind.

    dbt-duckdb builds an incremental run's batch in a temporary relation, which a SQL
    model creates as a DuckDB temporary table (gone with the connection). A Python model's
    batch is written by its materialize() as an ordinary table in the warehouse's default
    schema (`main`), and dbt-duckdb, taking it for temporary, never drops it: every
    incremental run of the person linkage would leave a `<model>__dbt_tmp<time>` table.
    This override (the root project's macro comes before the adapter's; dbt-duckdb
    1.11's body, which the adapter's namespace cannot be called from here) marks a Python
    model's batch relation as not temporary, so the incremental materialization drops it
    once the batch is merged; SQL models, and MotherDuck, are unchanged.
#}
{% macro duckdb__dispatch_temporary_relation(target_relation, batch_id='') %}
    {#- dbt-duckdb's own macro, but for the `temporary` of a Python model -#}
    {% if adapter.is_motherduck() %}
        {% set relation = target_relation.incorporate(
            path=adapter.get_temp_relation_path(target_relation, batch_id)
        ) %}
        {% do run_query(create_schema(relation)) %}
        {% if not adapter.disable_transactions() %}
            {% do adapter.commit() %}
        {% endif %}
        {% do return({'relation': relation, 'temporary': false}) %}
    {% endif %}
    {% do return({
        'relation': make_temp_relation(target_relation),
        'temporary': model.language != 'python',
    }) %}
{% endmacro %}
