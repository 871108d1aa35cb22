{#
    on-run-start guard: stop the run with a clear message when no curated data has been generated,
    instead of failing later on a missing Parquet file deep inside a staging view.
#}
{% macro check_curated_data() %}
    {% if execute and flags.WHICH in ('build', 'run', 'test', 'seed', 'snapshot', 'compile', 'show') %}
        {% set root = var('curated_root') %}
        {% set probe %}
            select count(*) as n_files
            from glob('{{ root }}/*/*/*/*.parquet')
        {% endset %}
        {% set n_files = run_query(probe).columns[0].values()[0] %}
        {% if n_files == 0 %}
            {{ exceptions.raise_compiler_error(
                "No curated data found under '" ~ root ~ "'. Run the generator first: "
                ~ "`derived generate --scale 1` (or `make data`), or set DERIVED_DATA_DIR."
            ) }}
        {% endif %}
    {% endif %}
    select 1
{% endmacro %}
