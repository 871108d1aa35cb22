"""`derived build`: write-audit-publish the warehouse; `derived rollback`: undo the last publish.

Analysts never see a half-built or untested warehouse:

1. **Lock.** One build at a time: an exclusive, non-blocking ``flock`` on
   ``warehouse/.build.lock`` (the holder's PID is written in it). A second build exits at once
   (code 75) naming the lock and that PID.
2. **Write** a *candidate* on the same filesystem,
   ``warehouse/.candidate/derived_tables.duckdb``: a copy of the published file (so
   incremental models keep their state) or, with ``--full-refresh`` or on the first build, a
   new file. The candidate has the published file's *name*, in a folder of its own, because
   DuckDB and dbt-duckdb name the catalog after the file name: the views and the manifest then
   say ``derived_tables`` exactly as the published file does. The path is fixed (not per
   process): the lock makes it one build's at a time, and a fixed path keeps dbt's profile,
   and so its partial parsing (``target/partial_parse.msgpack``), the same from build to
   build. A candidate left by a killed build is removed under the lock first. ``dbt build``
   (seeds, models, snapshots and tests; with ``--select``, plus every seed) runs against it
   (``DERIVED_WAREHOUSE`` points the profile there).
3. **Audit.** ``dbt build`` runs every test; any error or failing test of severity error fails
   the audit: the candidate is deleted, the failing nodes are listed (from
   ``target/run_results.json``) and the published warehouse is left byte-for-byte as it was.
   Ctrl-C, SIGTERM or any exception also delete the candidate.
4. **Publish.** Only then: the published file is kept as
   ``warehouse/derived_tables.previous.duckdb`` (through a hard link, so the published path
   never disappears) and the candidate is renamed onto the published path with ``os.replace``:
   atomic, and readers holding the old file open keep reading it. ``derived rollback`` swaps
   the previous file back (run it again to undo the rollback).

The published warehouse is ``warehouse/derived_tables.duckdb`` under the project root, or
``DERIVED_WAREHOUSE`` (the path the dev target of profiles.yml uses). dbt's ``target/`` artefacts
are written as usual; they describe the candidate, which is the published file once published.

Reading the warehouse (analysts): always read-only, so a reader never blocks a publish and can
never change the audited data::

    duckdb -readonly warehouse/derived_tables.duckdb

    import duckdb
    con = duckdb.connect("warehouse/derived_tables.duckdb", read_only=True)

A reader keeps the version it opened until it reconnects. Do not run ``dbt build`` directly on the
published file: that bypasses the audit. To inspect the previous version, attach it read-only:
``attach 'warehouse/derived_tables.previous.duckdb' as previous (read_only)``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

import click
import yaml

DEFAULT_WAREHOUSE = Path("warehouse") / "derived_tables.duckdb"
WAREHOUSE_ENV = "DERIVED_WAREHOUSE"
LOCK_NAME = ".build.lock"
BUILD_RESULTS = "build_run_results.json"
CANDIDATE_NAME = ".candidate"
#: Also matches the ``.candidate-<pid>`` folders of earlier versions, so they are cleaned up.
CANDIDATE_GLOB = ".candidate*"
EXIT_AUDIT_FAILED = 1
EXIT_LOCKED = 75  # EX_TEMPFAIL: try again when the other build has finished
FAILED_STATUSES = ("error", "fail", "runtime error")
BUILD_STEP = "dbt build"
#: Stale sources do not fail the audit (they never did): their status goes to the catalogue.
FRESHNESS_STEP = "dbt source freshness"


class BuildLocked(click.ClickException):
    exit_code = EXIT_LOCKED


class AuditFailed(click.ClickException):
    exit_code = EXIT_AUDIT_FAILED


class Interrupted(Exception):
    """SIGTERM received: unwind like Ctrl-C so the candidate is cleaned up."""


# --------------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------------


def default_project_dir() -> Path:
    """DBT_PROJECT_DIR, else the nearest folder from the cwd up with a dbt_project.yml, else the
    repository this package was installed from (editable install)."""
    if os.environ.get("DBT_PROJECT_DIR"):
        return Path(os.environ["DBT_PROJECT_DIR"]).resolve()
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "dbt_project.yml").is_file():
            return folder
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class WarehousePaths:
    published: Path

    @property
    def folder(self) -> Path:
        return self.published.parent

    @property
    def previous(self) -> Path:
        return self.folder / f"{self.published.stem}.previous{self.published.suffix}"

    @property
    def lock(self) -> Path:
        return self.folder / LOCK_NAME

    @property
    def candidate_dir(self) -> Path:
        return self.folder / CANDIDATE_NAME

    @property
    def candidate(self) -> Path:
        return self.candidate_dir / self.published.name

    @classmethod
    def resolve(cls, project_dir: Path) -> WarehousePaths:
        raw = os.environ.get(WAREHOUSE_ENV) or str(DEFAULT_WAREHOUSE)
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = project_dir / path  # dbt runs with the project as cwd
        return cls(path.resolve())


def wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def target_path(project_dir: Path) -> Path:
    """Where dbt writes its artefacts: DBT_TARGET_PATH, else dbt_project.yml's target-path."""
    if os.environ.get("DBT_TARGET_PATH"):
        raw = os.environ["DBT_TARGET_PATH"]
    else:
        config = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
        raw = (config or {}).get("target-path", "target")
    path = Path(raw)
    return path if path.is_absolute() else project_dir / path


