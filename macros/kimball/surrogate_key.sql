{#
    The project's one surrogate-key macro. Hashes the given column expressions into a stable
    VARCHAR key: each value is cast to text, nulls become a sentinel, values are joined with '-'
    and the result is md5-hashed (portable: dbt.hash, dbt.concat, dbt.type_string).

    Default members do not go through this macro: they use the fixed keys of default_member_key().

    Example: {{ surrogate_key(['defendant_id', 'valid_from']) }}
#}
{% macro surrogate_key(field_list) -%}
    {{ return(adapter.dispatch('surrogate_key', 'derived_tables')(field_list)) }}
{%- endmacro %}

{% macro default__surrogate_key(field_list) -%}
    {%- set fields = [] -%}
    {%- for field in field_list -%}
        {%- do fields.append(
            "coalesce(cast(" ~ field ~ " as " ~ dbt.type_string() ~ "), '_null_')"
        ) -%}
        {%- if not loop.last -%}{%- do fields.append("'-'") -%}{%- endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(fields)) }}
{%- endmacro %}
