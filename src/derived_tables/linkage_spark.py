"""Person linkage on Splink's Spark backend: what ``int_person_records_linked`` runs on Spark.

On DuckDB the linkage runs Splink's ``DuckDBAPI`` on an in-memory DuckDB connection in the
process that runs the model (:mod:`derived_tables.linkage`). On the ``spark`` targets the
records stay in Spark and Splink scores them with ``SparkAPI``, on the SparkSession dbt-spark
holds (its executors, on the standalone cluster):

- **Features**: the same SQL as on DuckDB (:func:`linkage.features_sql`), rendered in Spark
  SQL, over the records and the nickname table as temporary views.
- **Parameters**: learnt on DuckDB in the driver, by ``int_person_linkage_parameters`` (as on
  the DuckDB engine: the same records give the same model), and only *scored* here. Splink's
  training samples its random pairs with each backend's own SQL, so training on Spark could
  learn other parameters, hence other people: training stays where it gives the same model.
- **Scoring and clustering**: ``SparkAPI`` with Splink's similarity jar on ``spark.jars``
  (the ``spark`` targets read its path from ``DERIVED_SPLINK_SPARK_JAR``, which
  :mod:`derived_tables.spark_dbt` sets) and its checkpoints (Splink writes its intermediate
  tables as Parquet to break Spark's lineage) in ``checkpoints/person_linkage/`` beside the
  warehouse's ``tables/`` (the candidate build's folder, git-ignored: cleared by each run).
  The comparisons' custom levels in Spark SQL (:data:`linkage.DIALECT_EXPRESSIONS`), the
  clustering summary (:func:`linkage.result_sql`) too.
- **Incremental runs** (:func:`update_links`): the same re-linking as
  :func:`linkage_incremental.update_links`, on SparkAPI: its SQL in Spark SQL (the same
  statements, their dialect's forms), Splink's ``predict_within`` / ``predict_between`` for
  the re-scored records, and the union-find over the few re-linked nodes in the driver.

Each run writes ``linkage_run.json`` beside its checkpoints (backend, Splink version, mode,
records, scored pairs or rows replaced), so that a test or a reader can see where the people
were scored.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa

from derived_tables import linkage

log = logging.getLogger(__name__)

#: The environment variable the ``spark`` targets of profiles.yml read ``spark.jars`` from.
SPLINK_JAR_ENV = "DERIVED_SPLINK_SPARK_JAR"
#: Splink's checkpoints, under the Spark warehouse folder (beside ``tables/``).
CHECKPOINT_FOLDER = Path("checkpoints") / "person_linkage"
#: The run record written beside the checkpoints.
RUN_RECORD = "linkage_run.json"
BACKEND = "SparkAPI"

#: The tables the linkage registers with Splink (temporary views of the session).
_SPLINK_INPUTS: tuple[str, ...] = ("person_features_sdf", "rescored_sdf", "kept_sdf")

#: Temporary views the linkage's SQL reads (session-local; dropped after each run).
_VIEWS: tuple[str, ...] = ("person_records", "nicknames", "scored_pairs", "clusters")


def is_spark_dataframe(relation: Any) -> bool:
    """Whether dbt handed the model a Spark DataFrame (the spark targets) rather than a
    DuckDB relation: dispatched on what dbt passes in, not on the target's type."""
    return hasattr(relation, "sparkSession") and hasattr(relation, "createOrReplaceTempView")


def similarity_jar() -> str:
    """The path of Splink's string-similarity UDF jar for this pyspark (inside the venv)."""
    from splink.backends.spark import similarity_jar_location

    return str(similarity_jar_location())


def warehouse_folder(session: Any) -> Path:
    """The Spark warehouse folder: the parent of ``spark.sql.warehouse.dir`` (``tables/``)."""
    configured = str(session.conf.get("spark.sql.warehouse.dir"))
    parsed = urlparse(configured)
    path = Path(parsed.path if parsed.scheme in ("file", "") else configured)
    if parsed.scheme not in ("file", ""):
        raise ValueError(
            f"int_person_records_linked: spark.sql.warehouse.dir {configured} is not a local"
            " folder; Splink's checkpoints are written beside it"
        )
    return path.resolve().parent


def checkpoint_folder(session: Any) -> Path:
    """Where this session's linkage writes Splink's checkpoints and its run record."""
    return warehouse_folder(session) / CHECKPOINT_FOLDER


