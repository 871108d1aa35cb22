{#
    Seeds on Spark. dbt-spark's session cursor fills the `%s` bindings of its seed inserts by
    plain string formatting, with no escaping, so a value holding a quote ("New Year's Day")
    breaks the statement. This override renders every value as an escaped string literal
    (backslash escapes, Spark's rule) cast to the column's type, in batches as dbt-spark does,
    and takes the seeds' `column_types` through spark_type_name(). Null stays null.
#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {% set batch_size = get_batch_size() %}
    {% set column_override = model['config'].get('column_types', {}) %}
    {% set types = [] %}
    {% for col_name in agate_table.column_names %}
        {% do types.append(derived_tables.spark_type_name(column_override.get(
            col_name, adapter.convert_type(agate_table, loop.index0)
        ))) %}
    {% endfor %}
    {% set statements = [] %}
    {% for chunk in agate_table.rows | batch(batch_size) %}
        {% set sql %}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for value in row -%}
                    {%- if value is none -%}
                        cast(null as {{ types[loop.index0] }})
                    {%- else -%}
                        cast('{{ derived_tables.spark_string_literal_body(value) }}'
                            as {{ types[loop.index0] }})
                    {%- endif -%}
                    {%- if not loop.last %}, {% endif -%}
                {%- endfor -%})
                {%- if not loop.last %},{% endif %}
            {% endfor %}
        {% endset %}
        {% do adapter.add_query(sql, abridge_sql_log=True) %}
        {% if loop.index0 == 0 %}
            {% do statements.append(sql) %}
        {% endif %}
    {% endfor %}
    {{ return(statements[0]) }}
{% endmacro %}

{#- dbt-spark's create_csv_table, with the seeds' column_types translated. -#}
{% macro spark__create_csv_table(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set quote_seed_column = model['config'].get('quote_columns', None) -%}
    {% set sql %}
        create table {{ this.render() }} (
            {%- for col_name in agate_table.column_names -%}
                {%- set type = derived_tables.spark_type_name(column_override.get(
                    col_name, adapter.convert_type(agate_table, loop.index0)
                )) -%}
                {{ adapter.quote_seed_column(col_name | string, quote_seed_column) }}
                {{ type }}{{ ', ' if not loop.last }}
            {%- endfor -%}
        )
        {{ file_format_clause() }}
        {{ partition_cols(label="partitioned by") }}
        {{ clustered_cols(label="clustered by") }}
        {{ location_clause() }}
        {{ comment_clause() }}
    {% endset %}
    {% call statement('_') -%}
        {{ sql }}
    {%- endcall %}
    {{ return(sql) }}
{% endmacro %}

{#- The body of a Spark string literal for `value`: backslashes and quotes escaped. -#}
{% macro spark_string_literal_body(value) -%}
    {%- set text = value | string -%}
    {{- text | replace('\\', '\\\\') | replace("'", "\\'") -}}
{%- endmacro %}
