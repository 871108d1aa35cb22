"""Bad input: every fault of `derived generate --fault`, through the real write-audit-publish.

A warehouse is first built and published from GOOD tiny data (`derived build`, once per module).
Then, for each fault, faulty data is generated into a folder of its own, the published warehouse
is copied there, and `derived build --select source:<faulty table>+ ...` runs on the copy as
production would (a candidate, the audit, publish or not). Each fault has one expected
outcome (docs/data-quality.md, "Bad input: what happens to each fault"):

- the build FAILS on a named test whose name or message names the table and the column, and
  the published warehouse stays byte-identical; or
- the build PASSES, a named warn-severity test counts the faulty rows, and the rows are kept:
  present in staging and in the fact, on the right flag or default member, and the row-count
  reconciliations (source -> staging -> fact) pass.

The generator side (each fault deterministic, confined to its table, printed and recorded in
the manifest) is checked in seconds; the builds are marked slow.

Backfill faults are generated as a full re-extract the day after the good data (same seed and
scale: the same rows, every one newer than the published high-water marks, plus the fault);
the late-arriving fault is a next-day extract appended to a copy of the good data. Each build
selects the faulty table and everything downstream, plus every staging view of its system, so
that those views read the scenario's data folder (views keep the folder they were built with).
The empty extract needs a scale at which the table normally delivers >= 10 rows a day, so it
has data of its own and rebuilds its whole (self-contained) source system, sirius. The
scenarios run two at a time (2 cores), all started the first time a test needs one; dbt unit
tests are left out of these builds (they test logic, not data; see test_dbt_build.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner, Result

from conftest import DROPPED_ENV, CommandResult, run_command
from derived_tables.generator.command import generate
from derived_tables.generator.faults import FAULTS

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DERIVED = str(BIN / "derived")

SCALE = 0.01
SEED = 42
AS_OF = dt.date(2025, 6, 30)
NEXT_DAY = AS_OF + dt.timedelta(days=1)
#: An empty extract is only suspicious when the table normally delivers >= 10 rows a day:
#: at this scale LPA attorneys do (about 22 a day), at SCALE they do not (about 1).
EMPTY_EXTRACT_SCALE = 0.2
WAREHOUSE_NAME = "derived_tables.duckdb"
WORKERS = 2


@dataclass(frozen=True)
class Workspace:
    """One folder holding curated data, truth, a warehouse and dbt's artefacts."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def truth(self) -> Path:
        return self.root / "truth"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / WAREHOUSE_NAME

    @property
    def private(self) -> Path:
        """The private build file `derived build` keeps beside the published one (staging,
        intermediate and the incremental state)."""
        return self.root / "warehouse" / "private" / WAREHOUSE_NAME

    @property
    def target(self) -> Path:
        return self.root / "target"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
        (self.root / "duckdb_tmp").mkdir(parents=True, exist_ok=True)
        env.update(
            DO_NOT_TRACK="1",
            DBT_SEND_ANONYMOUS_USAGE_STATS="false",
            DBT_PROFILES_DIR=str(PROJECT_ROOT),
            DBT_PROJECT_DIR=str(PROJECT_ROOT),
            DBT_TARGET_PATH=str(self.target),
            DBT_LOG_PATH=str(self.root / "logs"),
            DBT_THREADS="2",
            DUCKDB_THREADS="2",
            DERIVED_DATA_DIR=str(self.data),
            DERIVED_WAREHOUSE=str(self.warehouse),
            DUCKDB_TEMP_DIRECTORY=str(self.root / "duckdb_tmp"),
            NO_COLOR="1",
        )
        return env

    def generate(self, *args: str) -> CommandResult:
        return run_command(
            [
                DERIVED,
                "generate",
                *args,
                "--out",
                str(self.data),
                "--truth-out",
                str(self.truth),
                "--project-dir",
                str(PROJECT_ROOT),
            ],
            self.env(),
        )

    def build(self, *args: str, reference_now: dt.date) -> CommandResult:
        now = json.dumps({"generic_tests_reference_now": reference_now.isoformat()})
        return run_command(
            [
                DERIVED,
                "build",
                *args,
                "--exclude",
                "resource_type:unit_test",
                "--vars",
                now,
                "--project-dir",
                str(PROJECT_ROOT),
            ],
            self.env(),
        )

    def run_results(self) -> dict[str, dict[str, Any]]:
        """unique_id -> result of the last dbt command (empty when there is none)."""
        path = self.target / "run_results.json"
        if not path.exists():
            return {}
        return {row["unique_id"]: row for row in json.loads(path.read_text())["results"]}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ------------------------------------------------------------------------------ scenarios


