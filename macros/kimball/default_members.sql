{#
    Default (special) members carried by every dimension (Kimball Design Tip #128), so that a
    fact row whose foreign key is missing, not yet arrived or not applicable still joins.

    Fixed, readable keys shared by all dimensions:
      '-1' missing          the fact has no value for this key (null business key)
      '-2' not yet arrived  the fact names a business key the dimension does not hold (yet):
                            an orphan or late-arriving dimension row
      '-3' not applicable   the key does not apply to this fact row (e.g. no court on a licence)
#}
{% macro default_member_key(kind) -%}
    {%- set keys = {'missing': "'-1'", 'not_yet_arrived': "'-2'", 'not_applicable': "'-3'"} -%}
    {%- if kind not in keys -%}
        {{ exceptions.raise_compiler_error(
            "default_member_key: unknown kind '" ~ kind ~ "', expected one of "
            ~ keys.keys() | list | join(', ')) }}
    {%- endif -%}
    {{ keys[kind] }}
{%- endmacro %}

{#
    A fact's foreign key with its fallback to the default members:
      - business key null             -> missing
      - key not found in the dimension -> not yet arrived
    `dim_key` is the key column from the (left-joined) dimension, `business_key` the fact's
    natural key. When the key does not apply to the row, pass `applies` (a boolean SQL
    expression): rows where it is false get the not-applicable member.
#}
{% macro dimension_key(dim_key, business_key, applies=none) -%}
    case
        {%- if applies is not none %}
        when not ({{ applies }}) then {{ default_member_key('not_applicable') }}
        {%- endif %}
        when {{ business_key }} is null then {{ default_member_key('missing') }}
        when {{ dim_key }} is null then {{ default_member_key('not_yet_arrived') }}
        else {{ dim_key }}
    end
{%- endmacro %}
