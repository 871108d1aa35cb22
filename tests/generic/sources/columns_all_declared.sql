{#
    Every column of a curated source's Parquet files is declared in the
    sources YAML (attach to a source table). A new upstream column breaks
    nothing (staging selects its columns by name) but may carry data nobody
    has reviewed, personal data included, so it warns: one row per undeclared
    column and a warning naming it, e.g. "sirius.lpa_applications: column
    correspondence_language_code not declared in the sources YAML (type
    VARCHAR)".
#}
{% test columns_all_declared(
    model,
    partition_columns=['extraction_date']
) %}

{{ config(severity='warn') }}

{%- if execute %}
    {%- set node = curated_source_node(model) %}
    {%- set drift_sql = curated_schema_drift_sql(node, partition_columns) %}
    {%- for row in run_query(drift_sql).rows
        if row['problem'] == 'undeclared' %}
        {%- do exceptions.warn(describe_schema_drift(node, row)) %}
    {%- endfor %}

with

drift as (

    {{ drift_sql }}

),

validation_errors as (

    select * from drift
    where problem = 'undeclared'

)

select * from validation_errors

{%- else %}

select cast(null as {{ dbt.type_string() }}) as source_table
where 1 = 0

{%- endif %}

{% endtest %}
