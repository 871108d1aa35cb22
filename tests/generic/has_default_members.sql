{#
    Kimball default members: the dimension key column holds exactly one row
    for each default member key of default_member_key() ('-1' missing, '-2'
    not yet arrived, '-3' not applicable), flagged by `flag_column`, and no
    other row is flagged. Fails with one row per problem and a
    `failure_reason`.
#}
{% test has_default_members(
    model,
    column_name,
    flag_column='is_default_member'
) %}

{%- set kinds = ['missing', 'not_yet_arrived', 'not_applicable'] %}

with

expected as (

    {% for kind in kinds -%}
    select
        cast({{ default_member_key(kind) }} as {{ dbt.type_string() }})
            as member_key,
        '{{ kind }}' as member_kind
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

found as (

    select
        cast({{ column_name }} as {{ dbt.type_string() }}) as member_key,
        count(*) as n_rows,
        sum(
            {%- if flag_column %}
            case when {{ flag_column }} then 1 else 0 end
            {%- else %}
            1
            {%- endif %}
        ) as n_flagged

    from {{ model }}

    group by cast({{ column_name }} as {{ dbt.type_string() }})

),

checked as (

    select
        coalesce(expected.member_key, found.member_key) as member_key,
        expected.member_kind,
        coalesce(found.n_rows, 0) as n_rows,
        coalesce(found.n_flagged, 0) as n_flagged,
        case
            when expected.member_key is null
                then 'flagged as a default member but not a default key'
            when found.member_key is null
                then 'default member row is missing'
            when found.n_rows > 1
                then 'default member key is not unique'
            when found.n_flagged < found.n_rows
                then 'default member row is not flagged as one'
        end as failure_reason

    from expected

    full outer join found
        on expected.member_key = found.member_key

    where expected.member_key is not null or found.n_flagged > 0

),

validation_errors as (

    select * from checked where failure_reason is not null

)

select * from validation_errors

{% endtest %}
