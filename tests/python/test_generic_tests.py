"""Proof that every generic test in tests/generic/ works.

One `dbt build --store-failures` of a small fixture project
(tests/fixtures/generic_tests/project/, copied to a temporary directory with the repository's
tests/generic/ and macros/) runs every generic test against GOOD data, which must pass, and
against data BUILT TO BREAK it, which must fail with the expected number of failing rows (or,
for a test that stops its query with a message, end in `error` with that message). The
expected outcome of each test instance sits beside it in the fixture's YAML
(`config.meta.expect`, `config.meta.failures`, `config.meta.message`), so each instance is its
own pytest case.

The fixture's files carry a `.tmpl` suffix, dropped when copied: without it the main project,
whose test-paths include tests/fixtures/, would parse them as its own properties files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE_PROJECT = REPO_ROOT / "tests" / "fixtures" / "generic_tests" / "project"
CASES_FILE = FIXTURE_PROJECT / "seeds" / "_cases.yml.tmpl"
#: Contracted models (DuckDB enforces their constraints), with their own cases.
MODELS_FILE = FIXTURE_PROJECT / "models" / "_models.yml.tmpl"
GENERIC_TESTS_DIR = REPO_ROOT / "tests" / "generic"
MACROS_DIR = REPO_ROOT / "macros"
TEMPLATE_SUFFIX = ".tmpl"
DUCKDB_FILE = "generic_tests_fixture.duckdb"
AUDIT_SCHEMA = "dbt_test__audit"
DBT_TIMEOUT_SECONDS = 600

TEST_BLOCK = re.compile(r"\{%-?\s*test\s+(\w+)\s*\((.*?)\)\s*-?%\}", re.DOTALL)
YAML_EXAMPLE = re.compile(r"```yaml\n(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class Case:
    """One instance of a generic test in the fixture project, with its expected outcome."""

    name: str
    generic_test: str
    expect: str
    failures: int | None
    message: str | None = None


@dataclass(frozen=True)
class BuildResult:
    """What the fixture build left behind."""

    project_dir: Path
    returncode: int
    log: str
    results: dict[str, dict[str, Any]]
    manifest: dict[str, Any]

    def failure_rows(self, test_name: str) -> list[dict[str, Any]]:
        """The rows `--store-failures` stored for a test instance."""
        with duckdb.connect(str(self.project_dir / DUCKDB_FILE), read_only=True) as connection:
            relation = connection.sql(f'select * from {AUDIT_SCHEMA}."{test_name}"')
            columns = relation.columns
            return [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]


def generic_test_signatures() -> dict[str, list[str]]:
    """Name -> argument names of every `{% test %}` block in tests/generic/."""
    signatures: dict[str, list[str]] = {}
    for path in sorted(GENERIC_TESTS_DIR.glob("*.sql")):
        for name, arguments in TEST_BLOCK.findall(path.read_text()):
            signatures[name] = [
                argument.split("=")[0].strip()
                for argument in arguments.split(",")
                if argument.strip()
            ]
    return signatures


def _instances(tests: list[Any] | None) -> list[tuple[str, dict[str, Any]]]:
    instances = []
    for entry in tests or []:
        assert isinstance(entry, dict) and len(entry) == 1, f"unexpected test entry {entry}"
        ((generic_test, properties),) = entry.items()
        instances.append((generic_test, properties or {}))
    return instances


def fixture_cases() -> list[Case]:
    """Every test instance of the fixture project with its expected outcome."""
    nodes = yaml.safe_load(CASES_FILE.read_text())["seeds"]
    nodes += yaml.safe_load(MODELS_FILE.read_text())["models"]
    cases = []
    for seed in nodes:
        tests = _instances(seed.get("data_tests"))
        for column in seed.get("columns", []):
            tests += _instances(column.get("data_tests"))
        for generic_test, test_properties in tests:
            meta = test_properties.get("config", {}).get("meta", {})
            assert "name" in test_properties, f"{generic_test} on {seed['name']} has no name"
            assert meta.get("expect") in {"pass", "fail", "warn", "error"}, (
                f"{test_properties['name']}: config.meta.expect must be pass, fail, warn or error"
            )
            assert meta.get("expect") != "error" or meta.get("message"), (
                f"{test_properties['name']}: an expected error needs its config.meta.message"
            )
            cases.append(
                Case(
                    name=test_properties["name"],
                    generic_test=generic_test,
                    expect=meta["expect"],
                    failures=meta.get("failures"),
                    message=meta.get("message"),
                )
            )
    return cases


def documented_tests() -> dict[str, dict[str, Any]]:
    """Name (without the `test_` prefix) -> its entry in its own YAML beside it,
    tests/generic/<name>.yml (which must document that test and no other)."""
    documented = {}
    for path in sorted(GENERIC_TESTS_DIR.glob("*.yml")):
        entries = yaml.safe_load(path.read_text())["macros"]
        assert [entry["name"] for entry in entries] == [f"test_{path.stem}"], path
        documented[path.stem] = entries[0]
    return documented


SIGNATURES = generic_test_signatures()
CASES = fixture_cases()


def _dbt_executable() -> str:
    beside_python = Path(sys.executable).with_name("dbt")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("dbt")
    if found is None:
        pytest.fail("dbt is not installed in this environment (run `make install`)")
    return found


def _copy_fixture_project(destination: Path) -> None:
    for source in FIXTURE_PROJECT.rglob("*"):
        if source.is_dir():
            continue
        relative = source.relative_to(FIXTURE_PROJECT)
        target = destination / relative
        if target.name.endswith(TEMPLATE_SUFFIX):
            target = target.with_name(target.name.removesuffix(TEMPLATE_SUFFIX))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    shutil.copytree(MACROS_DIR, destination / "macros")
    shutil.copytree(GENERIC_TESTS_DIR, destination / "tests" / "generic")


@pytest.fixture(scope="module")
def fixture_build(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """Build the fixture project once for the whole module."""
    project_dir = tmp_path_factory.mktemp("generic_tests") / "project"
    _copy_fixture_project(project_dir)
    # Nothing from the caller's dbt settings (DBT_PROJECT_DIR, DBT_TARGET...) may leak in.
    env = {key: value for key, value in os.environ.items() if not key.startswith("DBT_")}
    env.update(DO_NOT_TRACK="1", DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    command = [
        _dbt_executable(),
        "--no-use-colors",
        "build",
        "--store-failures",
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
    ]
    completed = subprocess.run(
        command,
        cwd=project_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=DBT_TIMEOUT_SECONDS,
        check=False,
    )
    log = completed.stdout + completed.stderr
    run_results = project_dir / "target" / "run_results.json"
    # Exit code 1 is expected (tests built to fail do fail); 2 means dbt itself broke.
    if completed.returncode not in (0, 1) or not run_results.exists():
        pytest.fail(f"dbt build did not run (exit {completed.returncode}):\n{log[-6000:]}")
    manifest = json.loads((project_dir / "target" / "manifest.json").read_text())
    results = {}
    for result in json.loads(run_results.read_text())["results"]:
        node = manifest["nodes"][result["unique_id"]]
        results[node["name"]] = {**result, "resource_type": node["resource_type"]}
    return BuildResult(project_dir, completed.returncode, log, results, manifest)


def test_fixture_build_ran_every_case(fixture_build: BuildResult) -> None:
    """Seeds loaded, and the tests dbt ran are exactly the cases declared in the YAML."""
    seeds = {n: r for n, r in fixture_build.results.items() if r["resource_type"] == "seed"}
    assert seeds, "no seed was loaded"
    not_loaded = {name: r["status"] for name, r in seeds.items() if r["status"] != "success"}
    assert not not_loaded, f"seeds not loaded: {not_loaded}"
    ran = {n for n, r in fixture_build.results.items() if r["resource_type"] == "test"}
    assert ran == {case.name for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_generic_test_outcome(case: Case, fixture_build: BuildResult) -> None:
    """Each instance passes on good data and fails, as expected, on bad data."""
    result = fixture_build.results.get(case.name)
    assert result is not None, f"{case.name} did not run:\n{fixture_build.log[-4000:]}"
    assert result["status"] == case.expect, (
        f"{case.name}: expected {case.expect}, got {result['status']}: {result['message']}"
    )
    if case.message is not None:
        assert case.message in (result["message"] or ""), (
            f"{case.name}: expected the message {case.message!r}, got {result['message']!r}"
        )
    expected_failures = 0 if case.expect == "pass" else case.failures
    if expected_failures is not None:
        assert result["failures"] == expected_failures, (
            f"{case.name}: expected {expected_failures} failing rows, got {result['failures']}"
        )


@pytest.mark.parametrize("generic_test", sorted(SIGNATURES))
def test_generic_test_is_proved_both_ways(generic_test: str) -> None:
    """No generic test without a passing case on good data and a failing case on bad data."""
    outcomes = {case.expect for case in CASES if case.generic_test == generic_test}
    assert "pass" in outcomes, f"{generic_test} has no case on good data"
    assert outcomes & {"fail", "error"}, f"{generic_test} has no case on data built to break it"


@pytest.mark.parametrize("generic_test", sorted(SIGNATURES))
def test_generic_test_is_documented(generic_test: str) -> None:
    """Documented with every argument and a YAML example that uses `arguments:`."""
    entry = documented_tests().get(generic_test)
    assert entry is not None, f"test_{generic_test} missing: no tests/generic/{generic_test}.yml"
    assert entry.get("description", "").strip(), f"{generic_test} has no description"
    documented = [argument["name"] for argument in entry.get("arguments", [])]
    assert documented == SIGNATURES[generic_test], (
        f"{generic_test}: documented arguments {documented} differ from the signature "
        f"{SIGNATURES[generic_test]}"
    )
    assert all(argument.get("description") for argument in entry["arguments"])
    examples = YAML_EXAMPLE.findall(entry["description"])
    assert examples, f"{generic_test}: no ```yaml example in the description"
    used = False
    for example in examples:
        for usage in _find_usages(yaml.safe_load(example), generic_test):
            used = True
            if isinstance(usage, dict):
                assert set(usage) <= {"arguments", "config", "name"}, usage
                unknown = set(usage.get("arguments", {})) - set(SIGNATURES[generic_test])
                assert not unknown, f"{generic_test} example uses unknown arguments {unknown}"
    assert used, f"{generic_test}: the examples never use the test"


def test_dbt_attaches_the_documentation(fixture_build: BuildResult) -> None:
    """dbt reads the `macros:` docs beside the tests (so they reach the catalogue)."""
    macros = fixture_build.manifest["macros"]
    undocumented = []
    for generic_test in SIGNATURES:
        macro = macros[f"macro.derived_tables.test_{generic_test}"]
        beside = f"{generic_test}.yml"
        if not macro["description"] or not (macro["patch_path"] or "").endswith(beside):
            undocumented.append(generic_test)
    assert not undocumented, f"docs not attached by dbt: {undocumented}"


def _find_usages(node: Any, generic_test: str) -> list[Any]:
    """Every use of a generic test in a parsed YAML example (a bare name or a mapping)."""
    usages: list[Any] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "data_tests":
                for entry in value:
                    if entry == generic_test:
                        usages.append(None)
                    elif isinstance(entry, dict) and generic_test in entry:
                        usages.append(entry[generic_test])
            else:
                usages += _find_usages(value, generic_test)
    elif isinstance(node, list):
        for item in node:
            usages += _find_usages(item, generic_test)
    return usages


STORED_FAILURES: dict[str, tuple[tuple[str, ...], set[tuple[Any, ...]]]] = {
    "unique_combination_of_columns__bad": (
        ("court_id", "room", "n_rows"),
        {("C1", 1, 3), ("C2", 1, 2)},
    ),
    "expression_is_true__bad": (("order_id",), {(2,), (4,)}),
    "accepted_range__bad": (("age",), {(-1,), (121,)}),
    "mutually_exclusive_ranges__bad": (
        ("person_id", "failure_reason"),
        {
            ("P1", "overlaps the next range"),
            ("P2", "open range (null upper bound) is not the last range"),
            ("P3", "lower bound is after upper bound"),
            ("P4", "lower bound is null"),
            ("P5", "zero-length range"),
        },
    ),
    "one_current_row_per_key__bad": (
        ("source_system", "person_id", "n_current_rows"),
        {("nomis", "P1", 2), ("nomis", "P2", 0)},
    ),
    "recency__bad": (("most_recent",), {("2024-06-27 10:00:00",)}),
    "not_null_proportion__bad": (("n_rows", "n_not_null"), {(10, 5)}),
    "equal_row_count__bad": (("model_rows", "compare_model_rows"), {(7, 10)}),
    "rows_reconcile__bad": (
        ("rows_in", "rows_out", "rows_flagged", "unexplained_difference"),
        {(10, 7, 2, 1)},
    ),
    "reconciles_with_source__row_dropped": (
        ("n_expected_rows", "n_actual_rows", "n_not_latest_delivery"),
        {(5, 4, 0)},
    ),
    "reconciles_with_source__not_latest_delivery": (
        ("n_expected_rows", "n_actual_rows", "n_not_latest_delivery"),
        {(5, 5, 1)},
    ),
    "reconciles_with_source__rows_doubled_for_the_key": (
        ("n_expected_rows", "n_actual_rows", "n_not_latest_delivery"),
        {(3, 5, 0)},
    ),
    "regex_match__bad": (("postcode",), {("sw1a 1aa",), ("SW1A 1AAX",), ("XX",)}),
    "relationships_where__bad": (("missing_value", "n_child_rows"), {("C", 1), ("Z", 2)}),
    "volume_within_norm__bad": (("row_count", "history_periods"), {(3, 14)}),
    "has_default_members__bad": (
        ("member_key", "failure_reason"),
        {
            ("-2", "default member row is not flagged as one"),
            ("-3", "default member row is missing"),
            ("k9", "flagged as a default member but not a default key"),
        },
    ),
    "not_empty__bad": (("n_rows",), {(0,)}),
    "at_least_one__bad": (("n_rows", "n_not_null"), {(10, 0)}),
    "column_constraints__as_warning": (
        ("failure",),
        {("gt_nn_bad: not_null constraint fails on first_name (1 rows), gender_code (2 rows)",)},
    ),
    "column_constraints__checks_as_warning": (
        ("failure",),
        {
            (
                "gt_checks_bad: not_null constraint fails on person_id (1 rows); "
                "check constraint fails on age (2 rows): age between 0 and 120; "
                "check constraint fails on gender_code (1 rows): gender_code in ('M', 'F', 'U')",
            )
        },
    ),
}


@pytest.mark.parametrize("test_name", sorted(STORED_FAILURES))
def test_stored_failures_identify_what_failed(test_name: str, fixture_build: BuildResult) -> None:
    """`--store-failures` keeps rows that point at exactly the broken records."""
    columns, expected = STORED_FAILURES[test_name]
    rows = fixture_build.failure_rows(test_name)
    found = {tuple(_plain(row[column]) for column in columns) for row in rows}
    assert found == expected


def _plain(value: Any) -> Any:
    """Stored values in comparable form (timestamps as text, integral numbers as int)."""
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def test_column_constraints_read_nothing_the_table_enforces(fixture_build: BuildResult) -> None:
    """On a contracted model DuckDB created with its constraints, the test evaluates none of
    them (every insert checked them); on a seed, which enforces nothing, it counts them all."""
    enforced = fixture_build.results["column_constraints__enforced_by_the_table"]
    assert enforced["status"] == "pass", enforced
    assert "nulls_" not in enforced["compiled_code"], enforced["compiled_code"]
    assert "fails_" not in enforced["compiled_code"], enforced["compiled_code"]
    seed = fixture_build.results["column_constraints__checks_good"]
    for counted in ("nulls_1", "fails_1", "fails_2"):
        assert counted in seed["compiled_code"], seed["compiled_code"]


def test_a_check_the_table_enforces_fails_the_model(fixture_build: BuildResult) -> None:
    """A row outside an enforced check fails the contracted model itself, with DuckDB's
    message naming the table and the expression (so a bad mart is never built)."""
    model = fixture_build.results["gt_checks_enforced_bad"]
    assert model["status"] == "error", model
    message = model["message"] or ""
    assert "CHECK constraint failed" in message, message
    assert "gt_checks_enforced_bad" in message and "age" in message and "120" in message, message
