{#
    The current-state staging models (stg_<system>__<entities>: the current
    version of each key of a history model, `where is_current`) are
    incremental, `delete+insert` on the natural key, marked
    `meta: {current_versions_of: <history model>}`. On an incremental run
    they reload only the keys their history model restaged in this
    invocation: the keys with a row delivered after the watermark it patched
    from (a restaged key whose new delivery lost its de-duplication has
    unchanged versions, so its current row is unchanged too). A key never
    leaves a history model patched by key (every key keeps exactly one
    current version), so `delete+insert` gives what a full refresh gives.
    They are rebuilt in full (current_versions_full_rebuild_reason) when the
    history model did not run in this invocation or was rebuilt in full.
    Not seen, as for the courts chain: a bare `dbt run` that patched a
    history model and failed before its current-state model ran (the next
    run reloads only the keys after the new watermark); `derived build`
    never keeps such a state (a failed build leaves the private build file
    as it was). Run `--full-refresh` after such a failure. Portable SQL.
#}

{#
    A condition true for the rows to reload: on an incremental run, the rows
    of the keys of `history` (the model's import CTE of its history model)
    restaged in this invocation; `true` on a full build.
#}
{% macro current_versions_touched(history, natural_key) -%}
    {%- if is_incremental() -%}
        {{ natural_key }} in (
            select {{ natural_key }} from {{ history }}
            where extraction_date > cast('{{ current_versions_watermark() }}' as date)
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- The watermark the history model of the model being run patched from. -#}
{% macro current_versions_watermark() -%}
    {%- set history = config.get('meta')['current_versions_of'] -%}
    {{ return(staging_invocation_patched()[history]) }}
{%- endmacro %}

{#
    Why a current-state staging model must be rebuilt in full on this run,
    or an empty string (see the header). Empty for every other model.
#}
{% macro current_versions_full_rebuild_reason() -%}
    {%- set history = (config.get('meta') or {}).get('current_versions_of') -%}
    {%- if not history or load_relation(this) is none -%}
        {{ return('') }}
    {%- endif -%}
    {{ return(staging_patch_problem(staging_invocation_patched(), [history])) }}
{%- endmacro %}