# --------------------------------------------------------------------------------------------
# Lock
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def build_lock(paths: WarehousePaths) -> Iterator[None]:
    """Hold the exclusive build lock, or fail at once naming its holder."""
    paths.folder.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = open(paths.lock, "a+", encoding="utf-8")  # noqa: SIM115 (held open)
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise BuildLocked(
                f"another build holds the lock {paths.lock} (PID {holder}); "
                "wait for it to finish and try again"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the flock


@contextlib.contextmanager
def sigterm_as_exception() -> Iterator[None]:
    """Turn SIGTERM into an exception (main thread only) so cleanup code runs."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(f"received signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. some test runners): nothing to install
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --------------------------------------------------------------------------------------------
# dbt
# --------------------------------------------------------------------------------------------


def dbt_executable() -> str:
    beside = Path(sys.executable).parent / "dbt"
    if beside.exists():
        return str(beside)
    found = shutil.which("dbt")
    if not found:
        raise click.ClickException("dbt not found (install the project: make install)")
    return found


@dataclass(frozen=True)
class DbtOptions:
    project_dir: Path
    profiles_dir: Path
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    full_refresh: bool = False
    vars: str | None = None
    target: str | None = None
    threads: int | None = None

    def common(self) -> list[str]:
        args = ["--project-dir", str(self.project_dir), "--profiles-dir", str(self.profiles_dir)]
        if self.target:
            args += ["--target", self.target]
        if self.vars:
            args += ["--vars", self.vars]
        if self.threads:
            args += ["--threads", str(self.threads)]
        return args

    def steps(self, docs: bool) -> list[tuple[str, list[str]]]:
        """The dbt commands to run on the candidate, in order.

        One `dbt build` seeds, runs, snapshots and tests in DAG order (a separate `dbt seed`
        would only start dbt once more). With --select, every seed is added to the selection
        (`resource_type:seed`), so a fresh candidate always has all the reference data.
        """
        args = ["build"]
        if self.full_refresh:
            args.append("--full-refresh")
        if self.select:
            args += ["--select", *self.select, "resource_type:seed"]
        if self.exclude:
            args += ["--exclude", *self.exclude]
        steps = [(BUILD_STEP, [*args, *self.common()])]
        if docs:
            # Freshness before docs generate: every dbt command rewrites manifest.json, and
            # the catalogue needs the one of docs generate (with the compiled SQL).
            # (It writes <target>/sources.json.)
            steps.append((FRESHNESS_STEP, ["source", "freshness", *self.common()]))
            steps.append(("dbt docs generate", ["docs", "generate", *self.common()]))
        return steps


def run_dbt(args: Sequence[str], candidate: Path, project_dir: Path) -> int:
    """Run one dbt command against the candidate; dbt's output goes to the console."""
    env = dict(os.environ)
    env.update({WAREHOUSE_ENV: str(candidate), "DO_NOT_TRACK": "1"})
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    # No stdin: dbt never prompts; Ctrl-C reaches dbt too (same process group).
    completed = subprocess.run(
        [dbt_executable(), *args],
        cwd=project_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return completed.returncode


@dataclass(frozen=True)
class NodeResult:
    unique_id: str
    status: str
    message: str

    @property
    def name(self) -> str:
        """`<resource type> <name>` from `<type>.<package>.<name>[.<hash>]`."""
        parts = self.unique_id.split(".")
        return f"{parts[0]} {parts[2]}" if len(parts) >= 3 else self.unique_id


def read_run_results(path: Path, not_before: float) -> list[NodeResult] | None:
    """The results of the dbt command that just ran, or None when it wrote none."""
    try:
        if path.stat().st_mtime < not_before:
            return None  # left over from an earlier run
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return [
        NodeResult(
            unique_id=str(result.get("unique_id", "?")),
            status=str(result.get("status", "?")),
            message=" ".join(str(result.get("message") or "").split()),
        )
        for result in data.get("results", [])
    ]


def describe_failure(step: str, code: int, results: list[NodeResult] | None) -> str:
    lines = [f"audit failed: {step} exited with code {code}; nothing was published."]
    if results is None:
        lines.append("dbt wrote no run results (a parse or compile error?): see its output above.")
        return "\n".join(lines)
    failed = [r for r in results if r.status in FAILED_STATUSES]
    skipped = [r for r in results if r.status == "skipped"]
    if failed:
        lines.append(f"{len(failed)} node(s) failed:")
        lines += [f"  - {r.name} [{r.status}] {r.message}" for r in failed]
    if skipped:
        lines.append(f"{len(skipped)} node(s) skipped because an upstream node failed.")
    if not failed and not skipped:
        lines.append("no node failed in run_results.json: see dbt's output above.")
    return "\n".join(lines)


def write_catalogue(project_dir: Path, candidate: Path) -> None:
    """Column lineage and trust pages beside dbt docs (`derived catalogue`), from the candidate:
    its row counts, the build's test results and the sources' freshness."""
    from derived_tables.catalogue import generate

    # From the project folder, as dbt runs: sources are read by paths relative to it.
    with contextlib.chdir(project_dir):
        out, lineage = generate(target_path(project_dir), warehouse=candidate)
    _say(f"catalogue: {len(lineage.upstream)} columns traced, lineage and trust pages in {out}")
    for problem in lineage.problems:
        _say(f"catalogue: not traced: {problem}", err=True)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def remove_stale_candidates(paths: WarehousePaths) -> list[Path]:
    """Candidates left by a killed build (safe: the caller holds the lock)."""
    removed = []
    for stale in sorted(paths.folder.glob(CANDIDATE_GLOB)):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
        removed.append(stale)
    return removed


def prepare_candidate(paths: WarehousePaths, candidate: Path, fresh: bool) -> None:
    candidate.parent.mkdir(parents=True)
    if fresh or not paths.published.exists():
        return
    needed = paths.published.stat().st_size
    free = shutil.disk_usage(paths.folder).free
    if needed * 1.1 > free:
        raise click.ClickException(
            f"not enough disk space to copy the warehouse ({needed / 2**30:.1f} GiB needed, "
            f"{free / 2**30:.1f} GiB free in {paths.folder}); try --full-refresh or free space"
        )
    shutil.copy2(paths.published, candidate)
    if wal(paths.published).exists():  # not yet checkpointed: belongs with the file
        shutil.copy2(wal(paths.published), wal(candidate))


def checkpoint(database: Path) -> None:
    """Fold any write-ahead log into the file, so the file alone is the whole warehouse."""
    import duckdb

    with duckdb.connect(str(database)) as con:
        con.execute("checkpoint")
    if wal(database).exists() and wal(database).stat().st_size > 0:
        raise click.ClickException(f"could not checkpoint {database}: its WAL remains")
    wal(database).unlink(missing_ok=True)


def publish(paths: WarehousePaths, candidate: Path) -> None:
    """Keep the published file as previous, then atomically rename the candidate onto it."""
    checkpoint(candidate)
    fsync_file(candidate)
    published, previous = paths.published, paths.previous
    if published.exists():
        link = previous.with_name(previous.name + ".tmp")
        link.unlink(missing_ok=True)
        os.link(published, link)  # the published path never disappears
        os.replace(link, previous)
        if wal(published).exists():
            os.replace(wal(published), wal(previous))
        else:
            wal(previous).unlink(missing_ok=True)
    os.replace(candidate, published)
    fsync_dir(paths.folder)


def swap_with_previous(paths: WarehousePaths) -> None:
    published, previous = paths.published, paths.previous
    if not previous.exists():
        raise click.ClickException(f"nothing to roll back to: {previous} does not exist")
    if not published.exists():
        os.replace(previous, published)
    else:
        link = published.with_name(published.name + ".rollback.tmp")
        link.unlink(missing_ok=True)
        os.link(published, link)
        os.replace(previous, published)
        os.replace(link, previous)
    for path in (published, previous):
        if wal(path).exists():
            raise click.ClickException(f"{wal(path)} exists: checkpoint before rolling back")
    fsync_dir(paths.folder)


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def _say(message: str, err: bool = False) -> None:
    click.echo(f"[derived build] {message}", err=err)


PROJECT_OPTIONS = [
    click.option(
        "--project-dir",
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        default=None,
        help="dbt project folder (default: DBT_PROJECT_DIR, else the project root).",
    ),
    click.option(
        "--profiles-dir",
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        default=None,
        help="Folder of profiles.yml (default: the project folder).",
    ),
]


def _with_project_options(function: Any) -> Any:
    for option in reversed(PROJECT_OPTIONS):
        function = option(function)
    return function


@click.command("build")
@click.option("--select", "-s", "select", multiple=True, help="Passed to dbt build.")
@click.option("--exclude", multiple=True, help="Passed to dbt build.")
@click.option(
    "--full-refresh",
    is_flag=True,
    help="Start from an empty warehouse and rebuild incremental models and seeds.",
)
@click.option("--vars", default=None, help="dbt --vars (YAML string).")
@click.option("--target", "-t", default=None, help="dbt target (default: the profile's).")
@click.option("--threads", type=int, default=None, help="dbt threads (default: the profile's).")
@click.option(
    "--docs/--no-docs",
    default=False,
    help="Also run `dbt docs generate` on the candidate before publishing it.",
)
@_with_project_options
def build(
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    full_refresh: bool,
    vars: str | None,
    target: str | None,
    threads: int | None,
    docs: bool,
    project_dir: Path | None,
    profiles_dir: Path | None,
) -> None:
    """Build, test and publish the warehouse (write-audit-publish).

    Runs `dbt build` (seeds included) on a candidate copy of the warehouse; only when every model
    built and every test passed is the candidate renamed onto the published file (the old one
    is kept for `derived rollback`). A failed build leaves the published warehouse untouched.
    """
    project = (project_dir or default_project_dir()).resolve()
    profiles = (profiles_dir or project).resolve()
    options = DbtOptions(project, profiles, select, exclude, full_refresh, vars, target, threads)
    from derived_tables import publish_spark

    if publish_spark.target_type(profiles, project, target) == "spark":
        publish_spark.build_spark(options, docs)  # the Spark design: see publish_spark.py
        return
    paths = WarehousePaths.resolve(project)
    started = time.monotonic()
    with build_lock(paths), sigterm_as_exception():
        for stale in remove_stale_candidates(paths):
            _say(f"removed a stale candidate left by an interrupted build: {stale}")
        candidate = paths.candidate
        fresh = full_refresh or not paths.published.exists()
        try:
            prepare_candidate(paths, candidate, fresh)
            origin = "a new file" if fresh else f"a copy of {paths.published}"
            _say(f"candidate {candidate} ({origin})")
            results_file = target_path(project) / "run_results.json"
            for step, args in options.steps(docs):
                _say(f"{step} ...")
                step_started = time.time()
                code = run_dbt(args, candidate, project)
                if step == FRESHNESS_STEP:
                    if code != 0:
                        _say("some sources are stale or unchecked: see the catalogue's trust pages")
                    continue
                if code != 0:
                    results = read_run_results(results_file, step_started)
                    raise AuditFailed(describe_failure(step, code, results))
                results = read_run_results(results_file, step_started) or []
                failed = [r for r in results if r.status in FAILED_STATUSES]
                if failed:  # dbt said success but a node failed: do not trust it
                    raise AuditFailed(describe_failure(step, code, results))
                if step == BUILD_STEP and docs:  # the test results the catalogue shows
                    shutil.copy2(results_file, target_path(project) / BUILD_RESULTS)
            if docs:
                write_catalogue(project, candidate)
            publish(paths, candidate)
        except Interrupted as error:
            _say(f"{error}: discarding the candidate", err=True)
            raise click.exceptions.Exit(128 + signal.SIGTERM) from None
        except BaseException:
            _say("build failed or interrupted: discarding the candidate", err=True)
            raise
        finally:
            shutil.rmtree(candidate.parent, ignore_errors=True)
    kept = f"; previous kept as {paths.previous}" if paths.previous.exists() else ""
    _say(f"published {paths.published} in {time.monotonic() - started:.0f}s{kept}")


@click.command("rollback")
@click.option(
    "--target",
    "-t",
    default=None,
    help="dbt target whose warehouse to roll back (default: DBT_TARGET, else dev).",
)
@PROJECT_OPTIONS[0]
def rollback(target: str | None, project_dir: Path | None) -> None:
    """Swap the published warehouse with the previous one (run again to undo).

    Takes the build lock, so it never races a build.
    """
    project = (project_dir or default_project_dir()).resolve()
    from derived_tables import publish_spark

    if publish_spark.target_type(project, project, target) == "spark":
        publish_spark.rollback_spark(project)
        return
    paths = WarehousePaths.resolve(project)
    with build_lock(paths):
        swap_with_previous(paths)
    click.echo(
        f"[derived rollback] {paths.published} is now the previous version; "
        f"the replaced one is kept as {paths.previous}"
    )
