{#
    on-run-start guard, before any model is built: stop the run with a clear
    message when no curated data has been generated (instead of failing later
    on a missing Parquet file deep inside a staging view), and when a curated
    partition is dated after the build's as-of date (a wrong clock upstream
    would otherwise move the incremental facts' high-water marks into the
    future), naming the table, the partition and both dates.
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
        {% set future_probe %}
            with files as ({{ curated_partition_files() }})
            select
                source_system || '.' || source_table
                    || '/extraction_date=' || cast(extraction_date as varchar),
                cast(extraction_date as varchar),
                cast({{ build_as_of_date() }} as varchar),
                count(*) over ()
            from files
            where extraction_date > {{ build_as_of_date() }}
            order by extraction_date, 1
            limit 1
        {% endset %}
        {% set future = run_query(future_probe).rows %}
        {% if future | length > 0 %}
            {% set row = future[0] %}
            {{ exceptions.raise_compiler_error(
                "future-dated partition " ~ row[0] ~ " (" ~ row[3]
                ~ " file(s) in all): its date " ~ row[1]
                ~ " is after the build's as-of date " ~ row[2]
                ~ "; nothing was built. Remove or re-date it upstream, or set"
                ~ " DERIVED_AS_OF (derived build --as-of) to the right date."
            ) }}
        {% endif %}
    {% endif %}
    select 1
{% endmacro %}
