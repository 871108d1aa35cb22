{#
    The rows of a dimension plus its three default members (Kimball Design Tip #128), in one
    select that every dimension ends with, so no dimension repeats the default-member logic:

        select <columns>, false as is_default_member from <dimension_cte>
        union all  <the 'missing' row: key '-1'>
        union all  <the 'not yet arrived' row: key '-2'>
        union all  <the 'not applicable' row: key '-3'>

    dimension_cte: the CTE (or relation) holding the real dimension rows.
    columns: an ordered mapping column name -> what the default rows hold in that column,
        in the order of the dimension's contract (`is_default_member` is appended last):
          'key'    the default member key of the row's kind (default_member_key): for the
                   dimension key and for outrigger keys such as region_key
          'label'  the readable label: 'Missing', 'Not yet arrived', 'Not applicable'
          'null'   null (numbers, dates, flags that are unknown)
          a dict   one SQL expression per kind: {'missing': ..., 'not_yet_arrived': ...,
                   'not_applicable': ...} (all three kinds required)
          any other string: one SQL expression for all three rows, e.g. 'true' or
                   "cast('1900-01-01' as date)" for the valid_from of an SCD2 dimension

    Example:
        {{ default_member_rows('regions', {
            'region_key': 'key',
            'region_code': 'label',
            'region_name': 'label',
            'population': 'null',
        }) }}
#}
{% macro default_member_rows(dimension_cte, columns) -%}
    {%- set kinds = ['missing', 'not_yet_arrived', 'not_applicable'] -%}
    {%- if columns is not mapping or columns | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "default_member_rows: columns must be a non-empty mapping of column name "
            ~ "to default spec") }}
    {%- endif -%}
    {%- if 'is_default_member' in columns -%}
        {{ exceptions.raise_compiler_error(
            "default_member_rows: is_default_member is added by the macro, "
            ~ "do not list it in columns") }}
    {%- endif -%}
    select
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        false as is_default_member
    from {{ dimension_cte }}
    {%- for kind in kinds %}

    union all

    select
        {%- for column, spec in columns.items() %}
        {{ default_member_value(column, spec, kind) }} as {{ column }},
        {%- endfor %}
        true as is_default_member
    {%- endfor %}
{%- endmacro %}

{#- The SQL value of one column in the default row of one kind (see default_member_rows) -#}
{% macro default_member_value(column, spec, kind) -%}
    {%- set labels = {
        'missing': "'Missing'",
        'not_yet_arrived': "'Not yet arrived'",
        'not_applicable': "'Not applicable'",
    } -%}
    {%- if spec is mapping -%}
        {%- if kind not in spec -%}
            {{ exceptions.raise_compiler_error(
                "default_member_rows: column " ~ column ~ " has no value for kind " ~ kind) }}
        {%- endif -%}
        {{ spec[kind] }}
    {%- elif spec == 'key' -%}
        {{ default_member_key(kind) }}
    {%- elif spec == 'label' -%}
        {{ labels[kind] }}
    {%- elif spec == 'null' -%}
        null
    {%- elif spec is string and spec | trim != '' -%}
        {{ spec }}
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "default_member_rows: column " ~ column ~ " has an invalid default spec: "
            ~ spec) }}
    {%- endif -%}
{%- endmacro %}
