{#
    The columns of `relation`, except `columns` (compared case-insensitively;
    absent ones are ignored), as a list of quoted names: a source test can
    then compare rows "identical but for the partition column" in plain SQL
    (`select distinct`, `group by` the list) that every engine runs, with no
    engine-specific "all columns but" syntax and no `group by all`. The names
    come from the relation itself (`select * ... where 1 = 0`), so a source
    read in place, whose columns the warehouse does not list, works too. At
    parse time (nothing executed) the list is empty.
#}
{% macro columns_except(relation, columns) -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set excluded = columns | map('lower') | list -%}
    {%- set probe -%}
        select * from {{ relation }} where 1 = 0
    {%- endset -%}
    {%- set kept = [] -%}
    {%- for name in run_query(probe).column_names -%}
        {%- if name | lower not in excluded -%}
            {%- do kept.append(adapter.quote(name)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if kept | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "columns_except: " ~ relation ~ " has no column besides "
            ~ columns | join(', ')) }}
    {%- endif -%}
    {{ return(kept) }}
{%- endmacro %}
