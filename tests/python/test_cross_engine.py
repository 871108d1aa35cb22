"""The two engines agree: every mart built on Spark equals the DuckDB build's, row for row, and
an incremental run on Spark equals a full refresh.

On the session's tiny data (conftest's `tiny_project`, built on DuckDB), dbt builds the whole
project on Spark (target `spark`, a local session, `python -m derived_tables.spark_dbt` so the
Python model runs too) into a temporary Spark warehouse: every seed and model (its data tests
run with `DERIVED_SPARK_EQUALITY_TESTS=1`: about 1,300 on Spark, which `derived build --target
spark` runs, too slow for CI). Then every mart table of the manifest is read from Spark's
Parquet files into DuckDB and compared with DuckDB's table by `except all` both ways (so
duplicates count), after rounding floating-point columns to 9 decimal places (the one
tolerance: the engines' floating-point aggregation order differs). The person linkage: every
record of `int_person_records_linked` has the same person, cluster size and best link on both
engines, its `match_probability` within 1e-9, and the Spark build scored on Splink's SparkAPI
(the run record `derived_tables.linkage_spark` writes, and Splink's checkpoints beside it).

The incremental proof (`make test-spark`, or `DERIVED_SPARK_INCREMENTAL=1`): the next day's
extract is appended to a copy of the tiny data (`derived generate --next-day`), `dbt run` runs
on the same Spark warehouse (the incremental facts and the 25 incremental staging models take
their incremental branch: the `delete+insert` of `macros/engines/spark_incremental.sql`,
checked in dbt's log, and no staging model is "rebuilt in full": each found the record of its
source rows its first build kept in its table properties,
`macros/engines/spark_staging_records.sql`), DuckDB builds that data from scratch
(`--full-refresh`), and every mart and every incremental model, the incremental facts and
staging models among them, must again be equal both ways.

`DERIVED_SPARK_EQUALITY_SELECT` narrows the selection (e.g. `+fct_lpa_applications`) when
iterating on one domain. The tests are skipped, saying why, when Java or pyspark is missing,
unless `DERIVED_REQUIRE_SPARK=1` (set by `make test`, which installs both): then they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from conftest import (
    PROJECT_ROOT,
    CommandResult,
    DbtRun,
    TinyProject,
    generic_tests_vars,
    run_command,
)
from derived_tables.publish_spark import SPARK_EXCLUDED_TESTS

SELECT_ENV = "DERIVED_SPARK_EQUALITY_SELECT"
#: "1" also runs the data tests on Spark (about 1,300: too slow for CI, hence off by default).
TESTS_ENV = "DERIVED_SPARK_EQUALITY_TESTS"
#: "1" also runs the incremental proof (make test-spark sets it).
INCREMENTAL_ENV = "DERIVED_SPARK_INCREMENTAL"
#: "1" turns a missing Java or pyspark into a failure (make test sets it: CI must not skip).
REQUIRE_ENV = "DERIVED_REQUIRE_SPARK"
FLOAT_DECIMALS = 9
#: Seconds allowed to each Spark dbt command (the whole project, seconds per statement on a
#: loaded 2-core machine: more than the DuckDB commands' limit).
SPARK_TIMEOUT = 3600

pytestmark = pytest.mark.slow


def _spark_missing() -> str | None:
    if shutil.which("java") is None:
        return "no java on PATH (make install-spark installs Debian's openjdk-17-jre-headless)"
    try:
        import dbt.adapters.spark  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as error:
        return f"the spark extra is not installed ({error}); run make install-spark"
    return None


def _spark_dbt(command: str, target_path: Path, log_path: Path, *args: str) -> list[str]:
    """`python -m derived_tables.spark_dbt <command> <args>` on this project, with its own
    target and log folders."""
    return [
        sys.executable,
        "-m",
        "derived_tables.spark_dbt",
        command,
        *args,
        "--project-dir",
        str(PROJECT_ROOT),
        "--target-path",
        str(target_path),
        "--log-path",
        str(log_path),
    ]


def _selection() -> list[str]:
    """`--select ...` from DERIVED_SPARK_EQUALITY_SELECT, or nothing (the whole project)."""
    select = os.environ.get(SELECT_ENV, "").split()
    return ["--select", *select] if select else []


@pytest.fixture(scope="module")
def spark_build(
    tiny_project: TinyProject, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    """The selection built and tested on Spark: (Spark warehouse folder, mart -> schema)."""
    missing = _spark_missing()
    if missing and os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but cannot build on Spark: {missing}", pytrace=False)
    if missing:
        pytest.skip(f"cannot build on Spark: {missing}")
    assert tiny_project.build is not None and tiny_project.build.result.ok, (
        "the DuckDB tiny build failed: see test_dbt_build.py"
    )
    root = tmp_path_factory.mktemp("spark_build")
    warehouse = root / "spark"
    env = dict(tiny_project.env)
    env.update(DBT_TARGET="spark", DERIVED_SPARK_WAREHOUSE=str(warehouse))
    select = _selection()
    command = _spark_dbt(
        "build",
        root / "target",
        root / "logs",
        *select,
        "--exclude",
        "resource_type:unit_test",  # model logic, engine-free: run on DuckDB (CI)
        *(SPARK_EXCLUDED_TESTS if os.environ.get(TESTS_ENV) == "1" else ["resource_type:test"]),
        "--vars",
        generic_tests_vars(),
    )
    result = run_command(command, env, timeout=SPARK_TIMEOUT)
    print(f"\nspark_build: {' '.join(select) or 'the project'} built in {result.seconds:.0f} s")
    assert result.ok, result.describe()
    manifest = (root / "target" / "manifest.json").read_text(encoding="utf-8")
    nodes = json.loads(manifest)["nodes"]
    run_results = json.loads((root / "target" / "run_results.json").read_text(encoding="utf-8"))
    built = {r["unique_id"] for r in run_results["results"] if r["status"] == "success"}
    marts = {
        nodes[uid]["alias"]: nodes[uid]["schema"]
        for uid in built
        if uid.startswith("model.") and nodes[uid]["fqn"][1] == "marts"
    }
    assert marts, "the Spark selection built no mart"
    if not select:
        every_mart = {
            node["alias"]
            for node in nodes.values()
            if node["resource_type"] == "model" and node["fqn"][1] == "marts"
        }
        assert set(marts) == every_mart, (
            f"marts not built on Spark: {sorted(every_mart - set(marts))}"
        )
    return warehouse, marts


def _compare(con: duckdb.DuckDBPyConnection, duck: str, spark: str) -> tuple[int, int, int]:
    """(rows only in DuckDB's, rows only in Spark's, DuckDB's row count), floats rounded."""
    columns = con.execute(f"describe {duck}").fetchall()

    def select(relation: str) -> str:
        parts = []
        for name, column_type, *_ in columns:
            if column_type in ("DOUBLE", "FLOAT", "REAL"):
                parts.append(f'round("{name}", {FLOAT_DECIMALS}) as "{name}"')
            else:
                parts.append(f'cast("{name}" as {column_type}) as "{name}"')
        return f"select {', '.join(parts)} from {relation}"

    only_duck = con.execute(
        f"select count(*) from ({select(duck)} except all {select(spark)})"
    ).fetchone()
    only_spark = con.execute(
        f"select count(*) from ({select(spark)} except all {select(duck)})"
    ).fetchone()
    total = con.execute(f"select count(*) from {duck}").fetchone()
    assert only_duck and only_spark and total
    return int(only_duck[0]), int(only_spark[0]), int(total[0])


def _mart_differences(
    duck_warehouse: Path, spark_warehouse: Path, marts: dict[str, str]
) -> dict[str, tuple[int, int, int]]:
    """Per mart whose rows differ: (only in DuckDB's, only in Spark's, DuckDB's row count)."""
    con = duckdb.connect()
    con.execute(f"attach '{duck_warehouse}' as duck (read_only)")
    differences = {}
    for mart, schema in sorted(marts.items()):
        folder = spark_warehouse / "tables" / f"{schema}.db" / mart
        assert folder.is_dir(), f"Spark wrote no files for {schema}.{mart} under {folder}"
        spark = f"read_parquet('{folder}/*.parquet')"
        only_duck, only_spark, total = _compare(con, f'duck."{schema}"."{mart}"', spark)
        assert total > 0, f"{schema}.{mart} is empty: the comparison would prove nothing"
        if only_duck or only_spark:
            differences[f"{schema}.{mart}"] = (only_duck, only_spark, total)
    con.close()
    return differences


def test_every_mart_built_on_spark_equals_duckdbs(
    tiny_project: TinyProject, spark_build: tuple[Path, dict[str, str]]
) -> None:
    warehouse, marts = spark_build
    differences = _mart_differences(tiny_project.warehouse, warehouse, marts)
    assert not differences, (
        "marts differ between DuckDB and Spark (rows only in DuckDB's, only in Spark's, "
        f"of DuckDB's rows): {differences}"
    )


#: The linked person records (one row per record, with its person and best link's score).
LINKED_MODEL = "int_person_records_linked"
#: match_probability on SparkAPI against DuckDBAPI: the same m/u ratios, their logarithms
#: summed in another order (tests/python/test_linkage_dialects.py, same tolerance).
PROBABILITY_TOLERANCE = 1e-9


def _linkage_run(warehouse: Path) -> dict[str, object]:
    """The run record the Spark linkage wrote beside Splink's checkpoints (linkage_spark),
    checked against those checkpoints: SparkAPI's predictions are there whenever it scored
    (a full linkage, or an incremental run with changed records)."""
    folder = warehouse / "checkpoints" / "person_linkage"
    record = folder / "linkage_run.json"
    assert record.is_file(), f"the Spark build left no linkage run record at {record}"
    run = dict(json.loads(record.read_text(encoding="utf-8")))
    if run.get("mode") == "full" or run.get("changed_records"):
        assert list(folder.glob("*/__splink__df_predict*")), (
            f"no checkpoint of Splink's predictions under {folder}: SparkAPI did not score"
        )
    return run


def _linked_differences(duck_warehouse: Path, spark_warehouse: Path) -> tuple[int, int, int, float]:
    """Linked records of both engines by record_key: (records only in one, records whose
    person, cluster size, best link or version differ, or whose match probability differs by
    more than PROBABILITY_TOLERANCE; DuckDB's records; the largest probability difference)."""
    manifest = json.loads((spark_warehouse.parent / "target" / "manifest.json").read_text())
    (schema,) = {
        node["schema"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["alias"] == LINKED_MODEL
    }
    folder = spark_warehouse / "tables" / f"{schema}.db" / LINKED_MODEL
    con = duckdb.connect()
    con.execute(f"attach '{duck_warehouse}' as duck (read_only)")
    row = con.execute(
        f"""
        select
            count(*) filter (where d.record_key is null or s.record_key is null),
            count(*) filter (
                where d.record_key is not null and s.record_key is not null and (
                    d.person_id is distinct from s.person_id
                    or d.system is distinct from s.system
                    or d.record_id is distinct from s.record_id
                    or d.cluster_size is distinct from s.cluster_size
                    or d.best_link_record_key is distinct from s.best_link_record_key
                    or d.record_updated_at is distinct from
                        cast(s.record_updated_at as timestamp)
                    or (d.match_probability is null) <> (s.match_probability is null)
                    or abs(d.match_probability - s.match_probability)
                        > {PROBABILITY_TOLERANCE}
                )
            ),
            count(d.record_key),
            coalesce(max(abs(d.match_probability - s.match_probability)), 0)
        from duck."{schema}"."{LINKED_MODEL}" as d
        full outer join read_parquet('{folder}/*.parquet') as s
            on d.record_key = s.record_key
        """
    ).fetchone()
    con.close()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2]), float(row[3])


