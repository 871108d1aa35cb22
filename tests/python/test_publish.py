"""Write-audit-publish (`derived build` / `derived rollback`) on a tiny throw-away dbt project.

The tiny project has one seed, a view, a table, an incremental model and a singular test that
fails when the var `fail_audit` is true, so every path of publish.py runs against real dbt and
DuckDB in seconds, without the main project or its data.
"""

from __future__ import annotations

import errno
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
from datetime import date
from pathlib import Path
from typing import Any

import click
import duckdb
import pytest
from click.testing import CliRunner, Result

from derived_tables import public_export, publish, snapshot
from derived_tables.publish import build, rollback

FILES = {
    "dbt_project.yml": """
        name: tiny
        version: "1.0.0"
        config-version: 2
        profile: tiny
        flags:
          send_anonymous_usage_stats: false
        vars:
          # A naive glob on purpose: the main project's sources skip `.`/`_` names themselves
          # (test_reliability.py); here the pinned snapshot alone must keep them out.
          files: "{name}/*/*.parquet"
        models:
          tiny:
            +materialized: table
            +meta: {published: true}
        seeds:
          tiny:
            +meta: {published: true}
        """,
    "profiles.yml": """
        tiny:
          target: dev
          outputs:
            dev:
              type: duckdb
              path: "{{ env_var('DERIVED_WAREHOUSE') }}"
              threads: 1
              plugins:
                - module: derived_tables.publish_hold
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
    "models/private_people.sql": """
        {{ config(meta={'published': false}) }}
        select person_id, 'SECRET-' || person_name as raw_name from {{ ref('people') }}
        """,
    "models/events_table.sql": """
        select event_id, cast(extraction_date as date) as extraction_date
        from {{ source('sys', 'events') }}
        """,
    "models/schema.yml": """
        sources:
          - name: sys
            config:
              meta:
                external_location: >-
                  read_parquet('{{ env_var("DERIVED_DATA_DIR") }}/{schema}/{{ var("files") }}',
                  hive_partitioning = true)
            tables:
              - name: events
                columns:
                  - name: event_id
                    data_type: integer
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
    _write_partition(root, "2025-01-01", [1, 2])


def _partition(project: Path, date: str, hidden: str = "") -> Path:
    return project / "data" / "curated" / "sys" / "events" / f"{hidden}extraction_date={date}"


def _write_partition(project: Path, date: str, event_ids: list[int]) -> Path:
    """One curated partition of `sys.events`, written as the generator would."""
    folder = _partition(project, date)
    folder.mkdir(parents=True, exist_ok=True)
    values = ", ".join(f"({event_id})" for event_id in event_ids)
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * from (values {values}) as t(event_id)) "
            f"to '{folder / 'part-0.parquet'}' (format parquet)"
        )
    return folder


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


def _private(project: Path) -> Path:
    return project / "warehouse" / "private" / "derived_tables.duckdb"


def _private_previous(project: Path) -> Path:
    return project / "warehouse" / "private" / "derived_tables.previous.duckdb"


def _error_lines(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("Error")]


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


def _events(database: Path) -> list[tuple]:
    return _query(database, "select * from main.events_table order by all")


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
    """An in-place build keeps no private previous version: a rollback restores the
    published file, and the next build is a full refresh (the private state is newer)."""
    newer, older = _sha256(_published(built)), _sha256(_previous(built))
    marker = built / "warehouse" / "private" / publish.FULL_REFRESH_MARKER

    result = _run(rollback, built)
    assert result.exit_code == 0, result.output
    assert _sha256(_published(built)) == older and _sha256(_previous(built)) == newer
    assert _runs(_published(built)) == [1]
    assert "the next build is a full refresh" in result.output and marker.exists()

    assert _run(rollback, built).exit_code == 0  # undo the rollback
    assert _sha256(_published(built)) == newer and _sha256(_previous(built)) == older
    assert sorted(p.name for p in (built / "warehouse").iterdir()) == [
        ".build.lock",
        "derived_tables.duckdb",
        "derived_tables.previous.duckdb",
        "private",
    ]
    assert _runs(_private(built)) == [1, 2] and not _private_previous(built).exists()

    result = _build(built, "--vars", "{run_id: 3}")
    assert result.exit_code == 0, result.output
    assert "a full refresh, because `derived rollback` restored" in result.output
    assert _runs(_published(built)) == [3] and not marker.exists()  # built from scratch
    result = _build(built, "--vars", "{run_id: 4}")  # and incremental again after it
    assert "a full refresh" not in result.output and _runs(_published(built)) == [3, 4]


