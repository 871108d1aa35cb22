"""An incremental build tests the rows it touched; a full test run tests them all.

On a copy of the session's tiny build, two bad `termination_reason_code` values (not one of
the accepted reasons: a `check` constraint of `stg_delius__terminations`, checked by its
error-severity `column_constraints` test):

- an OLD bad row: a stored staging row changed in place, as if an earlier build had let it
  through; its termination is not delivered again;
- a NEW bad row: a termination delivered again in a new next-day partition with the bad code.

The incremental `dbt build` of the model restages only the redelivered termination, and its
test, restricted to the touched keys (macros/staging/touched_rows.sql), fails on exactly the
new row: the fault of the new extract is caught, and the old row is not re-tested (the
restriction is real). A plain `dbt test` afterwards checks every row and finds both, which also
proves that the model was patched by key rather than rebuilt (a rebuild would have recomputed
the old row from its clean delivery).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from conftest import DbtRun, TinyProject, generic_tests_vars

MODEL = "stg_delius__terminations"
TEST_PREFIX = "column_constraints_stg_delius__terminations_"
#: The column whose check (the accepted reasons) the bad rows break.
COLUMN = "termination_reason_code"
#: Two codes outside the accepted list.
OLD_BAD_CODE = "OLD_BAD_REASON"
NEW_BAD_CODE = "NEW_BAD_REASON"


def _test_result(run: DbtRun, test_name: str) -> dict[str, object]:
    """The run's one result of the data test whose name starts with `test_name` (dbt may
    shorten a long test name and append a hash)."""
    assert run.run_results is not None, run.result.describe()
    found = [
        row
        for row in run.run_results["results"]
        if row["unique_id"].split(".")[2].startswith(test_name)
    ]
    assert len(found) == 1, (sorted(r["unique_id"] for r in run.run_results["results"]), run)
    return found[0]


def _next_day_partition(work: TinyProject, table: Path) -> tuple[TinyProject, dt.date, Path]:
    """The day after the latest extraction date of the curated `table`, its new (empty)
    partition folder, and the project with that day as its as-of date."""
    latest = max(table.glob("extraction_date=*"))
    next_day = dt.date.fromisoformat(latest.name.split("=", 1)[1]) + dt.timedelta(days=1)
    partition = table / f"extraction_date={next_day}"
    partition.mkdir()
    return (
        replace(work, env={**work.env, "DERIVED_AS_OF": next_day.isoformat()}),
        next_day,
        partition,
    )


def _redeliver(table: Path, partition: Path, next_day: dt.date, where: str, replaced: str) -> None:
    """Write the latest delivered version of the `where` row of the curated `table` into
    `partition`, extracted on `next_day` at 06:00, with its `replaced` column(s) (a DuckDB
    `replace` list)."""
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * replace ({replaced},"
            f" timestamp '{next_day} 06:00:00' as _extracted_at)"
            f" from read_parquet('{table}/extraction_date=*/*.parquet',"
            f" hive_partitioning = false) where {where}"
            " order by _extracted_at desc limit 1)"
            f" to '{partition / 'part-0.parquet'}' (format parquet)"
        )


def _assert_new_row_then_both(
    built: DbtRun, tested: DbtRun, test_name: str, column: str, restriction: str
) -> None:
    """The incremental build's `column_constraints` test, restricted (`restriction` in its
    SQL), stops on the new bad row only, naming the column's check; a plain `dbt test`
    afterwards reads every row and names both."""
    restricted = _test_result(built, test_name)
    assert restricted["status"] == "error", restricted
    # the new bad row only
    assert f"check constraint fails on {column} (1 rows)" in restricted["message"], restricted
    assert restriction in str(restricted.get("compiled_code")), restricted
    everything = _test_result(tested, test_name)
    assert everything["status"] == "error", everything
    # the new bad row and the old one
    assert f"check constraint fails on {column} (2 rows)" in everything["message"], everything
    assert restriction not in str(everything.get("compiled_code")), everything


@pytest.mark.slow
def test_incremental_run_tests_only_the_touched_keys(
    tiny_project: TinyProject, tmp_path: Path
) -> None:
    work = tiny_project.copy_to(tmp_path / "work")
    terminations = work.data_dir / "delius" / "terminations"
    work, next_day, new_partition = _next_day_partition(work, terminations)

    with duckdb.connect(str(work.warehouse)) as con:
        (redelivered, _), (old_bad, _) = con.execute(
            f"select termination_id, extraction_date from staging.{MODEL}"
            " order by termination_id limit 2"
        ).fetchall()
        con.execute(
            f"update staging.{MODEL} set termination_reason_code = ? where termination_id = ?",
            [OLD_BAD_CODE, old_bad],
        )
    _redeliver(
        terminations,
        new_partition,
        next_day,
        where=f"termination_id = '{redelivered}'",
        replaced=f"'{NEW_BAD_CODE}' as termination_reason_code",
    )

    selection = ("--select", MODEL, "--exclude", "resource_type:unit_test")
    now = ("--vars", generic_tests_vars(next_day.isoformat()))
    built = work.dbt("build", *selection, *now)
    assert not built.result.ok, built.result.describe()
    assert "rebuilt in full" not in built.result.output, built.result.describe()
    tested = work.dbt("test", *selection, *now)
    _assert_new_row_then_both(built, tested, TEST_PREFIX, COLUMN, "extraction_date > cast(")


FACT = "fct_court_hearings"
#: The fact's `column_constraints` test, here on a table that enforces none of its
#: constraints: one built before they were declared (DuckDB enforces those of a table
#: created with them at insert, and then a bad row fails the model, not a test).
FACT_TEST_PREFIX = "column_constraints_fct_court_hearings_"
#: The column whose check (not after its extraction) the bad rows break.
FACT_COLUMN = "hearing_date"
#: After the extraction time of any row (the test's upper bound), inside the date spine.
FUTURE_DATE = "2029-06-01"


@pytest.mark.slow
def test_incremental_fact_tests_only_the_rows_it_wrote(
    tiny_project: TinyProject, tmp_path: Path
) -> None:
    """The same for an incremental fact, whose touched rows are the keys its run wrote.

    The stored `fct_court_hearings` is first copied into a table without constraints, as a
    table built before its checks were declared (DuckDB would refuse the bad rows at insert
    otherwise, failing the model). An OLD bad row: a stored row whose `hearing_date` is moved
    after its extraction in place (an earlier build let it through; nothing reloads it). A
    NEW bad row: a hearing of another case delivered again the next day with that future
    `hearing_date`. The fact's incremental `dbt build` records the keys it wrote
    (`_touched_keys`) and its error-severity `column_constraints` test evaluates the
    `hearing_date` check the table does not enforce on the new row only; a plain `dbt test`
    finds both.
    """
    work = tiny_project.copy_to(tmp_path / "work")
    hearings = work.data_dir / "common_platform" / "hearings"
    work, next_day, new_partition = _next_day_partition(work, hearings)

    with duckdb.connect(str(work.warehouse)) as con:
        # two hearings of different cases: the redelivered one's case is reloaded (renumbered)
        (redelivered, case_id), (old_bad, _) = con.execute(
            f"select min(hearing_id), case_id from courts.{FACT}"
            " group by case_id order by case_id limit 2"
        ).fetchall()
        enforced = con.execute(
            "select count(*) from duckdb_constraints()"
            f" where table_name = '{FACT}' and constraint_type = 'CHECK'"
        ).fetchone()
        assert enforced is not None and enforced[0] > 0, "the fact enforces no check"
        con.execute(f"create table courts.{FACT}_unconstrained as select * from courts.{FACT}")
        con.execute(f"drop table courts.{FACT}")
        con.execute(f"alter table courts.{FACT}_unconstrained rename to {FACT}")
        con.execute(
            f"update courts.{FACT} set hearing_date = date '{FUTURE_DATE}' where hearing_id = ?",
            [old_bad],
        )
    _redeliver(
        hearings,
        new_partition,
        next_day,
        where=f"hearing_id = '{redelivered}' and case_id = '{case_id}'",
        replaced=f"date '{FUTURE_DATE}' as hearing_date",
    )

    now = ("--vars", generic_tests_vars(next_day.isoformat()))
    upstream = work.dbt(
        "run", "--select", f"+{FACT}", "--exclude", FACT, "resource_type:unit_test", *now
    )
    assert upstream.result.ok, upstream.result.describe()
    selection = ("--select", FACT, "--exclude", "resource_type:unit_test")
    built = work.dbt("build", *selection, *now)
    assert not built.result.ok, built.result.describe()
    tested = work.dbt("test", *selection, *now)
    _assert_new_row_then_both(built, tested, FACT_TEST_PREFIX, FACT_COLUMN, "_touched_keys")


SOURCE = "common_platform.hearings"
SOURCE_TESTS = {
    "conflicting": (
        "source_no_conflicting_duplicates_common_platform_hearings_hearing_id___extracted_at"
    ),
    "exact": "source_no_exact_duplicates_common_platform_hearings_",
    "redelivered": "source_no_redelivered_rows_common_platform_hearings_",
}


def _source_tests(run: DbtRun) -> dict[str, dict[str, object]]:
    """The run's results of the three duplicate tests of `common_platform.hearings`."""
    assert run.run_results is not None, run.result.describe()
    by_name = {row["unique_id"].split(".")[2]: row for row in run.run_results["results"]}
    missing = [name for name in SOURCE_TESTS.values() if name not in by_name]
    assert not missing, (missing, sorted(by_name))
    return {kind: by_name[name] for kind, name in SOURCE_TESTS.items()}


