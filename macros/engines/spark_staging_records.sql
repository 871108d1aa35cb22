{#
    Incremental staging on Spark: where each incremental staging model keeps
    its record (macros/staging/incremental_staging.sql, touched_rows.sql).

    DuckDB keeps the records in two tables of the staging schema that every
    model inserts into (`_staging_watermarks`, `_staging_sources`). On Spark
    concurrent inserts from the model threads into one Parquet table clash in
    Hadoop's output committer (`_temporary/0` of the table folder), so each
    model keeps its own record in its own table's properties (TBLPROPERTIES,
    in the metastore): one writer per table, no file written.

      derived.staging_invocation_id   the dbt invocation that last ran it
      derived.staging_patched_from    the watermark that run patched from,
                                      empty when it rebuilt the model in full
      derived.staging_source_watermark, derived.staging_source_rows,
      derived.staging_recorded_at     what record_staging_source records:
                                      its latest extraction date and its
                                      source's rows up to that date

    An `insert overwrite` (the delete+insert of spark_incremental.sql) keeps
    the properties; a full rebuild drops and creates the table, so the
    post-hook writes every property again.
#}

{#- The properties of a Spark table as a dict (`show tblproperties`). -#}
{% macro spark_table_properties(relation) -%}
    {%- set properties = {} -%}
    {%- for row in run_query('show tblproperties ' ~ relation).rows -%}
        {%- do properties.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {{ return(properties) }}
{%- endmacro %}

{#- `alter table ... set tblproperties` of a dict of string values. -#}
{% macro spark_set_table_properties_sql(relation, properties) -%}
    {%- set pairs = [] -%}
    {%- for key, value in properties.items() -%}
        {%- do pairs.append(
            "'" ~ key ~ "' = '" ~ spark_string_literal_body(value) ~ "'") -%}
    {%- endfor -%}
    {{ return('alter table ' ~ relation ~ ' set tblproperties ('
        ~ pairs | join(', ') ~ ')') }}
{%- endmacro %}

{#- The invocation properties of the model being run (see the header). -#}
{% macro spark_staging_invocation_properties() -%}
    {{ return({
        'derived.staging_invocation_id': invocation_id,
        'derived.staging_patched_from': staging_patched_from() or '',
    }) }}
{%- endmacro %}

{% macro spark__staging_watermark_record_sql() -%}
    {{ return(spark_set_table_properties_sql(
        this, spark_staging_invocation_properties())) }}
{%- endmacro %}

{#
    The tables that keep an invocation record in their properties, as
    [schema, `show table extended` pattern] pairs, one per schema: the
    incremental staging models (incremental, reading one source) and
    int_person_records_unioned (its pre-hook, record_person_records_watermark,
    keeps the same record). Named one by one (`a|b|...`), not `*`: listing a
    whole schema describes every table in it, and fails
    (TABLE_OR_VIEW_NOT_FOUND) when another model thread drops and creates one
    of the schema's table models at that moment.
#}
{% macro spark_recorded_tables() -%}
    {%- set by_schema = {} -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model'
        and node.config.materialized == 'incremental' -%}
        {%- set sources = [] -%}
        {%- for unique_id in node.depends_on.nodes
            if unique_id.startswith('source.') -%}
            {%- do sources.append(unique_id) -%}
        {%- endfor -%}
        {%- if sources | length == 1
            or node.name == 'int_person_records_unioned' -%}
            {%- if node.schema not in by_schema -%}
                {%- do by_schema.update({node.schema: []}) -%}
            {%- endif -%}
            {%- do by_schema[node.schema].append(node.alias) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set listings = [] -%}
    {%- for schema in by_schema | sort -%}
        {%- do listings.append([schema, by_schema[schema] | sort | join('|')]) -%}
    {%- endfor -%}
    {{ return(listings) }}
{%- endmacro %}

{#
    This invocation's records (spark_recorded_tables), read from the tables'
    properties (`show table extended`, whose `information` lists them), one
    metastore call per schema, kept for this invocation's models only. A
    full rebuild of int_person_records_unioned drops the table and its
    record: its tests then read every row.
#}
{% macro spark__staging_invocation_watermarks() -%}
    {%- set found = [] -%}
    {%- for schema, pattern in spark_recorded_tables()
        if adapter.check_schema_exists(target.get('database'), schema) -%}
        {%- set listing = run_query(
            'show table extended in ' ~ schema ~ " like '" ~ pattern ~ "'") -%}
        {%- for row in listing.rows -%}
            {%- set invocation = modules.re.search(
                '[\\[ ]derived\\.staging_invocation_id=([^,\\]]*)', row[3]) -%}
            {%- if invocation and invocation.group(1) == invocation_id -%}
                {%- set patched = modules.re.search(
                    '[\\[ ]derived\\.staging_patched_from=([^,\\]]*)', row[3]) -%}
                {%- do found.append([
                    row[1], (patched.group(1) if patched else '') or none]) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{% macro spark__staging_source_record_sql(source_relation) -%}
    {%- set properties = {} -%}
    {%- if model is mapping and '_derived_staging_patched_from' in model -%}
        {%- do properties.update(spark_staging_invocation_properties()) -%}
    {%- endif -%}
    {%- set mark = run_query(
        'select cast(max(extraction_date) as string) from ' ~ this).rows[0][0] -%}
    {%- if mark -%}
        {%- set source_rows = run_query(
            staging_source_rows_sql(source_relation, mark)).rows[0][0] -%}
        {%- do properties.update({
            'derived.staging_source_watermark': mark,
            'derived.staging_source_rows': source_rows | string,
            'derived.staging_recorded_at':
                run_started_at.strftime('%Y-%m-%d %H:%M:%S'),
        }) -%}
    {%- endif -%}
    {%- if not properties -%}
        {{ return('select 1') }}
    {%- endif -%}
    {{ return(spark_set_table_properties_sql(this, properties)) }}
{%- endmacro %}

{% macro spark__staging_recorded_rows_sql(relation) -%}
    {%- set properties = spark_table_properties(relation) -%}
    {%- set mark = properties.get('derived.staging_source_watermark') -%}
    {%- set source_rows = properties.get('derived.staging_source_rows') -%}
    {%- if not mark or not source_rows -%}
        {{ return('cast(null as bigint)') }}
    {%- endif -%}
    {%- set recorded_rows -%}
        case
            when (select cast(extraction_date as string) from watermark)
                = '{{ mark }}'
                then cast({{ source_rows | int }} as bigint)
        end
    {%- endset -%}
    {{ return(recorded_rows) }}
{%- endmacro %}
