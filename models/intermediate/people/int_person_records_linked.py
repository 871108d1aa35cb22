"""Person records linked into people with Splink (a dbt Python model).

Reads int_person_records_unioned (one row per court, prison and probation record) and returns
one row per record with its person: the cluster of records Splink links at a match probability
of at least derived_tables.linkage.MATCH_THRESHOLD. The model itself (comparisons, blocking
rules, threshold, the training of its parameters on these very records on every build, and
the committed fallback parameters used, with a warning, when training fails) lives in
src/derived_tables/linkage.py, where it is unit-tested and documented; this file only moves
the data.

Splink runs on its own in-memory DuckDB connection, fed with an Arrow copy of the records,
so that its working tables never touch the warehouse; dbt writes the returned table. The same
code runs on DuckDB and on Spark (link_model reads the records and returns the result in the
engine's own form: an Arrow table, a Spark DataFrame), so both find the same people.
It uses DUCKDB_THREADS threads (as the profile does) and at most DERIVED_LINKAGE_MEMORY_LIMIT
of memory (default 4GB; scale 1 needs about 1GB, scale 10 about 3GB).
"""

import os


def model(dbt, session):
    dbt.config(materialized="table")

    from derived_tables.linkage import link_model

    return link_model(
        dbt.ref("int_person_records_unioned"),
        session,
        threads=int(os.environ.get("DUCKDB_THREADS", "2")),
        memory_limit=os.environ.get("DERIVED_LINKAGE_MEMORY_LIMIT", "4GB"),
    )
