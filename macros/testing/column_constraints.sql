{#
    Helpers of the generic test `column_constraints`
    (tests/generic/column_constraints.sql).
#}

{#-
    The model node the generic test being compiled is attached to, or none
    (at parse time, or for a test not attached to a model or seed). Called
    from inside a test macro, whose own `model` argument is the relation:
    here `model` is the test node of the context.
-#}
{% macro constraint_tested_node() -%}
    {%- if not execute or model is not mapping
        or not model.get('attached_node') -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(graph.nodes.get(model.attached_node)) }}
{%- endmacro %}

{#-
    The names of the columns of `node` that declare a constraint of type
    `constraint_type` (`constraints: [{type: not_null}]`), in YAML order.
-#}
{% macro constrained_columns(node, constraint_type) -%}
    {%- set found = [] -%}
    {%- if node is not none -%}
        {%- for column in node.columns.values() -%}
            {%- for constraint in column.get('constraints') or [] -%}
                {%- if constraint.get('type') == constraint_type
                    and column.name not in found -%}
                    {%- do found.append(column.name) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(found) }}
{%- endmacro %}

{#-
    The columns among `columns` whose `not_null` constraint the stored table
    of `node` itself enforces on every write, so a data test need not read
    them. Dispatched: only on an engine that enforces the constraints of a
    model with an enforced contract, and only the columns the stored table
    declares NOT NULL (a table built before the constraint was added does
    not: its columns are still counted, until a full refresh).
-#}
{% macro columns_enforcing_not_null(node, columns) -%}
    {{ return(adapter.dispatch(
        'columns_enforcing_not_null', 'derived_tables')(node, columns)) }}
{%- endmacro %}

{#- DuckDB: `create table (... not null)`; every insert checks it. -#}
{% macro duckdb__columns_enforcing_not_null(node, columns) -%}
    {%- if not execute or node is none or not columns
        or node.resource_type != 'model'
        or not (node.config.get('contract') or {}).get('enforced') -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        select lower(column_name)
        from information_schema.columns
        where
            is_nullable = 'NO'
            and lower(table_schema) = '{{ node.schema | lower }}'
            and lower(table_name) = '{{ node.alias | lower }}'
            {%- if node.database %}
            and lower(table_catalog) = '{{ node.database | lower }}'
            {%- endif %}
    {%- endset -%}
    {%- set declared = run_query(query).columns[0].values() | list -%}
    {%- set found = [] -%}
    {%- for column in columns if column | lower in declared -%}
        {%- do found.append(column) -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#-
    Spark (plain Parquet tables): dbt-spark applies `not null` with an
    `alter table`, which only Delta supports, and skips it for Parquet
    (docs/spark.md). Other engines: not assumed.
-#}
{% macro default__columns_enforcing_not_null(node, columns) -%}
    {{ return([]) }}
{%- endmacro %}

{#-
    A SQL expression that stops the query with the text of the SQL string
    expression `message` when evaluated. Dispatched.
-#}
{% macro raise_sql_error(message) -%}
    {{ return(adapter.dispatch('raise_sql_error', 'derived_tables')(
        message)) }}
{%- endmacro %}

{% macro duckdb__raise_sql_error(message) -%}
    error({{ message }})
{%- endmacro %}

{% macro default__raise_sql_error(message) -%}
    raise_error({{ message }})
{%- endmacro %}
