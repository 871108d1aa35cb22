{#
    Referential integrity on a subset: every non-null value of the column,
    among model rows matching `from_condition`, exists in `to`.`field`
    among rows matching `to_condition`. Fails with one row per missing
    value and the number of child rows holding it.
#}
{% test relationships_where(
    model,
    column_name,
    to,
    field,
    from_condition='1 = 1',
    to_condition='1 = 1'
) %}

with

child as (

    select {{ column_name }} as child_value

    from {{ model }}

    where
        {{ column_name }} is not null
        and ({{ from_condition }})

),

parent as (

    select {{ field }} as parent_value

    from {{ to }}

    where {{ to_condition }}

),

validation_errors as (

    select
        child.child_value as missing_value,
        count(*) as n_child_rows

    from child

    left join parent
        on child.child_value = parent.parent_value

    where parent.parent_value is null

    group by child.child_value

)

select * from validation_errors

{% endtest %}
