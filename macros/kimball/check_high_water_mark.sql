{#
    Guard of an incremental fact against a high-water mark from the future.
    On an incremental run, compares the stored high-water mark (the latest
    `column` in {{ this }}) with the newest `upstream_column` of `upstream`
    (the relation the fact's high-water-mark filter reads). When the stored
    mark is ahead, rows were withdrawn or re-dated since the last build (say a
    future-dated partition, loaded once, then removed): the filter
    `upstream_column > <mark>` would silently skip every later row. The run
    stops, naming the model, both timestamps and the fix. Nothing on a full
    refresh, a first build or in a unit test (no stored table: `this` is a
    CTE there). Call it at the top of the model.
#}
{% macro check_high_water_mark(upstream, upstream_column, column='extracted_at') %}
    {%- if execute and is_incremental()
        and model.resource_type != 'unit_test'
        and load_relation(this) is not none -%}
        {%- set probe -%}
            select
                (select max({{ column }}) from {{ this }}) as stored_mark,
                (select max({{ upstream_column }}) from {{ upstream }})
                    as newest_upstream
        {%- endset -%}
        {%- set row = run_query(probe).rows[0] -%}
        {%- if row[0] is not none and (row[1] is none or row[0] > row[1]) -%}
            {{ exceptions.raise_compiler_error(
                this.identifier ~ ": the stored high-water mark (max "
                ~ column ~ " = " ~ row[0] ~ ") is ahead of the newest row of "
                ~ upstream.identifier ~ " (" ~ upstream_column ~ " = "
                ~ row[1] ~ "): data was withdrawn or re-dated since the last"
                ~ " build, and later rows would be skipped. Rebuild it:"
                ~ " `derived build --full-refresh`"
            ) }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
