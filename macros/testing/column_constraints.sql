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
    The `check` constraints declared on the columns of `node`, in YAML order:
    a list of mappings with `column` and `expression` (the SQL of the rule).
    A `check` constraint without an expression is a compilation error naming
    the node and the column.
-#}
{% macro constrained_checks(node) -%}
    {%- set found = [] -%}
    {%- if node is not none -%}
        {%- for column in node.columns.values() -%}
            {%- for constraint in column.get('constraints') or []
                if constraint.get('type') == 'check' -%}
                {%- if not constraint.get('expression') -%}
                    {%- do exceptions.raise_compiler_error(
                        node.name ~ '.' ~ column.name ~ ': a check constraint'
                        ~ ' needs an expression (the SQL of the rule)') -%}
                {%- endif -%}
                {%- do found.append({
                    'column': column.name,
                    'expression': constraint.get('expression') | trim,
                }) -%}
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
    The checks among `checks` (constrained_checks) that the stored table of
    `node` itself enforces on every write, so a data test need not evaluate
    them. Dispatched: only on an engine that enforces the constraints of a
    model with an enforced contract, and only the expressions the stored
    table carries (a table built before a check was added or changed does
    not: it is still read, until a full refresh).
-#}
{% macro checks_enforced_by_table(node, checks) -%}
    {{ return(adapter.dispatch(
        'checks_enforced_by_table', 'derived_tables')(node, checks)) }}
{%- endmacro %}

{#-
    DuckDB: `create table (... check (expression))`; every insert and update
    checks it, and no check can be added to an existing table, so every row
    of a table carrying it passes. Declared and stored expressions are
    compared as DuckDB prints them once parsed (json_serialize_sql, then
    json_deserialize_sql), so spacing, case and parentheses do not matter.
-#}
{% macro duckdb__checks_enforced_by_table(node, checks) -%}
    {%- if not execute or node is none or not checks
        or node.resource_type != 'model'
        or not (node.config.get('contract') or {}).get('enforced') -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        with declared (position, expression) as (
            values
            {%- for check in checks %}
            ({{ loop.index0 }},
                '{{ dbt.escape_single_quotes(check.expression) }}')
            {{- ',' if not loop.last }}
            {%- endfor %}
        ),

        stored as (
            select expression
            from duckdb_constraints()
            where
                constraint_type = 'CHECK'
                and lower(schema_name) = '{{ node.schema | lower }}'
                and lower(table_name) = '{{ node.alias | lower }}'
                {%- if node.database %}
                and lower(database_name) = '{{ node.database | lower }}'
                {%- endif %}
        )

        select declared.position
        from declared
        where exists (
            select 1
            from stored
            where
                {{ duckdb_parsed_sql('stored.expression') }}
                = {{ duckdb_parsed_sql('declared.expression') }}
        )
    {%- endset -%}
    {%- set positions = run_query(query).columns[0].values() | list -%}
    {%- set found = [] -%}
    {%- for check in checks -%}
        {%- if loop.index0 in positions -%}
            {%- do found.append(check) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#-
    DuckDB SQL giving the SQL expression held in the string column
    `expression` as DuckDB prints it once parsed, or null when it does not
    parse (then nothing matches it, and the test evaluates it).
-#}
{% macro duckdb_parsed_sql(expression) -%}
    case
        when json_extract_string(
            json_serialize_sql('select ' || {{ expression }}), '$.error'
        ) = 'false'
            then json_deserialize_sql(
                json_serialize_sql('select ' || {{ expression }})
            )
    end
{%- endmacro %}

{#-
    Spark (plain Parquet tables) and other engines: none. dbt-spark adds a
    check with an `alter table`, which only Delta supports, and skips it for
    Parquet (docs/spark.md).
-#}
{% macro default__checks_enforced_by_table(node, checks) -%}
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