def spark_api(session: Any, checkpoints: Path) -> Any:
    """Splink's ``SparkAPI`` on ``session``, checkpointing as Parquet under ``checkpoints``
    (emptied first); RuntimeError, saying how to fix it, when the similarity jar's functions
    are missing (the jar not on ``spark.jars``)."""
    from splink import SparkAPI

    _empty_folder(checkpoints)
    # the inputs an earlier linkage registered in this session (Splink refuses to register
    # a table name twice)
    for name in _SPLINK_INPUTS:
        session.catalog.dropTempView(name)
    session.sparkContext.setCheckpointDir(str(checkpoints))
    db_api = SparkAPI(spark_session=session, break_lineage_method="parquet")
    try:
        session.sql(
            "select damerau_levenshtein('ab', 'ba') as d, jaro_winkler('ab', 'ab') as j"
        ).collect()
    except Exception as exc:  # pyspark's AnalysisException: an unknown function
        raise RuntimeError(
            "int_person_records_linked: Splink's similarity functions are not registered on"
            f" the Spark session ({type(exc).__name__}): its jar ({similarity_jar()}) must be"
            f" on spark.jars. The spark targets of profiles.yml read it from {SPLINK_JAR_ENV},"
            " which `derived build` and `python -m derived_tables.spark_dbt` set"
        ) from exc
    return db_api


def _empty_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def _no_pairs(session: Any) -> Any:
    """A scored-pairs frame without rows (nothing to score)."""
    return session.sql(
        "select cast(null as string) as record_key_l, cast(null as string) as record_key_r,"
        " cast(null as double) as match_probability limit 0"
    )


def _views(session: Any, **frames: Any) -> None:
    for name, frame in frames.items():
        frame.createOrReplaceTempView(name)


def _drop_views(session: Any) -> None:
    for name in _VIEWS:
        session.catalog.dropTempView(name)


def prepare(session: Any, records: Any) -> tuple[Any, int]:
    """The comparison-ready features of ``records`` (a Spark DataFrame shaped as
    ``int_person_records_unioned``) as a Spark DataFrame, and the number of records.

    Registers the temporary views ``person_records`` and ``nicknames``; ValueError when a
    required column is missing or a record_key repeats (the messages of the DuckDB path).
    """
    missing = [c for c in linkage.REQUIRED_COLUMNS if c not in records.columns]
    if missing:
        raise ValueError(f"person records lack columns: {', '.join(missing)}")
    absent = [
        f"cast(null as {'string' if kind == 'varchar' else kind}) as {column}"
        for column, kind in linkage.OPTIONAL_COLUMN_TYPES.items()
        if column not in records.columns
    ]
    if absent:
        records = records.selectExpr("*", *absent)
    _views(
        session,
        person_records=records,
        nicknames=session.createDataFrame(linkage.nickname_pairs()),
    )
    counts = session.sql(
        "select count(*) as n, count(distinct record_key) as keys from person_records"
    ).collect()[0]
    if counts["n"] != counts["keys"]:
        raise ValueError("record_key is not unique in the person records")
    return session.sql(linkage.features_sql("spark")), int(counts["n"])


def link(
    session: Any,
    records: Any,
    model: linkage.LinkageModel,
    *,
    threshold: float = linkage.MATCH_THRESHOLD,
    keep_pairs: bool = False,
) -> tuple[Any, Any | None]:
    """Link ``records`` (a Spark DataFrame) with ``model`` on Splink's SparkAPI: one row per
    record, as :func:`linkage.link_person_records` gives on DuckDB, as a Spark DataFrame; with
    ``keep_pairs``, the scored pairs (``record_key_l``, ``record_key_r``,
    ``match_probability``) too. Records the run in ``linkage_run.json``."""
    started = time.perf_counter()
    checkpoints = checkpoint_folder(session)
    features, n_records = prepare(session, records)
    if n_records >= 2:
        db_api = spark_api(session, checkpoints)
        registered = db_api.register(features, table_name="person_features_sdf")
        linker = linkage._linker(registered, model, dialect="spark")
        predictions = linker.inference.predict(threshold_match_probability=linkage.SCORE_FLOOR)
        clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=threshold
        )
        pairs = predictions.as_spark_dataframe().select(
            "record_key_l", "record_key_r", "match_probability"
        )
        clusters = clustered.as_spark_dataframe().select("record_key", "cluster_id")
    else:  # nothing to score: each record is its own person
        _empty_folder(checkpoints)
        pairs = _no_pairs(session)
        clusters = session.sql("select record_key, record_key as cluster_id from person_records")
    _views(session, scored_pairs=pairs, clusters=clusters)
    # analysed now, so the views can go: the frame reads Splink's checkpointed Parquet
    result = session.sql(linkage.result_sql("spark"))
    n_pairs = pairs.count()
    _drop_views(session)
    _record_run(session, model, started, mode="full", records=n_records, scored_pairs=n_pairs)
    return result, pairs if keep_pairs else None


def _record_run(session: Any, model: linkage.LinkageModel, started: float, **facts: Any) -> None:
    """Write ``linkage_run.json`` beside the checkpoints: the backend, the versions, the
    run's ``facts`` (mode, counts), the model's source and the seconds since ``started``."""
    import splink

    record = {
        "backend": BACKEND,
        "splink_version": splink.__version__,
        "spark_version": session.version,
        **facts,
        "model_source": model.source,
        "seconds": round(time.perf_counter() - started, 1),
    }
    path = checkpoint_folder(session) / RUN_RECORD
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    log.info("person linkage on %s: %s", BACKEND, record)