@pytest.mark.slow
def test_incremental_source_tests_compare_the_new_partitions_with_all(
    tiny_project: TinyProject, tmp_path: Path
) -> None:
    """The duplicate tests of a source compare the next day's rows with every partition.

    On a copy of the tiny build, the next day's extract of `common_platform.hearings` brings
    three faults: a row of an older extract delivered again unchanged (`no_redelivered_rows`
    warns, 1), a row with the key (`hearing_id`, `_extracted_at`) of an older row but another
    status (`no_conflicting_duplicates` fails, 1), and a new row delivered twice
    (`no_exact_duplicates` warns, 1). An OLD fault sits in an already checked partition,
    rewritten in place with as many rows: a row replaced by a copy of another row of the same
    file (an exact duplicate). The incremental `dbt build` reads the checked partitions only
    for what the new rows are compared with, so it finds the three new faults and not the old
    one; a plain `dbt test` compares everything and also counts the old duplicate.
    """
    work = tiny_project.copy_to(tmp_path / "work")
    hearings = work.data_dir / "common_platform" / "hearings"
    partitions = sorted(hearings.glob("extraction_date=*"))
    latest = partitions[-1]
    next_day = dt.date.fromisoformat(latest.name.split("=", 1)[1]) + dt.timedelta(days=1)
    work = replace(work, env={**work.env, "DERIVED_AS_OF": next_day.isoformat()})
    all_files = f"read_parquet('{hearings}/extraction_date=*/*.parquet', hive_partitioning = false)"

    old_file = max(partitions[0].glob("*.parquet"), key=lambda path: path.stat().st_size)
    new_partition = hearings / f"extraction_date={next_day}"
    new_partition.mkdir()
    with duckdb.connect() as con:
        old_rows = con.execute(f"select count(*) from read_parquet('{old_file}')").fetchone()
        assert old_rows is not None and old_rows[0] >= 4, old_rows
        # the old fault: the last row (by hearing_id) replaced by a copy of the first one
        con.execute(f"create table old_file as select * from read_parquet('{old_file}')")
        con.execute(
            "create table rewritten as"
            " select * from old_file"
            " where hearing_id != (select max(hearing_id) from old_file)"
            " union all"
            " select * from old_file"
            " where hearing_id = (select min(hearing_id) from old_file)"
        )
        assert con.execute("select count(*) from rewritten").fetchone() == old_rows
        con.execute(f"copy rewritten to '{old_file}' (format parquet)")
        # the next day's extract: three faults
        (redelivered,), (conflicting,), (template,) = con.execute(
            f"select hearing_id from {all_files}"
            " group by hearing_id having count(*) = 1"
            " order by hearing_id limit 3"
        ).fetchall()
        con.execute(
            "copy ("
            f" select * from {all_files} where hearing_id = '{redelivered}'"
            " union all"
            f" select * replace ('CONFLICT_STATUS' as hearing_status_code)"
            f" from {all_files} where hearing_id = '{conflicting}'"
            " union all"
            f" select * replace ('NEW_HEARING' as hearing_id,"
            f" timestamp '{next_day} 06:00:00' as _extracted_at)"
            f" from {all_files} where hearing_id = '{template}'"
            " union all"
            f" select * replace ('NEW_HEARING' as hearing_id,"
            f" timestamp '{next_day} 06:00:00' as _extracted_at)"
            f" from {all_files} where hearing_id = '{template}'"
            f") to '{new_partition / 'part-0.parquet'}' (format parquet)"
        )

    selection = ("--select", f"source:{SOURCE}", "--exclude", "resource_type:unit_test")
    now = ("--vars", generic_tests_vars(next_day.isoformat()))
    built = work.dbt("build", *selection, *now)
    assert not built.result.ok, built.result.describe()
    restricted = _source_tests(built)
    assert restricted["conflicting"]["status"] == "fail", restricted
    assert restricted["conflicting"]["failures"] == 1, restricted
    assert restricted["redelivered"]["status"] == "warn", restricted
    assert restricted["redelivered"]["failures"] == 1, restricted
    assert restricted["exact"]["status"] == "warn", restricted
    assert restricted["exact"]["failures"] == 1, restricted  # the new copy, not the old one
    for result in restricted.values():
        assert f"extraction_date > cast('{latest.name.split('=', 1)[1]}'" in str(
            result.get("compiled_code")
        ), result

    tested = work.dbt("test", *selection, *now)
    everything = _source_tests(tested)
    assert everything["conflicting"]["failures"] == 1, everything
    assert everything["redelivered"]["failures"] == 1, everything
    assert everything["exact"]["failures"] == 2, everything  # the new copy and the old one
    for result in everything.values():
        assert "extraction_date > cast(" not in str(result.get("compiled_code")), result