def test_people_are_linked_on_sparkapi_as_on_duckdb(
    tiny_project: TinyProject, spark_build: tuple[Path, dict[str, str]]
) -> None:
    """The Spark build scored the people on Splink's SparkAPI (its run record, and Splink's
    own checkpoints of its predictions), and found every record's person as DuckDB did
    (dim_person itself is among the marts compared row for row above)."""
    warehouse, _ = spark_build
    if _selection():
        pytest.skip(f"{SELECT_ENV} narrows the build: the linkage may not be in it")
    run = _linkage_run(warehouse)
    assert run["backend"] == "SparkAPI" and run["mode"] == "full", run
    only_one, differing, records, worst = _linked_differences(tiny_project.warehouse, warehouse)
    print(f"\nlinked records: {records}, largest match_probability difference {worst:.3g}")
    assert records > 0 and run["records"] == records, run
    assert (only_one, differing) == (0, 0), (
        f"{LINKED_MODEL}: {only_one} records only on one engine, {differing} of {records} "
        f"differ (person, best link or a match probability beyond {PROBABILITY_TOLERANCE})"
    )


@dataclass(frozen=True)
class SparkIncremental:
    """After the next day's extract: Spark's incremental run and DuckDB's full refresh."""

    spark_run: CommandResult
    spark_run_results: Path
    #: the environment of the next day's data (for later commands on the same warehouse)
    env: dict[str, str]
    spark_log: str
    #: alias -> schema of every incremental model of the manifest (staging models and facts)
    incremental_models: dict[str, str]
    #: those of them whose strategy is delete+insert (int_person_linkage_parameters appends)
    delete_insert_models: set[str]
    duck_full_refresh: DbtRun
    duck_warehouse: Path


