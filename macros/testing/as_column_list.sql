{#
    Normalise a generic-test argument that names one or more columns (a
    string or a list of strings) into a list, so tests accept both
    `key_columns: person_id` and `key_columns: [source_system, person_id]`.
    `argument_name` only feeds the error message.
#}
{% macro as_column_list(columns, argument_name='columns') -%}
    {%- if columns is string -%}
        {{ return([columns]) }}
    {%- elif columns is iterable and columns is not mapping
        and columns | length > 0 -%}
        {{ return(columns | list) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "'" ~ argument_name ~ "' must be a column name or a non-empty"
            ~ " list of column names, got: " ~ columns) }}
    {%- endif -%}
{%- endmacro %}
