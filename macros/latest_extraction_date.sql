{#
    One row, one column `as_of_date`: the latest `extraction_date` over
    `relations` (CTE names or relations, each with an `extraction_date`
    column). A table with no rows on the latest day still has the date from
    the others, so a quiet day is not taken for a missed extract. Portable SQL.
#}
{% macro latest_extraction_date(relations) -%}
    select max(extraction_date) as as_of_date
    from (
        {%- for relation in relations %}
        select max(extraction_date) as extraction_date from {{ relation }}
        {%- if not loop.last %}
        union all
        {%- endif %}
        {%- endfor %}
    ) as extraction_dates
{%- endmacro %}