def check_previous(session: Any, records: Any, previous: Any) -> None:
    """The checks of :func:`linkage_incremental.update_links` on Spark: the linked table has
    the columns an incremental run reads, and none of its records has gone."""
    from derived_tables import linkage_incremental

    linkage_incremental._check_previous(
        pa.table({c: pa.array([], pa.null()) for c in previous.columns})
    )
    removed = [
        row["record_key"]
        for row in previous.select("record_key")
        .join(records.select("record_key"), on="record_key", how="left_anti")
        .orderBy("record_key")
        .collect()
    ]
    if removed:
        raise ValueError(
            f"{linkage_incremental.LINKED_MODEL}.record_key: {len(removed)} linked record(s)"
            f" are no longer in {linkage.RECORDS_MODEL} (first: {', '.join(removed[:5])}); an"
            " incremental run cannot remove them: run with --full-refresh"
        )


#: Temporary views of the incremental re-linking (linkage_incremental._SELECT_SQL and after).
_INCREMENTAL_VIEWS: tuple[str, ...] = (
    "previous",
    "changed",
    "individual",
    "rescored",
    "features_rescored",
    "features_kept",
    "nodes",
    "person_features",
    "new_pairs",
    "components",
)


def _select_statements() -> list[tuple[str, str]]:
    """``linkage_incremental._SELECT_SQL`` as (view, select) pairs: its ``create table X as``
    statements, plain SQL on both engines, become Spark views (each computed once)."""
    from derived_tables import linkage_incremental

    statements = []
    for statement in linkage_incremental._SELECT_SQL.split(";"):
        lines = [line for line in statement.strip().splitlines() if not line.startswith("--")]
        head, select = lines[0], "\n".join(lines[1:])
        words = head.split()
        if words[:2] != ["create", "table"] or words[3:] != ["as"]:
            raise ValueError(f"unexpected statement in _SELECT_SQL: {head}")
        statements.append((words[2], select))
    return statements


def update_links(
    session: Any,
    records: Any,
    previous: Any,
    model: linkage.LinkageModel,
    *,
    threshold: float = linkage.MATCH_THRESHOLD,
) -> Any:
    """:func:`linkage_incremental.update_links` on Splink's SparkAPI: the rows of the linked
    table that ``records`` (all current person records, a Spark DataFrame) change, given the
    ``previous`` linked table, scored with ``model``, as a Spark DataFrame. The same SQL
    (its dialect's forms), the same Splink predictions (``predict_within`` /
    ``predict_between``), the same clustering of the few re-linked nodes (collected to the
    driver: they grow with the day's changes, not with the records)."""

    from derived_tables import linkage_incremental

    started = time.perf_counter()
    check_previous(session, records, previous)
    checkpoints = checkpoint_folder(session)
    features, n_records = prepare(session, records)
    features = features.localCheckpoint()
    _views(
        session,
        person_features=features,
        previous=previous.select(*linkage_incremental.PREVIOUS_COLUMNS).localCheckpoint(),
    )
    for view, select in _select_statements():
        session.sql(select).localCheckpoint().createOrReplaceTempView(view)
    n_changed = session.table("changed").count()
    n_rescored = session.table("rescored").count()
    if n_changed == 0:
        _empty_folder(checkpoints)
        new_pairs = _no_pairs(session)
    else:
        db_api = spark_api(session, checkpoints)
        everyone = db_api.register(features, table_name="person_features_sdf")
        rescored = db_api.register(session.table("features_rescored"), table_name="rescored_sdf")
        kept = db_api.register(session.table("features_kept"), table_name="kept_sdf")
        within, left, right = linkage_incremental.predict_rescored(
            everyone, rescored, kept, model, "spark"
        )
        new_pairs = session.sql(
            linkage_incremental.new_pairs_sql(
                within.physical_name, left.physical_name, right.physical_name
            )
        ).localCheckpoint()
    new_pairs.createOrReplaceTempView("new_pairs")
    edges = [
        (row["node_l"], row["node_r"])
        for row in session.sql(linkage_incremental._EDGES_SQL, args=[threshold]).collect()
    ]
    individual = [f"r:{row['record_key']}" for row in session.table("individual").collect()]
    components = linkage_incremental._components(edges, individual)
    _views(session, components=session.createDataFrame(components))
    result = session.sql(linkage_incremental.updated_sql("spark")).localCheckpoint()
    n_rows = result.count()
    for view in _INCREMENTAL_VIEWS:
        session.catalog.dropTempView(view)
    _drop_views(session)
    _record_run(
        session,
        model,
        started,
        mode="incremental",
        records=n_records,
        changed_records=n_changed,
        rescored_records=n_rescored,
        rows_replaced=n_rows,
    )
    return result


def link_model(
    relation: Any, session: Any, model: linkage.LinkageModel, previous: Any | None
) -> Any:
    """``int_person_records_linked`` on Spark, on SparkAPI: every record linked with
    ``model`` on a full build; on an incremental run (``previous``: the linked table) only the
    rows the new and changed records change (:func:`update_links`)."""
    if previous is None:
        result, _ = link(session, relation, model)
        return result
    return update_links(session, relation, previous, model)
