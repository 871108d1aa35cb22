"""The person linkage model's parameters, learnt on a full build (a dbt Python model).

One row: the prior, and the m and u of every comparison level, learnt without labels from
all the records of int_person_records_unioned (derived_tables.linkage.fit_model), or the
committed fallback when training fails (model_source says which, model_reason why). A full
build (no table yet, or --full-refresh) learns them again; an incremental run returns no
rows (append), so the table keeps the row of the last full build and the incremental linkage
(int_person_records_linked) scores new records with the very parameters the existing people
were linked with.
"""

import os


def model(dbt, session):
    dbt.config(materialized="incremental", incremental_strategy="append")

    from derived_tables.linkage_incremental import parameters_model
    from derived_tables.memory import linkage_memory_limit

    return parameters_model(
        dbt.ref("int_person_records_unioned"),
        session,
        is_incremental=dbt.is_incremental,
        threads=int(os.environ.get("DUCKDB_THREADS", "2")),
        memory_limit=linkage_memory_limit(os.environ),
        # its own folder under the build's: two DuckDB instances must not share one
        temp_directory=os.path.join(
            os.environ.get("DUCKDB_TEMP_DIRECTORY", "warehouse/.tmp"), "linkage"
        ),
    )
