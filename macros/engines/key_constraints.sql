{#
    The key constraints of a contracted model (`primary_key`, `unique`,
    `foreign_key`) are declared, tested and documented, not enforced by an
    index on DuckDB (docs/data-quality.md, "Primary keys: declared and tested,
    not indexed").

    DuckDB enforces a PRIMARY KEY or UNIQUE constraint with an ART index built
    on every insert, and a FOREIGN KEY needs one on the table it references.
    On the marts that index doubled the published file (0.63 to 1.30 GB at
    scale 10), more than doubled the time to copy it (8.7 to 23.3 s), was paid
    by every insert and incremental delete+insert, and held in memory whole.
    The keys are checked by the tests dbt runs anyway (`unique` on the key,
    the `not_null` constraint, `relationships`), as on Spark, Athena and
    every warehouse where dbt declares keys without enforcing them.

    `duckdb__get_table_columns_and_constraints` overrides dbt's macro of the
    same name (namespace `dbt`; dbt-duckdb's `create_table_as` calls it for a
    contracted model): the same column list, types and row constraints
    (`not_null`, `check`, `custom`), without the key constraints. The
    manifest keeps them, so the catalogue, `make conventions` and the other
    engines see the declaration. Spark renders dbt-spark's own DDL (its
    Parquet tables take no constraint), unchanged.
#}

{#- The constraint types that need an index on DuckDB. -#}
{% macro index_constraint_types() -%}
    {{ return(['primary_key', 'unique', 'foreign_key']) }}
{%- endmacro %}

{#-
    `constraints` (a list of constraint mappings, as in the manifest) without
    those of `index_constraint_types()`.
-#}
{% macro without_index_constraints(constraints) -%}
    {%- set kept = [] -%}
    {%- for constraint in constraints or [] -%}
        {%- if constraint.get('type') not in index_constraint_types() -%}
            {%- do kept.append(constraint) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(kept) }}
{%- endmacro %}

{% macro duckdb__get_table_columns_and_constraints() -%}
    {%- set columns = {} -%}
    {%- for name, column in model['columns'].items() -%}
        {%- set unindexed = dict(column) -%}
        {%- do unindexed.update({
            'constraints': without_index_constraints(column.get('constraints')),
        }) -%}
        {%- do columns.update({name: unindexed}) -%}
    {%- endfor -%}
    {%- set raw_column_constraints = adapter.render_raw_columns_constraints(
        raw_columns=columns) -%}
    {%- set raw_model_constraints = adapter.render_raw_model_constraints(
        raw_constraints=without_index_constraints(model['constraints'])) -%}
    (
    {% for c in raw_column_constraints -%}
        {{ c }}{{ "," if not loop.last or raw_model_constraints }}
    {% endfor %}
    {% for c in raw_model_constraints -%}
        {{ c }}{{ "," if not loop.last }}
    {% endfor -%}
    )
{%- endmacro %}
