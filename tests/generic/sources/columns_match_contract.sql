{#
    Schema contract of a curated source (attach to a source table): every
    Parquet file holds every column declared in the sources YAML (Hive
    partition columns aside), each with its declared `data_type`. A missing or
    retyped column stops the build with an error naming them, e.g.
    "nomis.bookings: column establishment_code missing (1 of 1 files, first in
    extraction_date=2024-06-03)". Text delivered where a date or timestamp is
    declared (`text_types`) is not an error: staging parses it value by value
    (dbt.safe_cast), so the test only warns, and values_parse_as_declared_type
    counts the values that do not parse. Columns the YAML does not declare are
    the business of columns_all_declared (a warning).
#}
{% test columns_match_contract(
    model,
    partition_columns=['extraction_date'],
    text_types=['date', 'timestamp']
) %}

{%- if execute %}
    {%- set node = curated_source_node(model) %}
    {%- set drift_sql = curated_schema_drift_sql(
        node, partition_columns, text_types | map('upper') | list) %}
    {%- set errors = [] %}
    {%- for row in run_query(drift_sql).rows %}
        {%- if row['problem'] in ('missing', 'retyped') %}
            {%- do errors.append(describe_schema_drift(node, row)) %}
        {%- elif row['problem'] == 'text' %}
            {%- do exceptions.warn(
                describe_schema_drift(node, row)
                ~ ": staging parses the text value by value;"
                ~ " see values_parse_as_declared_type") %}
        {%- endif %}
    {%- endfor %}
    {%- if errors %}
        {{ exceptions.raise_compiler_error(
            "schema drift: " ~ errors | join('; ')) }}
    {%- endif %}

with

drift as (

    {{ drift_sql }}

),

validation_errors as (

    select * from drift
    where problem in ('missing', 'retyped')

)

select * from validation_errors

{%- else %}

select cast(null as {{ dbt.type_string() }}) as source_table
where 1 = 0

{%- endif %}

{% endtest %}