@pytest.fixture(scope="module")
def spark_incremental(
    tiny_project: TinyProject,
    spark_build: tuple[Path, dict[str, str]],
    tmp_path_factory: pytest.TempPathFactory,
) -> SparkIncremental:
    """`dbt run` on the Spark warehouse after `generate --next-day`; DuckDB's full refresh of
    the same data. Runs after the equality test above (it changes the Spark warehouse)."""
    if os.environ.get(INCREMENTAL_ENV) != "1":
        pytest.skip(f"the Spark incremental proof runs with {INCREMENTAL_ENV}=1 (make test-spark)")
    warehouse, _ = spark_build
    root = tmp_path_factory.mktemp("spark_incremental")
    next_day = tiny_project.copy_to(root / "next_day", warehouse=False)
    generated = next_day.derived(
        "generate",
        "--next-day",
        "--out",
        str(next_day.data_dir),
        "--truth-out",
        str(next_day.truth_dir),
    )
    assert generated.ok, generated.describe()
    env = dict(next_day.env)
    env.update(DBT_TARGET="spark", DERIVED_SPARK_WAREHOUSE=str(warehouse))
    logs = root / "spark_logs"
    spark_run = run_command(
        _spark_dbt("run", root / "spark_target", logs, *_selection()),
        env,
        timeout=SPARK_TIMEOUT,
    )
    print(f"\nspark_incremental: dbt run on Spark in {spark_run.seconds:.0f} s")
    manifest = json.loads((root / "spark_target" / "manifest.json").read_text(encoding="utf-8"))
    incremental_models = {
        node["alias"]: node["schema"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("materialized") == "incremental"
    }
    delete_insert_models = {
        node["alias"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["config"].get("materialized") == "incremental"
        and node["config"].get("incremental_strategy") == "delete+insert"
    }
    log = (logs / "dbt.log").read_text(encoding="utf-8", errors="replace")
    duck = next_day.with_warehouse(root / "duck_full" / "warehouse.duckdb", "duck_full")
    duck.warehouse.parent.mkdir(parents=True)
    full_refresh = duck.dbt(
        "build", "--full-refresh", "--resource-type", "seed", "--resource-type", "model"
    )
    print(f"\nspark_incremental: DuckDB full refresh in {full_refresh.result.seconds:.0f} s")
    return SparkIncremental(
        spark_run,
        root / "spark_target" / "run_results.json",
        env,
        log,
        incremental_models,
        delete_insert_models,
        full_refresh,
        duck.warehouse,
    )


def test_spark_incremental_run_equals_a_full_refresh(
    spark_build: tuple[Path, dict[str, str]], spark_incremental: SparkIncremental
) -> None:
    run = spark_incremental.spark_run
    assert run.ok, run.describe()
    assert spark_incremental.duck_full_refresh.result.ok, (
        spark_incremental.duck_full_refresh.result.describe()
    )
    warehouse, marts = spark_build
    # Each incremental model of the selection (facts and staging models) took its incremental
    # branch (dbt-spark would otherwise have rebuilt it whole, and the equality would prove
    # nothing about increments).
    run_results = json.loads(spark_incremental.spark_run_results.read_text(encoding="utf-8"))
    ran = {r["unique_id"].split(".")[-1] for r in run_results["results"]}
    built_incremental = sorted(m for m in spark_incremental.incremental_models if m in ran)
    assert any(m in marts for m in built_incremental), (
        "no incremental fact among the marts built on Spark"
    )
    staging = [m for m in built_incremental if m.startswith("stg_")]
    if not _selection():
        # 16 reading a curated source, 9 current-state models reading a history model
        assert len(staging) == 25, f"expected the 25 incremental staging models, ran {staging}"
    log = spark_incremental.spark_log
    not_incremental = [
        m
        for m in built_incremental
        if m in spark_incremental.delete_insert_models and f"{m}__dbt_delete_insert" not in log
    ]
    assert not not_incremental, (
        f"these incremental models did not run their delete+insert branch on Spark: "
        f"{not_incremental}"
    )
    rebuilt = [m for m in staging if f"{m}: rebuilt in full" in log]
    assert not rebuilt, f"these staging models were rebuilt in full on Spark: {rebuilt}"
    if LINKED_MODEL in ran:
        # re-linked on SparkAPI: only the rows the new and changed records change
        run = _linkage_run(warehouse)
        assert run["mode"] == "incremental", run
        assert int(str(run["rows_replaced"])) < int(str(run["records"])), run
    compared = dict(marts)
    compared.update({m: spark_incremental.incremental_models[m] for m in built_incremental})
    differences = _mart_differences(spark_incremental.duck_warehouse, warehouse, compared)
    assert not differences, (
        "after the next day's extract, marts and incremental models of Spark's incremental run "
        "differ from DuckDB's full refresh (rows only in DuckDB's, only in Spark's, of "
        "DuckDB's rows): "
        f"{differences}"
    )


#: The staging model whose tests on the touched rows are checked on Spark, and its source.
TOUCHED_MODEL = "stg_delius__terminations"
TOUCHED_SOURCE = "delius.terminations"


def test_spark_incremental_build_tests_only_the_touched_rows(
    spark_build: tuple[Path, dict[str, str]],
    spark_incremental: SparkIncremental,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A `dbt build` of one staging model on the incremental Spark warehouse: the model is
    patched by key, and its error-severity tests read only the rows of the keys delivered after
    the watermark it patched from (touched_rows.sql), which Spark keeps in the model's own table
    properties (spark_staging_records.sql): the restriction is in every such test's SQL. The
    duplicate tests of its source compare only the partitions after the model's stored
    watermark with all rows (source_checked_through, from the same table properties)."""
    warehouse, _ = spark_build
    root = tmp_path_factory.mktemp("spark_touched")
    env = dict(spark_incremental.env)
    env.update(DBT_TARGET="spark", DERIVED_SPARK_WAREHOUSE=str(warehouse))
    result = run_command(
        _spark_dbt(
            "build",
            root / "target",
            root / "logs",
            "--select",
            TOUCHED_MODEL,
            f"source:{TOUCHED_SOURCE}",
            "--exclude",
            "resource_type:unit_test",
            *SPARK_EXCLUDED_TESTS,
            "--vars",
            generic_tests_vars(),
        ),
        env,
        timeout=SPARK_TIMEOUT,
    )
    assert result.ok, result.describe()
    log = (root / "logs" / "dbt.log").read_text(encoding="utf-8", errors="replace")
    assert f"{TOUCHED_MODEL}__dbt_delete_insert" in log, "the model was not patched by key"
    assert f"{TOUCHED_MODEL}: rebuilt in full" not in log
    run_results = json.loads((root / "target" / "run_results.json").read_text(encoding="utf-8"))
    tests = {
        r["unique_id"]: r.get("compiled_code") or ""
        for r in run_results["results"]
        if r["unique_id"].startswith("test.")
    }
    restricted = {uid for uid, sql in tests.items() if "where extraction_date > cast('" in sql}
    # the touched-rows kinds of test (touched_rows.sql): column_constraints (the not_null
    # constraints and the checks, the accepted codes, all read on Spark), unique on the
    # natural key...; a warning or a share reads every row
    kinds = ("column_constraints_", "not_null_", "accepted_values_", "unique_")
    expected = {
        uid for uid in tests if uid.split(".")[2].startswith(kinds) and TOUCHED_MODEL in uid
    }
    names = {uid.split(".")[2] for uid in expected}
    assert f"column_constraints_{TOUCHED_MODEL}_" in names, sorted(tests)
    constraints = next(
        sql for uid, sql in tests.items() if f"column_constraints_{TOUCHED_MODEL}_" in uid
    )
    assert "not (termination_reason_code in (" in constraints, constraints
    assert expected <= restricted, (
        f"tests not restricted to the touched rows on Spark: {sorted(expected - restricted)}"
    )
    kinds = ("no_conflicting_duplicates", "no_exact_duplicates", "no_redelivered_rows")
    prefixes = tuple(f"source_{kind}_delius_terminations" for kind in kinds)
    duplicates = {uid for uid in tests if uid.split(".")[2].startswith(prefixes)}
    assert len(duplicates) == 3, sorted(tests)
    unrestricted = {uid for uid in duplicates if "extraction_date > cast('" not in tests[uid]}
    assert not unrestricted, f"source tests comparing every partition on Spark: {unrestricted}"
