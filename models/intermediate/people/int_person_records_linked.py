"""Person records linked into people with Splink (a dbt Python model), incrementally.

Reads int_person_records_unioned (one row per court, prison and probation record) and returns
one row per record with its person: the cluster of records Splink links at a match probability
of at least derived_tables.linkage.MATCH_THRESHOLD, scored with the parameters of
int_person_linkage_parameters (learnt on the last full build). The model itself (comparisons,
blocking rules, threshold, training) lives in src/derived_tables/linkage.py, the incremental
re-linking in src/derived_tables/linkage_incremental.py, where both are unit-tested and
documented; this file only moves the data.

A full build links every record. An incremental run (delete+insert on record_key) re-links
only new and changed records and the people they can merge or split, and replaces only the
rows that changes; the parameters are not learnt again (docs/linkage.md says how far that
can drift from a full refresh, measured).

On DuckDB, Splink runs on its own in-memory DuckDB connection, fed with an Arrow copy of the
records, so that its working tables never touch the warehouse; dbt writes the returned table.
On Spark (link_model is handed Spark DataFrames) the records stay in Spark and Splink scores
them on its Spark backend with the same parameters (src/derived_tables/linkage_spark.py), so
both engines find the same people, incrementally too. On DuckDB it uses DUCKDB_THREADS
threads (as the profile does) and at most DERIVED_LINKAGE_MEMORY_LIMIT of memory (default
1500MB of DERIVED_MEMORY_BUDGET_MB, the rest being dbt's DuckDB: derived_tables.memory),
spilling to its own folder under DUCKDB_TEMP_DIRECTORY beyond (at scale 10 the linkage alone
peaks at 2.4 GB with 1500MB instead of 3.8 GB with 4GB, docs/linkage.md).
"""

import os


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="record_key",
        on_schema_change="fail",
    )

    from derived_tables.linkage_incremental import link_model
    from derived_tables.memory import linkage_memory_limit

    return link_model(
        dbt.ref("int_person_records_unioned"),
        session,
        parameters=dbt.ref("int_person_linkage_parameters"),
        previous=session.sql(f"select * from {dbt.this}") if dbt.is_incremental else None,
        threads=int(os.environ.get("DUCKDB_THREADS", "2")),
        memory_limit=linkage_memory_limit(os.environ),
        # its own folder under the build's: two DuckDB instances must not share one
        temp_directory=os.path.join(
            os.environ.get("DUCKDB_TEMP_DIRECTORY", "warehouse/.tmp"), "linkage"
        ),
    )
