"""Shared fixtures: ONE tiny end-to-end build of the whole project per pytest session.

`tiny_project` generates curated data at a tiny scale into a temporary folder, then runs
`dbt build` (target `ci`; it loads the seeds first) into a new temporary warehouse with a
temporary target and log path, so nothing collides with a developer's warehouse, `target/` or
other test runs: exactly what a first build on a fresh checkout does. `tiny_docs` then runs
`dbt docs generate` on it (the catalogue, and the compiled SQL of every node, analyses
included). The slow work happens once per session; every test that needs them takes these
fixtures (and is marked `@pytest.mark.slow`).

The fixture never changes what it built: a test that needs to modify data or a warehouse (the
incremental tests, say) copies them first (`TinyProject.copy_to`).

A failed `dbt build` does not error the fixture: the build's run results are kept
(`TinyProject.build`) and `test_dbt_build.py` reports every failed node; tests that only read
the warehouse still run on whatever was built. A failed generate errors every test that uses
the fixture, with the end of the command's output.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DBT = BIN / "dbt"
DERIVED = BIN / "derived"

#: Tiny but not empty: every analysis has rows, every fact has rows. 0.02 is ~50k curated rows;
#: the build time is dominated by the number of dbt nodes, not by the data.
TINY_SCALE = 0.02
TINY_SEED = 42
#: A fixed extraction date (not "yesterday"), so that every session builds the same warehouse.
TINY_AS_OF = "2025-06-30"
#: No single dbt command of the tiny build should come near this (seconds).
DBT_TIMEOUT = 1200

#: Every environment variable the project reads (dbt, profiles.yml, the generator, duckdb) is set
#: explicitly for each command; these inherited ones would change what runs, so they are dropped.
DROPPED_ENV = (
    "DBT_TARGET_PATH",
    "DBT_LOG_PATH",
    "DBT_PROJECT_DIR",
    "DBT_PROFILES_DIR",
    "DBT_TARGET",
    "DBT_THREADS",
    "DBT_STATE",
    "DBT_DEFER",
    "DERIVED_DATA_DIR",
    "DERIVED_WAREHOUSE",
    "DUCKDB_TEMP_DIRECTORY",
)


@dataclass(frozen=True)
class CommandResult:
    """A finished command: its arguments, exit code, combined output and duration."""

    args: tuple[str, ...]
    returncode: int
    output: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output.splitlines()[-lines:])

    def describe(self) -> str:
        return (
            f"`{' '.join(self.args)}` exited {self.returncode} after {self.seconds:.0f} s; "
            f"end of its output:\n{self.tail()}"
        )


@dataclass(frozen=True)
class DbtRun:
    """A dbt command and the artefacts it left (copied, so later commands cannot overwrite)."""

    result: CommandResult
    run_results: dict[str, Any] | None
    manifest: dict[str, Any] | None

    def statuses(self) -> dict[str, str]:
        """unique_id -> status of every node the command ran."""
        if self.run_results is None:
            return {}
        return {row["unique_id"]: row["status"] for row in self.run_results["results"]}


@dataclass(frozen=True)
class TinyProject:
    """Paths and environment of one tiny project build (all under a pytest temporary folder).

    `warehouse` is always named warehouse.duckdb, so its DuckDB catalog is `warehouse` in every
    copy: a copied warehouse keeps working with the views and compiled SQL that name the catalog.
    """

    root: Path
    data_dir: Path
    truth_dir: Path
    warehouse: Path
    target_dir: Path
    log_dir: Path
    env: dict[str, str] = field(repr=False)
    build: DbtRun | None = field(default=None, repr=False)

    # --- environment and commands ----------------------------------------------------------

    @staticmethod
    def make_env(data_dir: Path, warehouse: Path, tmp_dir: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
        env.update(
            DO_NOT_TRACK="1",
            DBT_SEND_ANONYMOUS_USAGE_STATS="false",
            DBT_PROFILES_DIR=str(PROJECT_ROOT),
            DBT_TARGET="ci",
            DBT_THREADS="2",
            DUCKDB_THREADS="2",
            DERIVED_DATA_DIR=str(data_dir),
            DERIVED_WAREHOUSE=str(warehouse),
            DUCKDB_TEMP_DIRECTORY=str(tmp_dir),
            NO_COLOR="1",
        )
        return env

    def dbt(
        self,
        *args: str,
        target_dir: Path | None = None,
        log_dir: Path | None = None,
        keep_artifacts_in: Path | None = None,
    ) -> DbtRun:
        """Run `dbt <args>` from the project root with this build's environment.

        `target_dir`/`log_dir` default to this build's; pass others so as not to overwrite the
        build's artefacts. With `keep_artifacts_in`, run_results.json and manifest.json are
        copied there right after the command.
        """
        target = target_dir or self.target_dir
        logs = log_dir or self.log_dir
        command = [
            str(DBT),
            *args,
            "--project-dir",
            str(PROJECT_ROOT),
            "--target-path",
            str(target),
            "--log-path",
            str(logs),
        ]
        # Artefacts left by an earlier command must not pass for this one's.
        for name in ("run_results.json", "manifest.json"):
            (target / name).unlink(missing_ok=True)
        result = run_command(command, self.env)
        run_results = _read_json(target / "run_results.json")
        manifest = _read_json(target / "manifest.json")
        if keep_artifacts_in is not None:
            keep_artifacts_in.mkdir(parents=True, exist_ok=True)
            for name, content in (("run_results.json", run_results), ("manifest.json", manifest)):
                if content is not None:
                    (keep_artifacts_in / name).write_text(json.dumps(content), encoding="utf-8")
        return DbtRun(result=result, run_results=run_results, manifest=manifest)

    def derived(self, *args: str) -> CommandResult:
        return run_command([str(DERIVED), *args, "--project-dir", str(PROJECT_ROOT)], self.env)

    def connect(self, warehouse: Path | None = None) -> duckdb.DuckDBPyConnection:
        """A read-only connection to the warehouse (never blocks or changes it)."""
        return duckdb.connect(str(warehouse or self.warehouse), read_only=True)

    def copy_to(self, root: Path, *, data: bool = True, warehouse: bool = True) -> TinyProject:
        """A copy of this build (curated data, truth, warehouse) under `root`, to modify freely."""
        root.mkdir(parents=True, exist_ok=True)
        data_dir, truth_dir = root / "data", root / "truth"
        wh = root / "warehouse" / "warehouse.duckdb"
        if data:
            shutil.copytree(self.data_dir, data_dir)
            shutil.copytree(self.truth_dir, truth_dir)
        if warehouse:
            wh.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.warehouse, wh)
        tmp = root / "duckdb_tmp"
        tmp.mkdir(exist_ok=True)
        return replace(
            self,
            root=root,
            data_dir=data_dir if data else self.data_dir,
            truth_dir=truth_dir if data else self.truth_dir,
            warehouse=wh,
            target_dir=root / "target",
            log_dir=root / "logs",
            env=self.make_env(data_dir if data else self.data_dir, wh, tmp),
            build=None,
        )

    def with_warehouse(self, warehouse: Path, name: str) -> TinyProject:
        """The same data with another warehouse file (and target/log paths named `name`)."""
        tmp = self.root / f"{name}_duckdb_tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return replace(
            self,
            warehouse=warehouse,
            target_dir=self.root / f"{name}_target",
            log_dir=self.root / f"{name}_logs",
            env=self.make_env(self.data_dir, warehouse, tmp),
            build=None,
        )

    # --- what was built ------------------------------------------------------------------------

    def relation(self, unique_id: str) -> str:
        """The warehouse relation (schema.name) of a node of the build's manifest."""
        assert self.build is not None and self.build.manifest is not None
        node = self.build.manifest["nodes"][unique_id]
        return f'"{node["schema"]}"."{node["alias"]}"'


