"""Write-audit-publish (`derived build` / `derived rollback`) on a tiny throw-away dbt project.

The tiny project has one seed, a view, a table, an incremental model and a singular test that
fails when the var `fail_audit` is true, so every path of publish.py runs against real dbt and
DuckDB in seconds, without the main project or its data.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import click
import duckdb
import pytest
from click.testing import CliRunner, Result

from derived_tables import publish
from derived_tables.publish import build, rollback

FILES = {
    "dbt_project.yml": """
        name: tiny
        version: "1.0.0"
        config-version: 2
        profile: tiny
        flags:
          send_anonymous_usage_stats: false
        models:
          tiny:
            +materialized: table
        """,
    "profiles.yml": """
        tiny:
          target: dev
          outputs:
            dev:
              type: duckdb
              path: "{{ env_var('DERIVED_WAREHOUSE') }}"
              threads: 1
        """,
    "seeds/people.csv": """
        person_id,person_name
        1,Ada
        2,Grace
        """,
    "models/people_view.sql": """
        {{ config(materialized='view') }}
        select * from {{ ref('people') }}
        """,
    "models/people_table.sql": """
        select person_id, person_name from {{ ref('people_view') }}
        """,
    "models/runs.sql": """
        {{ config(materialized='incremental') }}
        select {{ var('run_id', 0) }} as run_id
        {% if is_incremental() %}
        where {{ var('run_id', 0) }} not in (select run_id from {{ this }})
        {% endif %}
        """,
    "models/schema.yml": """
        models:
          - name: people_table
            columns:
              - name: person_id
                data_tests: [unique, not_null]
        """,
    "tests/assert_audit_passes.sql": """
        select * from {{ ref('people_table') }} where {{ var('fail_audit', false) }}
        """,
}


def _write_project(root: Path) -> None:
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Makefile exports DBT_PROJECT_DIR etc.: the tests name everything explicitly."""
    for name in list(os.environ):
        if name.startswith("DBT_") or name == publish.WAREHOUSE_ENV:
            monkeypatch.delenv(name)
    monkeypatch.setenv("DO_NOT_TRACK", "1")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_environment(monkeypatch)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A tiny project that was never built."""
    root = tmp_path / "tiny"
    _write_project(root)
    return root


@dataclass(frozen=True)
class Template:
    root: Path
    first_build: Result
    previous_after_first_build: bool
    first_hash: str


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """Built twice (run_id 1 with --docs, then run_id 2), once for the whole module."""
    root = tmp_path_factory.mktemp("template") / "tiny"
    _write_project(root)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _clean_environment(monkeypatch)
        first = _build(root, "--vars", "{run_id: 1}", "--docs")
        assert first.exit_code == 0, first.output
        previous_after_first = _previous(root).exists()
        first_hash = _sha256(_published(root))
        second = _build(root, "--vars", "{run_id: 2}")
        assert second.exit_code == 0, second.output
    return Template(root, first, previous_after_first, first_hash)


@pytest.fixture
def built(template: Template, tmp_path: Path) -> Path:
    """A private copy of the twice-built project (published + previous)."""
    root = tmp_path / "tiny"
    shutil.copytree(template.root, root)
    return root


def _published(project: Path) -> Path:
    return project / "warehouse" / "derived_tables.duckdb"


def _previous(project: Path) -> Path:
    return project / "warehouse" / "derived_tables.previous.duckdb"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _candidates(project: Path) -> list[Path]:
    return sorted((project / "warehouse").glob(".candidate*"))


def _run(command: click.Command, project: Path, *args: str) -> Result:
    return CliRunner().invoke(command, ["--project-dir", str(project), *args])


def _build(project: Path, *args: str) -> Result:
    return _run(build, project, "--profiles-dir", str(project), *args)


def _query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


def _runs(database: Path) -> list[int]:
    return [row[0] for row in _query(database, "select run_id from main.runs order by 1")]


def test_build_publishes_and_keeps_the_previous_version(template: Template, built: Path) -> None:
    assert "published" in template.first_build.output
    assert not template.previous_after_first_build  # nothing to keep on the first build
    published, previous = _published(built), _previous(built)
    assert _sha256(previous) == template.first_hash
    assert _runs(previous) == [1]
    assert _runs(published) == [1, 2]  # the candidate started as a copy: incremental state kept
    assert _query(published, "select count(*) from main.people_view") == [(2,)]  # views work
    assert _query(published, "select count(*) from main.people_table") == [(2,)]
    assert _candidates(built) == []
    assert not publish.wal(published).exists()
    catalog = json.loads((built / "target" / "catalog.json").read_text())  # from --docs
    assert {n["metadata"]["database"] for n in catalog["nodes"].values()} == {"derived_tables"}
    # --docs also wrote the column lineage and trust pages, from the build's test results
    lineage = json.loads((built / "target" / "lineage" / "lineage.json").read_text())
    assert lineage["problems"] == []
    assert lineage["columns"]["model.tiny.people_table"]["person_name"] == [
        "model.tiny.people_view.person_name"
    ]
    assert lineage["columns"]["model.tiny.people_view"]["person_id"] == [
        "seed.tiny.people.person_id"
    ]
    results = json.loads((built / "target" / publish.BUILD_RESULTS).read_text())
    assert any(r["unique_id"].startswith("test.tiny.unique_") for r in results["results"])
    assert (built / "target" / "lineage" / "index.html").is_file()


def test_lock_is_released_after_a_build(built: Path) -> None:
    with open(built / "warehouse" / publish.LOCK_NAME) as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # would raise if still held


def test_full_refresh_starts_from_an_empty_warehouse(built: Path) -> None:
    result = _build(built, "--vars", "{run_id: 3}", "--full-refresh")
    assert result.exit_code == 0, result.output
    assert _runs(_published(built)) == [3]
    assert _runs(_previous(built)) == [1, 2]


def test_failing_test_leaves_the_published_warehouse_byte_identical(built: Path) -> None:
    before = (_sha256(_published(built)), _sha256(_previous(built)))
    mtime = _published(built).stat().st_mtime_ns

    result = _build(built, "--vars", "{run_id: 3, fail_audit: true}")
    assert result.exit_code == publish.EXIT_AUDIT_FAILED
    assert "audit failed" in result.output and "nothing was published" in result.output
    assert "test assert_audit_passes [fail]" in result.output
    assert (_sha256(_published(built)), _sha256(_previous(built))) == before
    assert _published(built).stat().st_mtime_ns == mtime
    assert _runs(_published(built)) == [1, 2]
    assert _candidates(built) == []


def test_model_error_names_the_model_and_publishes_nothing(built: Path) -> None:
    before = _sha256(_published(built))
    (built / "models" / "broken.sql").write_text("select * from no_such_table\n")

    result = _build(built)
    assert result.exit_code == publish.EXIT_AUDIT_FAILED
    assert "model broken [error]" in result.output
    assert "no_such_table" in result.output  # dbt's message
    assert _sha256(_published(built)) == before
    assert _candidates(built) == []


def test_first_build_failing_publishes_nothing(project: Path) -> None:
    result = _build(project, "--vars", "{fail_audit: true}")
    assert result.exit_code == publish.EXIT_AUDIT_FAILED
    assert not _published(project).exists()
    assert _candidates(project) == []


def test_a_second_build_is_refused_at_once_while_the_lock_is_held(built: Path) -> None:
    lock = built / "warehouse" / publish.LOCK_NAME
    before = _sha256(_published(built))
    holder_code = textwrap.dedent(
        f"""
        import fcntl, os, sys, time
        handle = open({str(lock)!r}, "a+")
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.truncate(0); handle.write(f"{{os.getpid()}}\\n"); handle.flush()
        print("locked", flush=True)
        time.sleep(60)
        """
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", holder_code], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        result = _build(built)
        assert time.monotonic() - started < 5  # at once: no dbt was started
        assert result.exit_code == publish.EXIT_LOCKED
        error_lines = [line for line in result.output.splitlines() if line.startswith("Error")]
        assert len(error_lines) == 1
        assert str(lock) in error_lines[0] and f"PID {holder.pid}" in error_lines[0]
        assert _candidates(built) == [] and _sha256(_published(built)) == before
        assert _run(rollback, built).exit_code == publish.EXIT_LOCKED  # same lock
    finally:
        holder.kill()
        holder.wait()
    with open(lock) as handle:  # free again once its holder is gone
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_rollback_swaps_the_previous_version_back_and_forth(built: Path) -> None:
    newer, older = _sha256(_published(built)), _sha256(_previous(built))

    result = _run(rollback, built)
    assert result.exit_code == 0, result.output
    assert _sha256(_published(built)) == older and _sha256(_previous(built)) == newer
    assert _runs(_published(built)) == [1]

    assert _run(rollback, built).exit_code == 0  # undo the rollback
    assert _sha256(_published(built)) == newer and _sha256(_previous(built)) == older
    assert sorted(p.name for p in (built / "warehouse").iterdir()) == [
        ".build.lock",
        "derived_tables.duckdb",
        "derived_tables.previous.duckdb",
    ]


def test_rollback_without_a_previous_version_fails_clearly(built: Path) -> None:
    _previous(built).unlink()
    before = _sha256(_published(built))
    result = _run(rollback, built)
    assert result.exit_code != 0 and "nothing to roll back to" in result.output
    assert _sha256(_published(built)) == before


def _interrupting(
    monkeypatch: pytest.MonkeyPatch, project: Path, interrupt: Callable[[], None]
) -> list[Path]:
    """Replace dbt by a step that interrupts the build; return the candidates it saw."""
    seen: list[Path] = []

    def run_dbt(args: Sequence[str], candidate: Path, project_dir: Path) -> int:
        assert os.environ.get(publish.WAREHOUSE_ENV) is None  # only the child gets it
        seen.extend(_candidates(project))
        assert candidate.parent in seen
        interrupt()
        return 0

    monkeypatch.setattr(publish, "run_dbt", run_dbt)
    return seen


def _raise_keyboard_interrupt() -> None:
    raise KeyboardInterrupt


def test_ctrl_c_discards_the_candidate(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _sha256(_published(built)), _sha256(_previous(built))
    seen = _interrupting(monkeypatch, built, _raise_keyboard_interrupt)
    result = _build(built)
    assert result.exit_code != 0
    assert len(seen) == 1  # the candidate (a copy of the published file) existed meanwhile
    assert _candidates(built) == []
    assert (_sha256(_published(built)), _sha256(_previous(built))) == before


def test_sigterm_discards_the_candidate(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _sha256(_published(built))
    handler_before = signal.getsignal(signal.SIGTERM)
    seen = _interrupting(monkeypatch, built, lambda: os.kill(os.getpid(), signal.SIGTERM))
    result = _build(built)
    assert result.exit_code == 128 + signal.SIGTERM
    assert len(seen) == 1 and _candidates(built) == []
    assert _sha256(_published(built)) == before
    assert signal.getsignal(signal.SIGTERM) is handler_before  # restored


def test_exception_discards_the_candidate(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _sha256(_published(built))
    monkeypatch.setattr(publish, "run_dbt", lambda args, candidate, project_dir: 0)

    def boom(paths: publish.WarehousePaths, candidate: Path) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(publish, "publish", boom)
    result = _build(built)
    assert result.exit_code != 0 and isinstance(result.exception, OSError)
    assert _candidates(built) == [] and _sha256(_published(built)) == before


def test_stale_candidate_of_a_killed_build_is_removed(project: Path) -> None:
    stale = project / "warehouse" / ".candidate-999999"
    stale.mkdir(parents=True)
    (stale / "derived_tables.duckdb").write_bytes(b"half written")
    result = _build(project)
    assert result.exit_code == 0, result.output
    assert "stale candidate" in result.output and not stale.exists()
    assert _published(project).exists()


def test_derived_warehouse_env_overrides_the_published_path(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere" / "derived_tables.duckdb"
    monkeypatch.setenv(publish.WAREHOUSE_ENV, str(elsewhere))
    assert _build(project, "--select", "+people_table").exit_code == 0
    assert elsewhere.exists() and not _published(project).exists()
    assert (elsewhere.parent / publish.LOCK_NAME).exists()
    # --select builds the selection plus every seed: enough for a fresh candidate
    assert _query(elsewhere, "select count(*) from main.people_table") == [(2,)]
    with pytest.raises(duckdb.CatalogException):
        _query(elsewhere, "select * from main.runs")


def test_options_are_passed_to_dbt(project: Path) -> None:
    options = publish.DbtOptions(
        project_dir=project,
        profiles_dir=project,
        select=("people_table", "runs"),
        exclude=("tag:slow",),
        full_refresh=True,
        vars="{a: 1}",
        target="ci",
        threads=2,
    )
    steps = options.steps(docs=True)
    assert [name for name, _ in steps] == ["dbt build", "dbt docs generate"]
    build_args = steps[0][1]
    assert build_args[:8] == [
        "build",
        "--full-refresh",
        "--select",
        "people_table",
        "runs",
        "resource_type:seed",
        "--exclude",
        "tag:slow",
    ]
    for _, args in steps:
        position = args.index("--target")
        assert args[position : position + 2] == ["--target", "ci"]
        assert "{a: 1}" in args and "2" in args and str(project) in args
    assert "--select" not in publish.DbtOptions(project, project).steps(docs=False)[0][1]


def test_only_candidates_count_as_stale(tmp_path: Path) -> None:
    paths = publish.WarehousePaths(tmp_path / "derived_tables.duckdb")
    (tmp_path / "derived_tables.duckdb").write_bytes(b"x")
    (tmp_path / ".candidate-1").mkdir()
    (tmp_path / "keep.txt").write_text("x")
    assert publish.remove_stale_candidates(paths) == [tmp_path / ".candidate-1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["derived_tables.duckdb", "keep.txt"]


def test_candidate_path_is_fixed(tmp_path: Path) -> None:
    """The same candidate path every build (dbt's profile, so its partial parse, stays valid)."""
    paths = publish.WarehousePaths(tmp_path / "derived_tables.duckdb")
    assert paths.candidate == tmp_path / ".candidate" / "derived_tables.duckdb"
    assert str(os.getpid()) not in str(paths.candidate)