def _without_hold_plugin(project: Path) -> None:
    profile = project / "profiles.yml"
    text = profile.read_text(encoding="utf-8")
    plugin = "      plugins:\n        - module: derived_tables.publish_hold\n"
    assert plugin in text
    profile.write_text(text.replace(plugin, ""), encoding="utf-8")


def test_without_the_hold_plugin_the_private_file_is_copied_and_rolled_back(
    built: Path,
) -> None:
    """A profile that does not hold DuckDB's checkpoints: the candidate is a copy of the
    private build file, which is kept as the private previous version for a rollback."""
    _without_hold_plugin(built)
    result = _build(built, "--vars", "{run_id: 3}")
    assert result.exit_code == 0, result.output
    assert "a copy of the private build file" in result.output
    assert _runs(_private(built)) == [1, 2, 3] and _runs(_private_previous(built)) == [1, 2]

    assert _run(rollback, built).exit_code == 0
    assert _runs(_published(built)) == [1, 2] and _runs(_private(built)) == [1, 2]
    assert not (built / "warehouse" / "private" / publish.FULL_REFRESH_MARKER).exists()
    assert _build(built, "--vars", "{run_id: 4}").exit_code == 0
    assert _runs(_published(built)) == [1, 2, 4]


def _private_state(project: Path) -> dict[str, list[tuple]]:
    """Every relation of the private build file with its sorted rows."""
    database = _private(project)
    relations = _query(
        database,
        "select schema_name, table_name from duckdb_tables() union all "
        "select schema_name, view_name from duckdb_views() where not internal",
    )
    return {
        f"{schema}.{name}": _query(database, f'select * from "{schema}"."{name}" order by all')
        for schema, name in relations
    }


@pytest.mark.parametrize("fault", ["failing test", "model error", "export error"])
def test_a_failed_incremental_build_leaves_the_private_build_file_as_it_was(
    built: Path, fault: str
) -> None:
    """Built in place (no copy), a failed build's changes stay in the candidate's WAL,
    which is discarded: every private relation is as before, and its headers too (nothing
    was checkpointed into it)."""
    before = _private_state(built)
    headers = publish.headers_digest(_private(built))
    args = ["--vars", "{run_id: 3, fail_audit: true}"]
    if fault == "model error":
        (built / "models" / "broken.sql").write_text(
            "select * from {{ ref('runs') }} where no_such_column\n"
        )
        args = ["--vars", "{run_id: 3}"]
    if fault == "export error":  # after a passed audit: a published view reads a private table
        (built / "models" / "broken.sql").write_text(
            "{{ config(materialized='view') }} select * from {{ ref('private_people') }}\n"
        )
        args = ["--vars", "{run_id: 3}"]
    result = _build(built, *args)
    assert result.exit_code == publish.EXIT_AUDIT_FAILED, result.output
    if fault == "export error":
        assert "cannot publish the view main.broken" in result.output
    assert "its checkpoints held until the audit passes" in result.output
    assert before["main.runs"] == [(1,), (2,)]
    assert _private_state(built) == before  # `runs` got run 3 in the WAL, now discarded
    assert publish.headers_digest(_private(built)) == headers
    assert _candidates(built) == [] and not publish.wal(_private(built)).exists()
    assert "a full refresh" not in result.output

    (built / "models" / "broken.sql").unlink(missing_ok=True)
    result = _build(built, "--vars", "{run_id: 3}")  # builds on from the state before
    assert result.exit_code == 0, result.output
    assert _runs(_published(built)) == [1, 2, 3] and _runs(_private(built)) == [1, 2, 3]