RECONCILED = "stg_common_platform__hearings"
RECONCILE_PREFIX = "reconciles_with_source_stg_common_platform__hearings_hearing_id"


def _reconcile(run: DbtRun) -> dict[str, object]:
    """The run's result of the hearings' source-to-staging reconciliation."""
    return _test_result(run, RECONCILE_PREFIX)


@pytest.mark.slow
def test_incremental_reconciliation_counts_the_touched_keys(
    tiny_project: TinyProject, tmp_path: Path
) -> None:
    """`reconciles_with_source` of an incremental staging model counts the touched keys only.

    Day 1: an OLD fault, a stored `stg_common_platform__hearings` row deleted in place (its
    hearing not delivered again), and an ordinary next-day delivery of another hearing. The
    incremental `dbt build` reconciles the redelivered key only and passes; a plain `dbt test`
    counts every key and fails (one staged row short). Day 2: a NEW fault, a hearing id
    delivered with a leading space, which staging trims onto an existing hearing, so the
    source holds one more distinct key than staging keeps rows: the incremental build's
    restricted reconciliation fails.
    """
    work = tiny_project.copy_to(tmp_path / "work")
    hearings = work.data_dir / "common_platform" / "hearings"
    latest = max(hearings.glob("extraction_date=*"))
    day_1 = dt.date.fromisoformat(latest.name.split("=", 1)[1]) + dt.timedelta(days=1)
    day_2 = day_1 + dt.timedelta(days=1)
    all_files = f"read_parquet('{hearings}/extraction_date=*/*.parquet', hive_partitioning = false)"

    with duckdb.connect(str(work.warehouse)) as con:
        (redelivered,), (deleted,), (padded,) = con.execute(
            f"select hearing_id from staging.{RECONCILED} order by hearing_id limit 3"
        ).fetchall()
        con.execute(f"delete from staging.{RECONCILED} where hearing_id = ?", [deleted])

    def deliver(day: dt.date, hearing_id: str, delivered_id: str) -> None:
        partition = hearings / f"extraction_date={day}"
        partition.mkdir()
        with duckdb.connect() as con:
            con.execute(
                f"copy (select * replace ('{delivered_id}' as hearing_id,"
                f" timestamp '{day} 06:00:00' as _extracted_at)"
                f" from {all_files} where hearing_id = '{hearing_id}'"
                " order by _extracted_at desc limit 1)"
                f" to '{partition / 'part-0.parquet'}' (format parquet)"
            )

    selection = ("--select", RECONCILED, "--exclude", "resource_type:unit_test")
    deliver(day_1, redelivered, redelivered)
    day_1_work = replace(work, env={**work.env, "DERIVED_AS_OF": day_1.isoformat()})
    now = ("--vars", generic_tests_vars(day_1.isoformat()))
    built = day_1_work.dbt("build", *selection, *now)
    assert "rebuilt in full" not in built.result.output, built.result.describe()
    restricted = _reconcile(built)
    assert restricted["status"] == "pass", restricted  # the deleted row is not re-counted
    watermark = latest.name.split("=", 1)[1]
    assert f"cast('{watermark}' as date)" in str(restricted.get("compiled_code")), restricted
    everything = _reconcile(day_1_work.dbt("test", *selection, *now))
    assert everything["status"] == "fail", everything  # one staged row short

    deliver(day_2, padded, f" {padded}")
    day_2_work = replace(work, env={**work.env, "DERIVED_AS_OF": day_2.isoformat()})
    built = day_2_work.dbt("build", *selection, "--vars", generic_tests_vars(day_2.isoformat()))
    assert "rebuilt in full" not in built.result.output, built.result.describe()
    restricted = _reconcile(built)
    assert restricted["status"] == "fail", restricted  # the new key's extra source key
    assert f"cast('{day_1}' as date)" in str(restricted.get("compiled_code")), restricted


