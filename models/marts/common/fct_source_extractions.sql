{#-
    One row per curated source table and extraction date that this build
    read: under `derived build`, the partitions it pinned when it started
    (files landing later wait for the next build). Rebuilt in full on every
    build, so the published warehouse always says what it was built from.
-#}

with

curated_files as (

    {{ curated_partition_files() }}

),

partitions as (

    select
        source_system,
        source_table,
        extraction_date,
        count(*) as file_count
    from curated_files
    group by source_system, source_table, extraction_date

),

final as (

    select
        -- ids
        {{ surrogate_key([
            'source_system', 'source_table', 'extraction_date',
        ]) }} as source_extraction_key,

        -- strings
        source_system,
        source_table,

        -- numerics
        cast(file_count as {{ dbt.type_int() }}) as file_count,

        -- booleans
        extraction_date = max(extraction_date) over (
            partition by source_system, source_table
        ) as is_latest_extraction,

        -- dates
        extraction_date,
        {{ build_as_of_date() }} as build_as_of_date

    from partitions

)

select * from final