@dataclass(frozen=True)
class Scenario:
    """How one fault is produced and built."""

    fault: str
    mode: str  # "backfill" (a full re-extract, the day after) or "next-day" (appended extract)
    scale: float = SCALE

    @property
    def select(self) -> tuple[str, ...]:
        """The faulty table and everything downstream, plus the staging views of its system
        (rebuilt so that they all read this scenario's data folder). Data of another scale
        than the published warehouse's needs the whole source system and its marts."""
        table = FAULTS[self.fault].table
        system = table.split(".")[0]
        if self.scale != SCALE:
            return (f"source:{system}+",)
        return (f"source:{table}+", f"path:models/staging/{system}")


SCENARIOS: dict[str, Scenario] = {
    "exact-duplicates": Scenario("exact-duplicates", "backfill"),
    "conflicting-duplicates": Scenario("conflicting-duplicates", "backfill"),
    "null-business-keys": Scenario("null-business-keys", "backfill"),
    "null-mandatory-values": Scenario("null-mandatory-values", "backfill"),
    "orphan-foreign-keys": Scenario("orphan-foreign-keys", "backfill"),
    "late-arriving-rows": Scenario("late-arriving-rows", "next-day"),
    "malformed-dates": Scenario("malformed-dates", "backfill"),
    "future-dates": Scenario("future-dates", "backfill"),
    "dropped-column": Scenario("dropped-column", "backfill"),
    "retyped-column": Scenario("retyped-column", "backfill"),
    "added-column": Scenario("added-column", "backfill"),
    "empty-extract": Scenario("empty-extract", "next-day", EMPTY_EXTRACT_SCALE),
    "empty-extract-backfill": Scenario("empty-extract", "backfill"),
    "invalid-characters": Scenario("invalid-characters", "backfill"),
}


