{#
    Values of a curated source delivered as text where the sources YAML
    declares another type (a date delivered as text, say) parse as that type
    (attach to a source table). Staging safe-casts them, so a value that does
    not parse becomes null: this test makes the loss visible. Fails with one
    row per unparseable value (source table, column, declared type, delivered
    value, partition) for every column whose unparseable share is above
    `at_most_share`: with the default 0 any such value is reported and the
    test warns; with a share (e.g. 0.01) it is an error. Columns delivered with
    their declared type are not scanned.
#}
{% test values_parse_as_declared_type(
    model,
    at_most_share=0,
    partition_columns=['extraction_date']
) %}

{{ config(severity='warn' if at_most_share == 0 else 'error') }}

{%- set text_columns = [] %}
{%- if execute %}
    {%- set node = curated_source_node(model) %}
    {%- set drift_sql = curated_schema_drift_sql(node, partition_columns) %}
    {%- for row in run_query(drift_sql).rows %}
        {%- if row['problem'] in ('text', 'retyped')
            and row['delivered_type'] == 'VARCHAR'
            and row['column_name'] not in text_columns | map(attribute=0) %}
            {%- do text_columns.append(
                [row['column_name'], row['declared_type'] | lower]) %}
        {%- endif %}
    {%- endfor %}
{%- endif %}

{%- if text_columns %}

with

unparseable as (

    {% for column, data_type in text_columns -%}
    select
        '{{ node.source_name }}.{{ node.name }}' as source_table,
        '{{ column }}' as column_name,
        '{{ data_type }}' as declared_type,
        cast({{ column }} as {{ dbt.type_string() }}) as delivered_value,
        cast(extraction_date as {{ dbt.type_string() }}) as extraction_date
    from {{ model }}
    where
        {{ column }} is not null
        and {{ dbt.safe_cast(column, data_type) }} is null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

delivered as (

    {% for column, data_type in text_columns -%}
    select
        '{{ column }}' as column_name,
        count({{ column }}) as n_values
    from {{ model }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

per_column as (

    select
        unparseable.column_name,
        count(*) as n_unparseable,
        max(delivered.n_values) as n_values
    from unparseable
    inner join delivered
        on unparseable.column_name = delivered.column_name
    group by unparseable.column_name

),

validation_errors as (

    select unparseable.*
    from unparseable
    inner join per_column
        on unparseable.column_name = per_column.column_name
    where
        per_column.n_unparseable
        > {{ at_most_share }} * per_column.n_values

)

select * from validation_errors

{%- else %}

select cast(null as {{ dbt.type_string() }}) as source_table
where 1 = 0

{%- endif %}

{% endtest %}