def run_command(
    args: Sequence[str], env: Mapping[str, str], timeout: float = DBT_TIMEOUT
) -> CommandResult:
    started = time.monotonic()
    try:
        completed = subprocess.run(
            list(args),
            cwd=PROJECT_ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
        returncode, output = completed.returncode, completed.stdout
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout or ""
        if isinstance(partial, bytes):
            partial = partial.decode("utf-8", "replace")
        returncode, output = -1, f"{partial}\n[timed out after {timeout:.0f} s]"
    return CommandResult(tuple(args), returncode, output, time.monotonic() - started)


def copy_project_parts(dest: Path, keep: Sequence[str]) -> Path:
    """Copy the named files and folders of the project (configuration, macros, seeds, ...)
    into ``dest``, for tests that run a tool on a project of their own; returns ``dest``."""
    for name in keep:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def generic_tests_vars(as_of: str = TINY_AS_OF) -> str:
    """`--vars` pinning the "now" of time-based generic tests to the data's as-of date."""
    return json.dumps({"generic_tests_reference_now": as_of})


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory: pytest.TempPathFactory) -> TinyProject:
    """Generated tiny data, seeded and built once per session (see the module docstring)."""
    root = tmp_path_factory.mktemp("tiny_project")
    data_dir, truth_dir = root / "data", root / "truth"
    warehouse = root / "warehouse" / "warehouse.duckdb"
    warehouse.parent.mkdir(parents=True)
    tmp = root / "duckdb_tmp"
    tmp.mkdir()
    project = TinyProject(
        root=root,
        data_dir=data_dir,
        truth_dir=truth_dir,
        warehouse=warehouse,
        target_dir=root / "target",
        log_dir=root / "logs",
        env=TinyProject.make_env(data_dir, warehouse, tmp),
    )

    generated = project.derived(
        "generate",
        "--scale",
        str(TINY_SCALE),
        "--seed",
        str(TINY_SEED),
        "--as-of",
        TINY_AS_OF,
        "--out",
        str(data_dir),
        "--truth-out",
        str(truth_dir),
    )
    if not generated.ok:
        pytest.fail(f"derived generate failed: {generated.describe()}", pytrace=False)

    # `dbt build` seeds first (a separate `dbt seed` would only parse the project again).
    built = project.dbt(
        "build", "--vars", generic_tests_vars(), keep_artifacts_in=root / "build_artifacts"
    )
    print(
        f"\ntiny_project: generate {generated.seconds:.0f} s, build {built.result.seconds:.0f} s"
        f" (exit {built.result.returncode}) in {root}"
    )
    return replace(project, build=built)