@dataclass
class Outcome:
    """What one scenario did: generate, build, artefacts, published file before and after."""

    scenario: Scenario
    workspace: Workspace
    generate: CommandResult
    build: CommandResult | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    published_before: str = ""
    published_after: str = ""
    fault_record: dict[str, Any] = field(default_factory=dict)

    @property
    def published(self) -> bool:
        return self.build is not None and self.build.returncode == 0

    def context(self) -> str:
        build = self.build.describe() if self.build else "(not built)"
        return f"{self.generate.describe()}\n---\n{build}"

    def node(self, name: str) -> dict[str, Any]:
        """The one result whose unique_id's name part is `name` (a test or model name)."""
        found = [r for uid, r in self.results.items() if uid.split(".")[2] == name]
        assert len(found) == 1, (
            f"expected one node named {name}, found {len(found)}; ran: "
            f"{sorted(uid.split('.')[2] for uid in self.results)}\n{self.context()}"
        )
        return found[0]

    def not_ok(self) -> dict[str, str]:
        """Nodes that did not pass or succeed: name -> status."""
        return {
            uid.split(".")[2]: r["status"]
            for uid, r in self.results.items()
            if r["status"] not in ("pass", "success", "no-op")
        }

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        con = duckdb.connect(str(self.workspace.private), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


class Runner:
    """Runs the scenarios the session selected, WORKERS at a time, once each."""

    def __init__(self, good: Workspace, root: Path, wanted: list[str]) -> None:
        self.good = good
        self.root = root
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="fault")
        self.lock = threading.Lock()
        self.futures: dict[str, Future[Outcome]] = {}
        for name in wanted:
            self.submit(name)

    def submit(self, name: str) -> Future[Outcome]:
        with self.lock:
            if name not in self.futures:
                self.futures[name] = self.pool.submit(self.play, name)
            return self.futures[name]

    def outcome(self, name: str) -> Outcome:
        return self.submit(name).result()

    def play(self, name: str) -> Outcome:
        scenario = SCENARIOS[name]
        work = Workspace(self.root / name)
        fault = ("--fault", scenario.fault)
        if scenario.mode == "backfill":
            generated = work.generate(
                "--scale", str(scenario.scale), "--seed", str(SEED),
                "--as-of", NEXT_DAY.isoformat(), *fault,
            )  # fmt: skip
        else:
            if scenario.scale == SCALE:
                shutil.copytree(self.good.data, work.data)
                shutil.copytree(self.good.truth, work.truth)
                generated = work.generate("--next-day", *fault)
            else:
                base = work.generate(
                    "--scale", str(scenario.scale), "--seed", str(SEED),
                    "--as-of", AS_OF.isoformat(),
                )  # fmt: skip
                if base.returncode != 0:
                    return Outcome(scenario, work, base)
                generated = work.generate("--next-day", *fault)
        outcome = Outcome(scenario, work, generated)
        if generated.returncode != 0:
            return outcome
        manifest = json.loads((work.data / "_manifest.json").read_text())
        outcome.fault_record = manifest.get("faults", [{}])[-1]
        work.warehouse.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(self.good.warehouse, work.warehouse)
        work.private.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(self.good.private, work.private)
        outcome.published_before = sha256(work.warehouse)
        selection = [arg for selector in scenario.select for arg in ("--select", selector)]
        outcome.build = work.build(*selection, reference_now=NEXT_DAY)
        outcome.results = work.run_results()
        outcome.published_after = sha256(work.warehouse)
        return outcome


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Good tiny data and the warehouse built and published from it (`derived build`)."""
    work = Workspace(tmp_path_factory.mktemp("faults_good"))
    generated = work.generate(
        "--scale", str(SCALE), "--seed", str(SEED), "--as-of", AS_OF.isoformat()
    )
    if generated.returncode != 0:
        pytest.fail(f"good data: {generated.describe()}", pytrace=False)
    built = work.build(reference_now=AS_OF)
    if built.returncode != 0 or not work.warehouse.exists():
        pytest.fail(f"good warehouse: {built.describe()}", pytrace=False)
    print(f"\nfaults: good data and warehouse built in {built.seconds:.0f} s")
    return work


@pytest.fixture(scope="module")
def runner(
    good: Workspace, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Runner]:
    """Starts every selected scenario at once (WORKERS in parallel)."""
    wanted = [
        item.callspec.params["scenario"]
        for item in request.session.items
        if item.module is request.module
        and hasattr(item, "callspec")
        and "scenario" in item.callspec.params
    ]
    started = time.monotonic()
    runner = Runner(good, tmp_path_factory.mktemp("faults"), list(dict.fromkeys(wanted)))
    yield runner
    runner.pool.shutdown(wait=True)
    print(f"\nfaults: {len(runner.futures)} scenario(s) in {time.monotonic() - started:.0f} s")


# ------------------------------------------------------------------------------ expectations


def failed_on(outcome: Outcome, test_name: str, *, words: Sequence[str]) -> None:
    """The build failed on `test_name`, which names the table and column (in its name or
    message), and the published warehouse did not change."""
    assert outcome.build is not None and outcome.build.returncode != 0, (
        f"the build should have failed\n{outcome.context()}"
    )
    node = outcome.node(test_name)
    assert node["status"] in ("fail", "error"), f"{test_name}: {node['status']}"
    text = f"{test_name} {node.get('message') or ''}"
    for word in words:
        assert word in text, f"{word!r} not named by the failing test: {text}"
    assert test_name in outcome.build.output, "derived build does not report the failing test"
    assert outcome.published_after == outcome.published_before, (
        "a failed build changed the published warehouse"
    )


def warned_on(outcome: Outcome, test_name: str, failures: int | None = None) -> None:
    """The build published, and `test_name` warned (with `failures` rows counted)."""
    assert outcome.published, f"the build should have published\n{outcome.context()}"
    assert outcome.published_after != outcome.published_before
    node = outcome.node(test_name)
    assert node["status"] == "warn", f"{test_name}: {node['status']} {node.get('message')}"
    if failures is not None:
        assert node["failures"] == failures, f"{test_name}: {node['failures']} != {failures}"


def reconciled(outcome: Outcome) -> None:
    """Every row-count reconciliation the build ran passed (source -> staging -> fact)."""
    names = [
        uid.split(".")[2]
        for uid in outcome.results
        if any(
            part in uid.split(".")[2] for part in ("reconcile", "equal_row_count", "rows_reconcile")
        )
    ]
    assert names, "no reconciliation test ran"
    bad = {name: outcome.node(name)["status"] for name in names}
    bad = {name: status for name, status in bad.items() if status != "pass"}
    assert not bad, f"reconciliations that did not pass: {bad}"


def only_expected_warnings(outcome: Outcome, expected: set[str]) -> None:
    """Nothing else went wrong: every node that did not pass is one of the expected warnings."""
    unexpected = {n: s for n, s in outcome.not_ok().items() if n not in expected}
    assert not unexpected, f"unexpected statuses: {unexpected}"


def keys_of(outcome: Outcome) -> list[str]:
    keys = outcome.fault_record.get("keys", [])
    assert keys, f"the manifest records no faulted keys: {outcome.fault_record}"
    return keys


def in_list(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def check_exact_duplicates(o: Outcome) -> None:
    warned_on(o, "source_no_exact_duplicates_nomis_movements_", failures=3)
    only_expected_warnings(o, {"source_no_exact_duplicates_nomis_movements_"})
    ids = keys_of(o)
    for relation in ("staging.stg_nomis__movements", "prisons.fct_prison_movements"):
        counts = o.query(
            f"select movement_id, count(*) from {relation} "
            f"where movement_id in ({in_list(ids)}) group by movement_id"
        )
        assert sorted(counts) == sorted((i, 1) for i in ids), f"{relation}: {counts}"
    # rows in = rows out + rows de-duplicated, at each hop
    files = o.workspace.data / "nomis" / "movements" / "*" / "*.parquet"
    delivered = o.query(f"select count(*) from read_parquet('{files}')")[0][0]
    staged = o.query("select count(*) from staging.stg_nomis__movements")[0][0]
    in_fact = o.query("select count(*) from prisons.fct_prison_movements")[0][0]
    assert delivered == staged + 3 == in_fact + 3, (delivered, staged, in_fact)
    reconciled(o)


def check_conflicting_duplicates(o: Outcome) -> None:
    failed_on(
        o,
        "source_no_conflicting_duplicates_common_platform_hearings_hearing_id___extracted_at",
        words=("common_platform_hearings", "hearing_id"),
    )
    node = o.node(
        "source_no_conflicting_duplicates_common_platform_hearings_hearing_id___extracted_at"
    )
    assert node["failures"] == 2


def check_null_business_keys(o: Outcome) -> None:
    failed_on(o, "source_not_null_delius_events_event_id", words=("delius_events", "event_id"))


def check_null_mandatory_values(o: Outcome) -> None:
    # one query checks every not_null constraint of the staging model; its message names the
    # model, the rule and the column with its null rows (the staged rows of the 3 attorneys)
    test_name = "column_constraints_stg_sirius__attorneys_"
    failed_on(o, test_name, words=("stg_sirius__attorneys", "not_null", "attorney_role_code ("))
    found = re.search(r"attorney_role_code \((\d+) rows\)", o.node(test_name)["message"])
    assert found, o.node(test_name)["message"]
    assert 3 <= int(found.group(1)) <= o.fault_record["rows"], (found.group(0), o.fault_record)
    assert len(keys_of(o)) == 3


def check_orphan_foreign_keys(o: Outcome) -> None:
    relationship = next(
        name
        for name in (uid.split(".")[2] for uid in o.results)
        if name.startswith("relationships_stg_common_platform__cases_defendant_id")
    )
    warned_on(o, relationship, failures=3)
    warned_on(o, "assert_courts_facts_persons_resolved")
    only_expected_warnings(o, {relationship, "assert_courts_facts_persons_resolved"})
    cases = keys_of(o)
    keys = o.query(
        f"select case_id, person_key from courts.fct_case_timeliness "
        f"where case_id in ({in_list(cases)})"
    )
    assert sorted(keys) == sorted((c, "-2") for c in cases), keys
    hearings = o.query(
        "select count(*), count(*) filter (where person_key = '-2') "
        f"from courts.fct_court_hearings where case_id in ({in_list(cases)})"
    )[0]
    assert hearings[0] > 0 and hearings[0] == hearings[1], hearings
    reconciled(o)


def check_late_arriving_rows(o: Outcome) -> None:
    assert o.published, o.context()
    assert o.published_after != o.published_before
    only_expected_warnings(o, set())
    ids = keys_of(o)
    rows = o.query(
        "select hearing_id, hearing_date, date_key from courts.fct_court_hearings "
        f"where hearing_id in ({in_list(ids)})"
    )
    assert len(rows) == len(ids), rows
    for hearing_id, hearing_date, date_key in rows:
        assert hearing_date <= NEXT_DAY - dt.timedelta(days=21), (hearing_id, hearing_date)
        assert date_key == hearing_date.strftime("%Y%m%d"), (hearing_id, date_key)
    reconciled(o)


def check_malformed_dates(o: Outcome) -> None:
    lpa_ids = keys_of(o)
    versions = o.fault_record["rows"]
    warned_on(o, "source_values_parse_as_declared_type_sirius_lpa_applications_", versions)
    warned_on(o, "flagged_share_stg_sirius__lpa_application_history_has_malformed_dates", versions)
    assert "column received_date has type VARCHAR, expected DATE" in (
        o.build.output if o.build else ""
    )
    rows = o.query(
        "select lpa_id, received_date, has_malformed_dates, is_received_date_invalid "
        f"from staging.stg_sirius__lpa_applications where lpa_id in ({in_list(lpa_ids)})"
    )
    assert sorted(rows) == sorted((i, None, True, True) for i in lpa_ids), rows
    facts = o.query(
        "select lpa_id, received_date_key from opg.fct_lpa_applications "
        f"where lpa_id in ({in_list(lpa_ids)})"
    )
    assert sorted(facts) == sorted((i, "-1") for i in lpa_ids), facts
    reconciled(o)


def check_future_dates(o: Outcome) -> None:
    ids = keys_of(o)
    warned_on(o, "flagged_share_stg_delius__terminations_is_termination_date_invalid", 3)
    future = NEXT_DAY + dt.timedelta(days=180)
    rows = o.query(
        "select termination_id, termination_date, is_termination_date_invalid "
        f"from staging.stg_delius__terminations where termination_id in ({in_list(ids)})"
    )
    assert sorted(rows) == sorted((i, future, True) for i in ids), rows
    reconciled(o)


def check_dropped_column(o: Outcome) -> None:
    failed_on(
        o,
        "source_columns_match_contract_nomis_bookings_",
        words=("nomis.bookings: column establishment_code missing",),
    )


def check_retyped_column(o: Outcome) -> None:
    failed_on(
        o,
        "source_columns_match_contract_common_platform_outcomes_",
        words=(
            "common_platform.outcomes: column fine_amount has type DOUBLE, expected DECIMAL(12,2)",
        ),
    )


def check_added_column(o: Outcome) -> None:
    warned_on(o, "source_columns_all_declared_sirius_lpa_applications_", failures=1)
    only_expected_warnings(o, {"source_columns_all_declared_sirius_lpa_applications_"})
    assert o.build is not None
    assert (
        "sirius.lpa_applications: column correspondence_language_code not declared"
        in o.build.output
    )
    reconciled(o)


def check_empty_extract(o: Outcome) -> None:
    warned_on(o, "source_latest_extract_has_rows_sirius_attorneys_", failures=1)
    only_expected_warnings(o, {"source_latest_extract_has_rows_sirius_attorneys_"})
    assert o.fault_record["rows"] > 0  # rows were withheld
    reconciled(o)


def check_empty_extract_backfill(o: Outcome) -> None:
    failed_on(o, "source_not_empty_sirius_attorneys_", words=("sirius_attorneys",))


def check_invalid_characters(o: Outcome) -> None:
    warned_on(o, "no_invalid_characters_stg_sirius__attorneys_last_name", failures=3)
    only_expected_warnings(o, {"no_invalid_characters_stg_sirius__attorneys_last_name"})
    ids = keys_of(o)
    rows = o.query(
        "select count(*) from staging.stg_sirius__attorneys "
        f"where attorney_id in ({in_list(ids)}) "
        r"and regexp_matches(last_name, '[\x00-\x1f\x7f\x{fffd}]')"
    )
    assert rows == [(3,)], rows
    reconciled(o)


CHECKS: dict[str, Callable[[Outcome], None]] = {
    "exact-duplicates": check_exact_duplicates,
    "conflicting-duplicates": check_conflicting_duplicates,
    "null-business-keys": check_null_business_keys,
    "null-mandatory-values": check_null_mandatory_values,
    "orphan-foreign-keys": check_orphan_foreign_keys,
    "late-arriving-rows": check_late_arriving_rows,
    "malformed-dates": check_malformed_dates,
    "future-dates": check_future_dates,
    "dropped-column": check_dropped_column,
    "retyped-column": check_retyped_column,
    "added-column": check_added_column,
    "empty-extract": check_empty_extract,
    "empty-extract-backfill": check_empty_extract_backfill,
    "invalid-characters": check_invalid_characters,
}


# ------------------------------------------------------------------------------ tests


def test_every_fault_has_a_scenario() -> None:
    assert {s.fault for s in SCENARIOS.values()} == set(FAULTS)
    assert set(CHECKS) == set(SCENARIOS)


# --- the generator side (seconds): deterministic, only the named table, recorded ------------


def _generate(*args: str) -> Result:
    return CliRunner().invoke(generate, ["--project-dir", str(PROJECT_ROOT), *args])


def _backfill(root: Path, *extra: str) -> Result:
    return _generate(
        "--scale", str(SCALE), "--seed", str(SEED), "--as-of", AS_OF.isoformat(),
        "--out", str(root / "data"), "--truth-out", str(root / "truth"), *extra,
    )  # fmt: skip


def _file_hashes(data: Path) -> dict[str, str]:
    return {str(path.relative_to(data)): sha256(path) for path in sorted(data.rglob("*.parquet"))}


@pytest.fixture(scope="module")
def good_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("faults_good_files")
    result = _backfill(root)
    assert result.exit_code == 0, result.output
    return _file_hashes(root / "data")


def test_help_lists_every_fault_on_one_line() -> None:
    result = _generate("--help")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for fault in FAULTS.values():
        line = next((text for text in lines if text.split()[:1] == [fault.name]), None)
        assert line is not None, f"{fault.name} not listed:\n{result.output}"
        assert fault.table in line, line


@pytest.mark.parametrize(
    "name", [name for name, fault in FAULTS.items() if "backfill" in fault.modes]
)
def test_backfill_fault_changes_only_its_table_and_is_recorded(
    name: str, good_files: dict[str, str], tmp_path: Path
) -> None:
    result = _backfill(tmp_path, "--fault", name)
    assert result.exit_code == 0, result.output
    fault = FAULTS[name]
    files = _file_hashes(tmp_path / "data")
    folder = "/".join(fault.table.split(".")) + "/"
    changed = {path for path in files.keys() | good_files.keys()
               if files.get(path) != good_files.get(path)}  # fmt: skip
    assert changed and all(path.startswith(folder) for path in changed), sorted(changed)

    record = json.loads((tmp_path / "data" / "_manifest.json").read_text())["faults"]
    assert len(record) == 1, record
    entry = record[0]
    assert entry["fault"] == name and entry["table"] == fault.table
    assert entry["column"] == fault.column and entry["mode"] == "backfill"
    assert entry["extraction_date"] == AS_OF.isoformat() and entry["rows"] > 0
    if fault.n_rows:
        assert len(entry["keys"]) == fault.n_rows, entry
    for text in (f"Injected fault {name}", f"table:  {fault.table}", f"rows:   {entry['rows']:,}"):
        assert text in result.output, result.output

    again = tmp_path / "again"
    assert _backfill(again, "--fault", name).exit_code == 0
    assert _file_hashes(again / "data") == files, "the same fault gave other bytes"


@pytest.fixture(scope="module")
def good_backfill(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("faults_good_backfill")
    result = _backfill(root)
    assert result.exit_code == 0, result.output
    return root


@pytest.mark.parametrize("name", [name for name, fault in FAULTS.items() if fault.redeliver])
def test_next_day_fault_goes_into_the_new_extract_only(
    name: str, good_backfill: Path, tmp_path: Path
) -> None:
    """The good data's next day has no rows at this scale: the fault re-delivers a few rows
    already delivered and faults them, in the new partition only."""
    shutil.copytree(good_backfill, tmp_path, dirs_exist_ok=True)
    before = _file_hashes(tmp_path / "data")
    result = _generate(
        "--next-day", "--fault", name,
        "--out", str(tmp_path / "data"), "--truth-out", str(tmp_path / "truth"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    after = _file_hashes(tmp_path / "data")
    assert all(after.get(path) == digest for path, digest in before.items())
    fault = FAULTS[name]
    new = sorted(set(after) - set(before))
    folder = "/".join(fault.table.split(".")) + f"/extraction_date={NEXT_DAY.isoformat()}/"
    assert new and all(path.startswith(folder) for path in new), new
    entry = json.loads((tmp_path / "data" / "_manifest.json").read_text())["faults"][-1]
    assert (entry["fault"], entry["mode"]) == (name, "next-day"), entry
    assert entry["extraction_date"] == NEXT_DAY.isoformat() and entry["rows"] > 0, entry
    assert entry["redelivered_rows"] > 0 and "delivered again" in result.output


def test_next_day_faults_are_recorded_after_earlier_ones(tmp_path: Path) -> None:
    assert _backfill(tmp_path, "--fault", "exact-duplicates").exit_code == 0
    late = _generate(
        "--next-day", "--fault", "late-arriving-rows",
        "--out", str(tmp_path / "data"), "--truth-out", str(tmp_path / "truth"),
    )  # fmt: skip
    assert late.exit_code == 0, late.output
    faults = json.loads((tmp_path / "data" / "_manifest.json").read_text())["faults"]
    assert [(f["fault"], f["mode"], f["extraction_date"]) for f in faults] == [
        ("exact-duplicates", "backfill", AS_OF.isoformat()),
        ("late-arriving-rows", "next-day", NEXT_DAY.isoformat()),
    ]
    assert faults[1]["rows"] == 3 and len(faults[1]["keys"]) == 3, faults[1]


def test_late_arriving_rows_need_an_earlier_extract(tmp_path: Path) -> None:
    result = _backfill(tmp_path, "--fault", "late-arriving-rows")
    assert result.exit_code != 0
    assert "needs --next-day" in result.output
    assert not (tmp_path / "data").exists()


def test_good_data_manifest_has_no_faults_entry(tmp_path: Path) -> None:
    assert _backfill(tmp_path).exit_code == 0
    assert "faults" not in json.loads((tmp_path / "data" / "_manifest.json").read_text())


# --- the project's response (minutes): write-audit-publish on each fault --------------------


@pytest.mark.slow
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_fault_outcome(scenario: str, runner: Runner) -> None:
    outcome = runner.outcome(scenario)
    assert outcome.generate.returncode == 0, outcome.generate.describe()
    record = outcome.fault_record
    spec = FAULTS[outcome.scenario.fault]
    assert record["fault"] == spec.name and record["table"] == spec.table, record
    assert record["column"] == spec.column and record["rows"] > 0, record
    assert f"table:  {spec.table}" in outcome.generate.output
    assert outcome.build is not None
    CHECKS[scenario](outcome)