def _wait_for_lock_release(database: Path, seconds: float = 30) -> None:
    """Until no process holds DuckDB's (POSIX) lock on `database`."""
    deadline = time.monotonic() + seconds
    with open(database, "rb") as handle:
        while True:
            try:
                fcntl.lockf(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
                return
            except OSError:
                assert time.monotonic() < deadline, f"{database} still locked"
                time.sleep(0.2)


def test_a_build_killed_with_sigkill_is_followed_by_a_correct_build(built: Path) -> None:
    """kill -9 of the build and dbt in the middle of dbt's run (after `runs` took run 3):
    the private build file is as before, and the next build continues from it."""
    before = _private_state(built)
    started = built / "slow.started"
    (built / "models" / "slow.py").write_text(
        textwrap.dedent(
            f"""
            import pathlib
            import time


            def model(dbt, session):
                runs = dbt.ref("runs")
                pathlib.Path({str(started)!r}).touch()
                time.sleep(120)
                return runs
            """
        )
    )
    derived = Path(sys.executable).parent / "derived"
    process = subprocess.Popen(
        [
            derived,
            "build",
            "--project-dir",
            built,
            "--profiles-dir",
            built,
            "--vars",
            "{run_id: 3}",
        ],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "DO_NOT_TRACK": "1"},
    )
    try:
        deadline = time.monotonic() + 90
        while not started.exists():
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        candidate = built / "warehouse" / publish.CANDIDATE_NAME / "private"
        assert publish.wal(candidate / "derived_tables.duckdb").exists()  # run 3 is in it
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    _wait_for_lock_release(_private(built))  # dbt, killed too, may exit a moment later
    assert _private_state(built) == before

    (built / "models" / "slow.py").unlink()
    result = _build(built, "--vars", "{run_id: 3}")
    assert result.exit_code == 0, result.output
    assert "stale candidate" in result.output and "a full refresh" not in result.output
    assert _runs(_published(built)) == [1, 2, 3]
    assert _query(_published(built), "select count(*) from main.people_table") == [(2,)]