@dataclass(frozen=True)
class TinyDocs:
    """`dbt docs generate` on the tiny build: its run, manifest (with compiled SQL) and catalog."""

    run: DbtRun
    target_dir: Path

    @property
    def manifest(self) -> dict[str, Any]:
        assert self.run.manifest is not None, self.run.result.describe()
        return self.run.manifest

    @property
    def catalog(self) -> dict[str, Any] | None:
        return _read_json(self.target_dir / "catalog.json")


@pytest.fixture(scope="session")
def tiny_docs(tiny_project: TinyProject) -> TinyDocs:
    """The catalogue of the tiny build, generated once per session (never errors: see `run`)."""
    target = tiny_project.root / "docs_target"
    run = tiny_project.dbt(
        "docs", "generate", target_dir=target, log_dir=tiny_project.root / "docs_logs"
    )
    print(
        f"\ntiny_docs: dbt docs generate {run.result.seconds:.0f} s (exit {run.result.returncode})"
    )
    return TinyDocs(run=run, target_dir=target)


@dataclass(frozen=True)
class TinyCatalogue:
    """`derived catalogue` on the tiny build: lineage and trust pages in `<docs target>/lineage`."""

    folder: Path
    lineage: Any  # derived_tables.lineage.ColumnLineage
    build_results: Path


@pytest.fixture(scope="session")
def tiny_catalogue(tiny_project: TinyProject, tiny_docs: TinyDocs) -> TinyCatalogue:
    """The lineage and trust pages of the tiny build, as `derived build --docs` writes them
    (from docs generate's manifest and catalog, the build's run results and its warehouse)."""
    from derived_tables.catalogue import generate

    assert tiny_docs.run.result.ok, tiny_docs.run.result.describe()
    results = tiny_project.root / "build_artifacts" / "run_results.json"
    started = time.monotonic()
    folder, lineage = generate(
        tiny_docs.target_dir, build_results=results, warehouse=tiny_project.warehouse
    )
    print(f"\ntiny_catalogue: derived catalogue {time.monotonic() - started:.0f} s")
    return TinyCatalogue(folder=folder, lineage=lineage, build_results=results)