FACT_KEY_TEST = "unique_fct_court_hearings_hearing_id"


@pytest.mark.slow
def test_a_duplicate_key_in_an_incremental_fact_fails_its_unique_test(
    tiny_project: TinyProject, tmp_path: Path
) -> None:
    """A mart's primary key is declared, not indexed on DuckDB: its `unique` test guards it.

    No PRIMARY KEY (an ART index) refuses a duplicate at insert any more
    (macros/engines/key_constraints.sql), so the duplicate must reach the fact and fail the
    fact's `unique` test on the key, restricted to the keys the run wrote like every key rule
    on the natural key (a duplicate lies within one key, all of whose rows the run wrote). The
    upstream `int_hearings_enriched` gets a second copy of one hearing, extracted an hour after
    the latest one (a bug upstream, as if its own `unique` test had been skipped); the fact's
    incremental `dbt build` loads both copies, and its `unique` test fails on that hearing,
    named in the test's name (model and column), as does a plain `dbt test`.
    """
    work = tiny_project.copy_to(tmp_path / "work")
    with duckdb.connect(str(work.warehouse)) as con:
        key_constraints = con.execute(
            "select constraint_type from duckdb_constraints()"
            f" where table_name = '{FACT}'"
            " and constraint_type in ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')"
        ).fetchall()
        assert key_constraints == [], key_constraints
        (hearing_id,) = con.execute(
            f"select min(hearing_id) from courts.{FACT} where hearing_number = 1"
        ).fetchone()
        con.execute(
            "insert into intermediate.int_hearings_enriched"
            " select * replace ("
            " (select max(source_extracted_at) from intermediate.int_hearings_enriched)"
            " + interval 1 hour as source_extracted_at)"
            " from intermediate.int_hearings_enriched where hearing_id = ?",
            [hearing_id],
        )

    now = ("--vars", generic_tests_vars())
    selection = ("--select", FACT, "--exclude", "resource_type:unit_test")
    built = work.dbt("build", *selection, *now)
    assert not built.result.ok, built.result.describe()
    model = _test_result(built, FACT)
    assert model["status"] == "success", model  # no index refused the insert
    restricted = _test_result(built, FACT_KEY_TEST)
    assert restricted["status"] == "fail", restricted
    assert restricted["failures"] == 1, restricted  # one duplicated hearing_id
    assert "_touched_keys" in str(restricted.get("compiled_code")), restricted
    with duckdb.connect(str(work.warehouse), read_only=True) as con:
        copies = con.execute(
            f"select count(*) from courts.{FACT} where hearing_id = ?", [hearing_id]
        ).fetchone()
    assert copies == (2,), copies
    tested = work.dbt("test", *selection, *now)
    everything = _test_result(tested, FACT_KEY_TEST)
    assert everything["status"] == "fail", everything
    assert everything["failures"] == 1, everything