def test_a_checkpoint_the_plugin_did_not_hold_makes_the_next_build_a_full_refresh(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second line of defence: were the private file checkpointed during a failed
    in-place build (here: the plugin left out of the profile, yet the build told it is
    there), its state is no longer the one before, so the next build is a full refresh."""
    _without_hold_plugin(built)
    monkeypatch.setattr(publish, "holds_checkpoints", lambda *args: True)
    result = _build(built, "--vars", "{run_id: 3, fail_audit: true}")
    assert result.exit_code == publish.EXIT_AUDIT_FAILED
    assert "the next build will be a full refresh" in result.output
    result = _build(built, "--vars", "{run_id: 4}")
    assert result.exit_code == 0, result.output
    assert "a full refresh, because a failed in-place build" in result.output
    assert _runs(_published(built)) == [4]


def test_the_plugin_and_the_build_agree_on_the_switch() -> None:
    from derived_tables import publish_hold

    assert publish_hold.HOLD_ENV == publish.HOLD_ENV
    assert publish_hold.HOLD_THRESHOLD == publish.HOLD_THRESHOLD
    assert publish_hold.__name__ == publish.HOLD_PLUGIN


def test_the_main_profile_holds_checkpoints_for_duckdb_targets() -> None:
    root = Path(__file__).resolve().parents[2]
    assert publish.holds_checkpoints(root, root, "dev")
    assert publish.holds_checkpoints(root, root, "ci")
    assert not publish.holds_checkpoints(root, root, "spark")


_HOLD_SCRIPT = """
import os, sys
import duckdb
os.environ["DERIVED_HOLD_CHECKPOINTS"] = "1"
from derived_tables.publish_hold import Plugin
plugin = Plugin(name="hold", plugin_config={})
config = {}
plugin.update_connection_config(None, config)
con = duckdb.connect(sys.argv[1], config=config)
plugin.configure_connection(con)
con.execute("set enable_progress_bar = false")  # stdout carries the count only
if sys.argv[2] == "write":
    for _ in range(40):  # small appends: logged row by row, past the 16 MiB default
        con.execute("insert into t select range from range(50000)")
    con.execute("create table big as select range i, md5(range::varchar) s from range(2000000)")
    con.execute("update t set i = -i where i % 7 = 0")
    con.execute("delete from t where i % 5 = 0")
    con.execute("drop table t0")
print(con.execute("select count(*) from t").fetchone()[0])
con.close()
"""


def test_duckdb_keeps_a_held_build_in_the_wal_until_a_checkpoint(tmp_path: Path) -> None:
    """What the in-place build relies on, checked on the DuckDB installed: with the plugin
    on, big and small writes, updates, deletes and drops stay out of the file's headers (in
    the WAL, or in blocks the headers do not point to) when the WAL outgrows the default
    threshold, when the process ends, and when a second process replays the WAL; deleting
    the WAL gives the file as it was."""
    database = tmp_path / "held.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create table t as select range i from range(1000)")
        con.execute("create table t0 as select range i from range(1000)")
    headers = publish.headers_digest(database)

    def run(mode: str) -> int:
        done = subprocess.run(
            [sys.executable, "-c", _HOLD_SCRIPT, str(database), mode],
            capture_output=True,
            text=True,
            check=True,
        )
        return int(done.stdout)

    written = run("write")
    assert publish.wal(database).stat().st_size > 16 * 2**20
    assert publish.headers_digest(database) == headers
    assert run("read") == written  # replayed by another process: still only in the WAL
    assert publish.headers_digest(database) == headers
    publish.wal(database).unlink()
    assert _query(database, "select count(*) from t") == [(1000,)]
    assert _query(database, "select count(*) from t0") == [(1000,)]


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

    def run_dbt(args: Sequence[str], candidate: Path, project_dir: Path, *_: object) -> int:
        assert os.environ.get(publish.WAREHOUSE_ENV) is None  # only the child gets it
        seen.extend(_candidates(project))
        assert candidate.parents[1] in seen
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
    monkeypatch.setattr(publish, "run_dbt", lambda *args: 0)

    def boom(*args: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(publish, "publish", boom)
    result = _build(built)
    assert result.exit_code == publish.EXIT_CANNOT_WRITE, result.output
    assert _error_lines(result) == [
        f"Error: cannot write {built / 'warehouse'}: disk on fire; nothing was published and "
        f"{_published(built)} is unchanged. Fix the cause, then build again"
    ]
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
    assert [name for name, _ in steps] == ["dbt build", publish.FRESHNESS_STEP, "dbt docs generate"]
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


def test_unit_tests_run_only_when_asked(project: Path) -> None:
    def build_args(**options: bool) -> list[str]:
        return publish.DbtOptions(project, project, **options).steps(docs=False)[0][1]

    assert build_args()[1:3] == ["--exclude-resource-type", "unit_test"]
    assert "--exclude-resource-type" not in build_args(unit_tests=True)


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
    assert paths.candidate == tmp_path / ".candidate" / "private" / "derived_tables.duckdb"
    assert str(os.getpid()) not in str(paths.candidate)


# --- Issue 11: what the published file holds; inputs pinned at the start; failures ----------


def test_only_published_relations_reach_the_published_file(built: Path) -> None:
    """The fault: the published file held the private build state (identifiers in clear)."""
    relations = _query(
        _published(built),
        "select table_name from duckdb_tables() union all "
        "select view_name from duckdb_views() where not internal order by 1",
    )
    assert relations == [
        ("events_table",),
        ("people",),
        ("people_table",),
        ("people_view",),
        ("runs",),
    ]
    assert _query(_published(built), "select count(*) from main.people_view") == [(2,)]
    with pytest.raises(duckdb.CatalogException):
        _query(_published(built), "select * from main.private_people")
    # ... while the private build file keeps it, for the next (incremental) build
    assert _query(_private(built), "select count(*) from main.private_people") == [(2,)]
    assert not any(
        b"SECRET-" in path.read_bytes() for path in (_published(built), _previous(built))
    )


def test_published_relations_come_from_meta(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    node = {"resource_type": "model", "schema": "s", "name": "m", "alias": "m", "config": {}}
    manifest.write_text(
        json.dumps(
            {
                "nodes": {
                    "model.a.pub": {
                        **node,
                        "name": "pub",
                        "alias": "pub",
                        "config": {"meta": {"published": True}},
                    },
                    "model.a.priv": {
                        **node,
                        "name": "priv",
                        "alias": "priv",
                        "config": {"meta": {"published": False}},
                    },
                    "model.a.unsaid": node,
                    "seed.a.ref": {
                        **node,
                        "resource_type": "seed",
                        "name": "ref",
                        "alias": "ref",
                        "config": {"meta": {"published": True}},
                    },
                    "test.a.t": {
                        **node,
                        "resource_type": "test",
                        "config": {"meta": {"published": True}},
                    },
                }
            }
        )
    )
    assert [str(r) for r in publish.published_relations(manifest)] == ["s.pub", "s.ref"]
    nodes = json.loads(manifest.read_text())["nodes"]
    nodes["model.a.pub"]["config"]["meta"]["personal_data"] = "direct"
    manifest.write_text(json.dumps({"nodes": nodes}))
    with pytest.raises(publish.AuditFailed, match=r"model\.a\.pub .*personal_data: direct"):
        publish.published_relations(manifest)


def test_a_partition_landing_during_the_build_waits_for_the_next(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fault: a daily extract written while `derived build` ran was published untested."""
    real_run_dbt = publish.run_dbt
    landed: list[Path] = []

    def landing_meanwhile(args: Sequence[str], *rest: object) -> int:
        if not landed:  # the feed delivers a partition, and a file into a pinned one
            landed.append(_write_partition(built, "2025-01-02", [3]))
            (_partition(built, "2025-01-01") / "part-1.parquet").write_bytes(
                (landed[0] / "part-0.parquet").read_bytes()
            )
        return real_run_dbt(args, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(publish, "run_dbt", landing_meanwhile)
    result = _build(built)
    assert result.exit_code == 0, result.output
    assert "pinned 1 partition(s) of 1 curated table(s), 1 file(s)" in result.output
    assert _events(_published(built)) == [(1, date(2025, 1, 1)), (2, date(2025, 1, 1))]

    monkeypatch.setattr(publish, "run_dbt", real_run_dbt)
    result = _build(built)  # the next build reads them
    assert result.exit_code == 0, result.output
    assert [row[0] for row in _events(_published(built))] == [1, 2, 3, 3]


def test_the_catalogue_describes_the_pinned_snapshot_not_the_live_folder(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catalogue step (`--docs`) counts each source's rows after dbt has finished: data
    landing by then must not be counted, since the warehouse was not built from it."""
    real_write_catalogue = publish.write_catalogue

    def landing_first(project_dir: Path, candidate: Path) -> None:
        _write_partition(built, "2025-01-02", [3, 4, 5])
        real_write_catalogue(project_dir, candidate)

    monkeypatch.setattr(publish, "write_catalogue", landing_first)
    result = _build(built, "--docs")
    assert result.exit_code == 0, result.output
    trust = json.loads((built / "target" / "lineage" / "trust.json").read_text())
    assert trust["source.tiny.sys.events"]["rows"] == 2  # the pinned partition, not 5
    assert _events(_published(built)) == [(1, date(2025, 1, 1)), (2, date(2025, 1, 1))]
    # the manifest the catalogue read names the pinned copy, never the live folder
    manifest = json.loads((built / "target" / "manifest.json").read_text())
    relation = manifest["sources"]["source.tiny.sys.events"]["relation_name"]
    assert str(built / "warehouse" / "private" / "curated") in relation, relation


def test_hidden_and_temporary_files_are_never_read(built: Path) -> None:
    """The fault: macOS `._part-0.parquet` and an in-progress hidden folder were globbed."""
    (_partition(built, "2025-01-01") / "._part-0.parquet").write_bytes(b"\x00Mac resource fork")
    (_partition(built, "2025-01-01") / "_SUCCESS").write_bytes(b"")
    in_progress = _partition(built, "2025-01-02", hidden=".")
    in_progress = in_progress.with_name(in_progress.name + ".inprogress")
    in_progress.mkdir()
    (in_progress / "part-0.parquet").write_bytes(b"half a parquet file")
    temporary = _partition(built, "2025-01-02").parent / "_temporary"
    temporary.mkdir()
    (temporary / "part-0.parquet").write_bytes(b"not yet")
    result = _build(built)
    assert result.exit_code == 0, result.output
    assert _events(_published(built)) == [(1, date(2025, 1, 1)), (2, date(2025, 1, 1))]


def test_a_future_partition_is_refused_before_anything_is_built(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fault: extraction_date=2030-01-01 (a wrong clock upstream) was accepted."""
    before = _sha256(_published(built)), _sha256(_private(built))
    future = _write_partition(built, "2030-01-01", [9])

    def no_dbt(*args: object) -> int:
        raise AssertionError("dbt must not run")

    monkeypatch.setattr(publish, "run_dbt", no_dbt)
    result = _build(built, "--as-of", "2025-06-30")
    assert result.exit_code == snapshot.EXIT_INPUT_REFUSED, result.output
    assert _error_lines(result) == [
        "Error: future-dated partition sys.events/extraction_date=2030-01-01: its date "
        "2030-01-01 is after the build's as-of date 2025-06-30; nothing was built. Remove or "
        "re-date it upstream (a wrong clock?), or pass the right --as-of"
    ]
    assert (_sha256(_published(built)), _sha256(_private(built))) == before
    assert _candidates(built) == []
    shutil.rmtree(future)
    monkeypatch.setenv(snapshot.AS_OF_ENV, "2025-06-30")  # the same as-of, from the environment
    monkeypatch.undo()
    _clean_environment(monkeypatch)
    assert _build(built, "--as-of", "2025-06-30").exit_code == 0


def test_a_misnamed_partition_folder_is_refused(built: Path) -> None:
    (_partition(built, "2025-01-01").parent / "extraction_date=2025-13-01").mkdir()
    result = _build(built)
    assert result.exit_code == snapshot.EXIT_INPUT_REFUSED
    assert "2025-13-01 is not a calendar date" in _error_lines(result)[0]


@pytest.mark.parametrize(
    ("code", "advice"),
    [(errno.EACCES, "Make {folder} writable by this user"), (errno.ENOSPC, "Free space")],
)
def test_write_errors_at_publish_end_in_one_line(
    built: Path, monkeypatch: pytest.MonkeyPatch, code: int, advice: str
) -> None:
    """The fault: an unwritable warehouse folder at publish ended in a traceback and left the
    candidate behind. Root may write anywhere, so the error is raised where the OS raises it:
    when the published file is linked to keep it as the previous version (the first write of
    the publish step into the warehouse folder)."""
    before = _sha256(_published(built))
    folder = built / "warehouse"
    real_link = os.link
    refused: list[str] = []

    def link(source: str | Path, target: str | Path, *args: object, **kwargs: object) -> None:
        if Path(source) == _published(built):
            refused.append(str(target))
            raise OSError(code, os.strerror(code), str(target))
        real_link(source, target, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "link", link)
    result = _build(built)
    assert refused, result.output  # the fault was met
    assert result.exit_code == publish.EXIT_CANNOT_WRITE, result.output
    lines = _error_lines(result)
    assert len(lines) == 1 and "Traceback" not in result.output
    assert lines[0].startswith(f"Error: cannot write {refused[0]}: {os.strerror(code)}")
    assert advice.format(folder=folder) in lines[0] and str(_published(built)) in lines[0]
    assert _sha256(_published(built)) == before
    assert _candidates(built) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_warehouse_folder_ends_in_one_line(built: Path) -> None:
    folder = built / "warehouse"
    before = _sha256(_published(built))
    folder.chmod(0o555)
    try:
        result = _build(built)
    finally:
        folder.chmod(0o755)
    assert result.exit_code == publish.EXIT_CANNOT_WRITE
    assert len(_error_lines(result)) == 1 and "writable" in _error_lines(result)[0]
    assert _sha256(_published(built)) == before and _candidates(built) == []


def test_upgrading_from_the_old_layout_keeps_a_rollback(built: Path) -> None:
    """Upgrading: the old published file held everything (private relations included). The
    fault: the first build of the new layout deleted it, so there was no way back. It must
    leave the analysts' folder, yet be kept: the whole file as the private previous version,
    its published relations as the previous published file, so `derived rollback` works."""
    shutil.copy2(_private(built), _published(built))  # the old layout: one file for all
    shutil.rmtree(built / "warehouse" / "private")
    old = _sha256(_published(built))
    result = _build(built)
    assert result.exit_code == 0, result.output
    assert "relations that are now private (main.private_people)" in result.output
    assert "`derived rollback` restores both" in result.output
    assert _runs(_published(built)) == [0]  # no private state yet: built from scratch
    assert _sha256(_private_previous(built)) == old  # kept whole, byte for byte, privately
    assert _runs(_previous(built)) == [1, 2]  # the old version's published relations
    analysts = sorted((built / "warehouse").glob("*.duckdb"))
    assert analysts == [_published(built), _previous(built)]
    assert not any(b"SECRET-" in path.read_bytes() for path in analysts)
    assert _candidates(built) == []

    assert _run(rollback, built).exit_code == 0
    assert _runs(_published(built)) == [1, 2] and _sha256(_private(built)) == old
    with pytest.raises(duckdb.CatalogException):
        _query(_published(built), "select * from main.private_people")
    assert _build(built).exit_code == 0  # and builds on from the old state
    assert _runs(_published(built)) == [0, 1, 2]


# --------------------------------------------------------------------------------------------
# The public file patched with what the build changed (issue 9; public_export.py)
# --------------------------------------------------------------------------------------------

PUBLISHED = [
    publish.Relation("main", name)
    for name in ("people", "people_view", "people_table", "runs", "events_table")
]


@pytest.fixture
def patch_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """A table replaced whole frees much of so small a file (44%): patch it all the same
    (the bound itself: test_public_export.py)."""
    monkeypatch.setattr(public_export, "FRESH_EXPORT_FREE_SHARE", 1.0)


def _assert_published_is_a_fresh_export(project: Path, tmp_path: Path) -> None:
    from test_public_export import assert_equals_a_fresh_export

    assert_equals_a_fresh_export(_published(project), _private(project), PUBLISHED, tmp_path)


@pytest.mark.usefixtures("patch_small_files")
def test_the_next_build_patches_a_copy_of_the_published_file(built: Path, tmp_path: Path) -> None:
    """The template's second build patched already; a third does too: the published file
    equals a fresh export of the private build file, the previous one is kept untouched."""
    before = _sha256(_published(built))
    result = _build(built, "--vars", "{run_id: 3}")
    assert result.exit_code == 0, result.output
    assert "5 published relation(s) patched on a copy of the published file" in result.output, (
        result.output
    )
    assert "] export and checkpoint in " in result.output
    assert _sha256(_previous(built)) == before
    assert _runs(_published(built)) == [1, 2, 3]
    _assert_published_is_a_fresh_export(built, tmp_path)


@pytest.mark.parametrize(
    "how, reason",
    [
        ("--full-refresh", "because of --full-refresh"),
        ("--fresh-export", "because of --fresh-export"),
        ("--select", "because a --select or --exclude build records only part of what changed"),
        ("rollback", "because this build is a full refresh (see above)"),
        ("private changed", "because the private build file changed since the last export"),
        ("published changed", "(its SHA-256 differs)"),
        ("record gone", "because there is no record of the last export"),
    ],
)
@pytest.mark.usefixtures("patch_small_files")
def test_an_unproven_build_writes_the_public_file_fresh(
    built: Path, tmp_path: Path, how: str, reason: str
) -> None:
    """Whatever cannot be proved (see public_export.py) gives a fresh public file, saying
    why; the build after it patches again."""
    args = ["--vars", "{run_id: 3}"]
    if how.startswith("--"):
        args += [how, "runs"] if how == "--select" else [how]
    elif how == "rollback":
        assert _run(rollback, built).exit_code == 0
    elif how == "private changed":
        with duckdb.connect(str(_private(built))) as con:
            con.execute("insert into main.people_table values (3, 'Edsger')")
    elif how == "published changed":
        with duckdb.connect(str(_published(built))) as con:
            con.execute("insert into main.people_table values (3, 'Edsger')")
    elif how == "record gone":
        public_export.state_path(_private(built)).unlink()
    result = _build(built, *args)
    assert result.exit_code == 0, result.output
    assert "written to a new file because" in result.output, result.output
    assert reason in result.output
    _assert_published_is_a_fresh_export(built, tmp_path)
    result = _build(built, "--vars", "{run_id: 4}")
    assert "patched on a copy of the published file" in result.output, result.output
    _assert_published_is_a_fresh_export(built, tmp_path)


@pytest.mark.usefixtures("patch_small_files")
@pytest.mark.parametrize("fault", [KeyboardInterrupt, duckdb.IOException])
def test_a_patch_failing_midway_publishes_nothing(
    built: Path, monkeypatch: pytest.MonkeyPatch, fault: type[BaseException]
) -> None:
    """Killed (Ctrl-C) or failing in the middle of the patch: the published file and its
    previous version are byte for byte as they were, the private build file's relations
    too, the candidate is gone, and the next build patches again."""
    before = (_sha256(_published(built)), _sha256(_previous(built)))
    private = _private_state(built)
    create_views = public_export._create_views

    def failing(*args: Any) -> None:
        create_views(*args)
        raise fault("stopped in the middle of the patch")

    monkeypatch.setattr(public_export, "_create_views", failing)
    result = _build(built, "--vars", "{run_id: 3}")
    assert result.exit_code != 0, result.output
    assert (_sha256(_published(built)), _sha256(_previous(built))) == before
    assert _private_state(built) == private
    assert _candidates(built) == []
    monkeypatch.setattr(public_export, "_create_views", create_views)
    result = _build(built, "--vars", "{run_id: 3}")
    assert result.exit_code == 0, result.output
    assert "patched on a copy" in result.output and _runs(_published(built)) == [1, 2, 3]
