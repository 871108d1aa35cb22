"""`derived build`: write-audit-publish the warehouse; `derived rollback`: undo the last publish.

Analysts never see a half-built or untested warehouse:

1. **Lock.** One build at a time: an exclusive, non-blocking ``flock`` on
   ``warehouse/.build.lock`` (the holder's PID is written in it). A second build exits at once
   (code 75) naming the lock and that PID.
2. **Pin** the curated input (snapshot.py): the partitions complete now are listed, checked
   (a partition dated after the build's as-of date is refused, exit 65) and hard-linked into
   ``warehouse/private/curated/``, which dbt reads (``DERIVED_DATA_DIR``); data landing
   meanwhile waits for the next build. Names starting with ``.`` or ``_`` are never read.
3. **Write** a *candidate* on the same filesystem,
   ``warehouse/.candidate/private/derived_tables.duckdb``, which ``dbt build`` (seeds, models,
   snapshots and tests; with ``--select``, plus every seed) runs against
   (``DERIVED_WAREHOUSE`` points the profile there):

   - an **incremental build** (the daily one) writes the *private build file*
     ``warehouse/private/derived_tables.duckdb`` **in place, without copying it**: the
     candidate is a hard link to it, and the dbt target's plugin ``derived_tables.publish_hold``
     (listed in profiles.yml; see publish_hold.py) holds DuckDB's checkpoints for the whole
     build, so every change dbt makes stays in the candidate's write-ahead log
     (``.candidate/private/derived_tables.duckdb.wal``) or in blocks the file's headers do not
     point to. Discarding the build is deleting the candidate folder; publishing it is one
     checkpoint. The digest of the file's headers is recorded in the candidate folder when
     the build starts: were they changed by a build that then failed or was killed (a
     checkpoint nothing should have made), the next build is a full refresh;
   - a target without that plugin gets a *copy* of the private build file instead (the
     behaviour before; it costs the whole file's size in time and disk);
   - with ``--full-refresh``, on the first build, or after ``derived rollback`` (below), the
     candidate is a new file.

   The candidate has the published file's *name*, in a folder of its own, because DuckDB and
   dbt-duckdb name the catalog after the file name: the views and the manifest then say
   ``derived_tables`` exactly as the published file does. The path is fixed (not per
   process): the lock makes it one build's at a time, and a fixed path keeps dbt's profile,
   and so its partial parsing (``target/partial_parse.msgpack``), the same from build to
   build. A candidate left by a killed build is removed under the lock first.
4. **Audit.** ``dbt build`` runs every test; any error or failing test of severity error fails
   the audit: the candidate is deleted (with its WAL: an in-place build's changes with it),
   the failing nodes are listed (from ``target/run_results.json``) and the published
   warehouse is left byte-for-byte as it was, the private build file's relations as they
   were. Ctrl-C, SIGTERM or any exception also delete the candidate; a write error
   (permission, disk full) ends in one line saying what failed, where and what to do
   (exit 73). A build killed outright (``kill -9``) leaves its candidate, removed by the next
   build, which so continues from the private state before the killed one.
5. **Export.** The public candidate, ``warehouse/.candidate/public/derived_tables.duckdb``,
   receives only the relations whose dbt node says ``meta: {published: true}`` (marts and
   reference data; staging and intermediate, which hold direct identifiers, never), with
   their DDL and comments, read from the candidate with its WAL (nothing is checkpointed
   before the export has succeeded). It is a new file (nothing else in it, not even in
   freed blocks), or, on a daily build whose private build file proves the published file
   is its last export, a copy of the published file patched with what the build recorded
   changing: public_export.py says how, what is proved, and every case that writes it new.
6. **Publish.** Only then: the candidate is checkpointed (in place, that writes the build into
   the private build file itself; DuckDB writes a checkpoint's blocks where the file's
   current headers do not point, then its header, so the file is its old or its new state
   whenever the build is killed) or, a new file or a copy, replaces it; then the public
   candidate replaces the published file (the commit point), keeping the replaced file as
   ``*.previous.duckdb`` (through a hard link, so the path never disappears), renamed with
   ``os.replace``: atomic, and readers holding the old file open keep reading it. A build
   killed between the two leaves the private state one build ahead of the published file,
   which the next build continues from soundly (an incremental build from any earlier state
   equals a full refresh). Each phase's seconds are printed (``[derived build] <phase> in N
   s``; ``derived bench`` records them).

   ``derived rollback`` swaps the previous published file back (run it again to undo the
   rollback). An in-place build keeps no previous private build file (at scale 100 it would
   take as much disk again as the private state), so after a rollback the private state is
   newer than the published warehouse, and possibly built by the code being rolled away
   from: the rollback leaves ``warehouse/private/.full-refresh-next`` and the next build is a
   full refresh. A copy build keeps the replaced private file as
   ``private/derived_tables.previous.duckdb`` and the rollback swaps it back too.
   Upgrading from the one-file layout (the published file held staging and intermediate
   too), the old file is not deleted: it moves to the private folder as the private previous
   version and the previous published file is exported from it, so a rollback still works.

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
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

import click
import duckdb
import yaml

from derived_tables import memory, snapshot
from derived_tables.generator.output import default_data_dir

DEFAULT_WAREHOUSE = Path("warehouse") / "derived_tables.duckdb"
WAREHOUSE_ENV = "DERIVED_WAREHOUSE"
LOCK_NAME = ".build.lock"
BUILD_RESULTS = "build_run_results.json"
CANDIDATE_NAME = ".candidate"
PRIVATE_DIR = "private"
PUBLIC_DIR = "public"
#: `meta` key of a dbt node (model, seed, snapshot) that may be copied to the published file.
PUBLISHED_META = "published"
#: Also matches the ``.candidate-<pid>`` folders of earlier versions, so they are cleaned up.
CANDIDATE_GLOB = ".candidate*"
EXIT_AUDIT_FAILED = 1
EXIT_CANNOT_WRITE = 73  # EX_CANTCREAT: the warehouse folder refused a write (permission, disk)
EXIT_LOCKED = 75  # EX_TEMPFAIL: try again when the other build has finished
FAILED_STATUSES = ("error", "fail", "runtime error")
#: dbt-duckdb plugin that holds DuckDB's checkpoints (publish_hold.py): a target listing it in
#: profiles.yml is built in place, without copying the private build file.
HOLD_PLUGIN = "derived_tables.publish_hold"
#: What turns the plugin on in dbt's environment (publish_hold.HOLD_ENV; not imported from
#: there, which would import dbt into every `derived` command).
HOLD_ENV = "DERIVED_HOLD_CHECKPOINTS"
#: checkpoint_threshold while a build's WAL must not be checkpointed (as publish_hold.py).
HOLD_THRESHOLD = "1000TB"
#: In the private folder: `derived rollback` left the private build state ahead of the
#: published warehouse, so the next build is a full refresh (removed when it publishes).
FULL_REFRESH_MARKER = ".full-refresh-next"
#: In the candidate folder: the private build file's headers when an in-place build started.
HEADERS_NAME = "private-headers.sha256"
#: A DuckDB file's main header and its two database headers: a checkpoint rewrites one of them.
HEADER_BYTES = 3 * 4096
BUILD_STEP = "dbt build"
#: Stale sources do not fail the audit (they never did): their status goes to the catalogue.
FRESHNESS_STEP = "dbt source freshness"


class BuildLocked(click.ClickException):
    exit_code = EXIT_LOCKED


class AuditFailed(click.ClickException):
    exit_code = EXIT_AUDIT_FAILED


class CannotWrite(click.ClickException):
    exit_code = EXIT_CANNOT_WRITE


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
    def private(self) -> Path:
        """The private build file: everything dbt built, staging and intermediate included."""
        return self.folder / PRIVATE_DIR / self.published.name

    @property
    def pinned_curated(self) -> Path:
        """The curated partitions the last build pinned (links), which dbt and the private
        staging views read; replaced at the start of each build (see snapshot.py)."""
        return self.folder / PRIVATE_DIR / "curated"

    @property
    def private_previous(self) -> Path:
        return self.private.with_name(self.previous.name)

    @property
    def candidate_dir(self) -> Path:
        return self.folder / CANDIDATE_NAME

    @property
    def candidate(self) -> Path:
        """The private candidate dbt builds (a copy of the private build file)."""
        return self.candidate_dir / PRIVATE_DIR / self.published.name

    @property
    def full_refresh_marker(self) -> Path:
        """Present after `derived rollback`: the next build is a full refresh."""
        return self.private.parent / FULL_REFRESH_MARKER

    @property
    def candidate_headers(self) -> Path:
        """The private build file's header digest when an in-place build started."""
        return self.candidate_dir / HEADERS_NAME

    @property
    def public_candidate(self) -> Path:
        """The public candidate: only the published relations, copied from the candidate."""
        return self.candidate_dir / PUBLIC_DIR / self.published.name

    @classmethod
    def resolve(cls, project_dir: Path) -> WarehousePaths:
        return cls(configured_path(WAREHOUSE_ENV, DEFAULT_WAREHOUSE, project_dir).resolve())


def configured_path(env_var: str, default: Path, project_dir: Path) -> Path:
    """The path named by the environment variable ``env_var`` (else ``default``), ``~``
    expanded; a relative one is taken from the project folder, as dbt runs with the project as
    its cwd. Neither made absolute nor resolved: the caller decides (a link may be the point)."""
    path = Path(os.environ.get(env_var) or str(default)).expanduser()
    return path if path.is_absolute() else project_dir / path


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
    try:
        paths.folder.mkdir(parents=True, exist_ok=True)
        handle: IO[str] = open(paths.lock, "a+", encoding="utf-8")  # noqa: SIM115 (held open)
    except OSError as error:
        raise CannotWrite(
            f"cannot take the build lock {paths.lock}: {error.strerror or error}; make "
            f"{paths.folder} writable by this user, then build again"
        ) from None
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
    unit_tests: bool = False

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
        dbt unit tests are left out unless asked for: they test the models' logic on fixed
        inputs, not the data, so they need to run when the code changes (CI, `make test`), not
        in every build of the warehouse (dbt's own advice for production runs).
        """
        args = ["build"]
        if self.full_refresh:
            args.append("--full-refresh")
        if self.select:
            args += ["--select", *self.select, "resource_type:seed"]
        if self.exclude:
            args += ["--exclude", *self.exclude]
        if not self.unit_tests:
            args += ["--exclude-resource-type", "unit_test"]
        steps = [(BUILD_STEP, [*args, *self.common()])]
        if docs:
            # Freshness before docs generate: every dbt command rewrites manifest.json, and
            # the catalogue needs the one of docs generate (with the compiled SQL).
            # (It writes <target>/sources.json.)
            steps.append((FRESHNESS_STEP, ["source", "freshness", *self.common()]))
            steps.append(("dbt docs generate", ["docs", "generate", *self.common()]))
        return steps


def run_dbt(
    args: Sequence[str],
    candidate: Path,
    project_dir: Path,
    extra_env: Mapping[str, str] | None = None,
) -> int:
    """Run one dbt command against the candidate; dbt's output goes to the console.

    `extra_env`: the pinned curated snapshot (DERIVED_DATA_DIR) and the as-of date.
    """
    env = dict(os.environ)
    env.update(extra_env or {})
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


@dataclass(frozen=True)
class BuildRun:
    """The `dbt build` of a derived build: its invocation id and each node's status."""

    invocation_id: str | None
    statuses: dict[str, str]


def read_invocation_id(path: Path) -> str | None:
    """The dbt invocation id of the run results at `path` (just written), or None."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return (data.get("metadata") or {}).get("invocation_id")


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

    # From the project folder, as dbt runs. The sources are counted through docs generate's
    # manifest, whose relations name the pinned snapshot (DERIVED_DATA_DIR), not the live
    # curated folder: the catalogue describes what was built.
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


def profile_output(
    profiles_dir: Path, project_dir: Path, target: str | None
) -> dict[str, Any] | None:
    """The profiles.yml output of the dbt target a build will use: ``--target``, else
    ``DBT_TARGET``, else ``dev``. None when profiles.yml or the target cannot be read."""
    try:
        project = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
        profiles = yaml.safe_load((profiles_dir / "profiles.yml").read_text(encoding="utf-8"))
        outputs = profiles[project["profile"]]["outputs"]
        output = outputs.get(target or os.environ.get("DBT_TARGET") or "dev")
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return None
    return output if isinstance(output, dict) else None


def holds_checkpoints(profiles_dir: Path, project_dir: Path, target: str | None) -> bool:
    """Whether the dbt target lists the plugin that holds DuckDB's checkpoints
    (:data:`HOLD_PLUGIN`), so the private build file can be written in place."""
    output = profile_output(profiles_dir, project_dir, target)
    plugins = output.get("plugins") if output else None
    return any(
        isinstance(plugin, dict) and plugin.get("module") == HOLD_PLUGIN for plugin in plugins or []
    )


def headers_digest(database: Path) -> str:
    """SHA-256 of a DuckDB file's headers: changed by every checkpoint, by nothing else."""
    with open(database, "rb") as handle:
        return hashlib.sha256(handle.read(HEADER_BYTES)).hexdigest()


def private_changed_by_stale_build(paths: WarehousePaths) -> bool:
    """Whether an in-place build that did not finish (killed) changed the private build
    file's headers, i.e. checkpointed into it: compares the digest it recorded with now."""
    try:
        recorded = paths.candidate_headers.read_text(encoding="utf-8").strip()
    except OSError:
        return False
    return paths.private.exists() and headers_digest(paths.private) != recorded


def require_full_refresh(paths: WarehousePaths, reason: str) -> None:
    """Make the next build a full refresh (the private build state cannot be trusted to
    continue from), saying why."""
    paths.full_refresh_marker.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    paths.full_refresh_marker.write_text(reason + "\n", encoding="utf-8")
    fsync_dir(paths.full_refresh_marker.parent)


def prepare_candidate(
    paths: WarehousePaths, candidate: Path, fresh: bool, in_place: bool = False
) -> None:
    """Make the candidate dbt builds: nothing for a fresh build (dbt creates a new file);
    for an incremental one, a hard link to the private build file when the target holds
    DuckDB's checkpoints (`in_place`: dbt's changes stay in the candidate's WAL until the
    publish checkpoints them; no copy), else a copy of it."""
    candidate.parent.mkdir(parents=True, exist_ok=True)
    if fresh or not paths.private.exists():
        return
    if in_place:
        if wal(paths.private).exists():  # left by a dbt run by hand: part of the file's state
            checkpoint(paths.private)
        paths.candidate_headers.write_text(headers_digest(paths.private) + "\n", "utf-8")
        fsync_file(paths.candidate_headers)
        os.link(paths.private, candidate)
        return
    needed = paths.private.stat().st_size
    free = shutil.disk_usage(paths.folder).free
    if needed * 1.1 > free:
        raise CannotWrite(
            f"not enough disk space to copy the private build file {paths.private} "
            f"({needed / 2**30:.1f} GiB needed, {free / 2**30:.1f} GiB free in "
            f"{paths.folder}); nothing was published. Free space, or build with --full-refresh"
        )
    shutil.copy2(paths.private, candidate)
    if wal(paths.private).exists():  # not yet checkpointed: belongs with the file
        shutil.copy2(wal(paths.private), wal(candidate))


def _publish_config() -> dict[str, str]:
    """The DuckDB settings of the build's own connections (the export, the checkpoint): the
    whole memory budget, as dbt has ended (replaying the WAL of an in-place build holds its
    rows in memory or spills them)."""
    return {"memory_limit": f"{memory.budget_mb(os.environ)}MB"}


def checkpoint(database: Path) -> None:
    """Fold any write-ahead log into the file, so the file alone is the whole warehouse."""
    with duckdb.connect(str(database), config=_publish_config()) as con:
        con.execute("checkpoint")
    if wal(database).exists() and wal(database).stat().st_size > 0:
        raise click.ClickException(f"could not checkpoint {database}: its WAL remains")
    wal(database).unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# The public export: only relations whose dbt node says `meta: {published: true}`
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str

    @property
    def sql(self) -> str:
        return f"{quote(self.schema)}.{quote(self.name)}"

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def node_meta(node: Mapping[str, Any]) -> dict[str, Any]:
    """A manifest node's meta: its `meta`, overridden by its config's."""
    return {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}


def is_published(node: Mapping[str, Any]) -> bool:
    """Whether a manifest node is published: a model, seed or snapshot (not ephemeral) whose
    meta says `published: true`."""
    if node.get("resource_type") not in ("model", "seed", "snapshot"):
        return False
    if (node.get("config") or {}).get("materialized") == "ephemeral":
        return False
    return node_meta(node).get(PUBLISHED_META) is True


def published_relations(manifest_path: Path) -> list[Relation]:
    """The relations of every model, seed and snapshot whose config has `meta.published: true`.

    Publishing is opt-in: a node that does not say so (staging, intermediate, anything new)
    stays in the private build file. A node marked `personal_data: direct` (identifiers in
    clear) is never published: the audit fails, naming it.
    """
    try:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise click.ClickException(
            f"cannot read the dbt manifest {manifest_path} ({error}); nothing was published"
        ) from None
    relations = set()
    for unique_id, node in manifest.get("nodes", {}).items():
        if not is_published(node):
            continue
        if node_meta(node).get("personal_data") == "direct":
            raise AuditFailed(
                f"audit failed: {unique_id} is marked both `published: true` and "
                "`personal_data: direct`; nothing was published. Publish only pseudonymised "
                "data: fix the model or its meta"
            )
        relations.add(Relation(node["schema"], node.get("alias") or node["name"]))
    return sorted(relations, key=str)


def export_public(
    build_file: Path, public_file: Path, relations: Sequence[Relation], fold_build: bool = False
) -> int:
    """Write a new DuckDB file holding only `relations`, copied from `build_file` (a fresh
    export: public_export.write_public); the number of relations copied.

    Tables keep their DDL (types, constraints) and comments (the persisted docs); views are
    recreated from their SQL, so a view that reads an unpublished relation fails here, naming
    it. Nothing else is ever written to the file, so no private data can linger in it (not
    even in freed blocks). Relations not built (a `--select` build on a fresh candidate) are
    skipped. With `fold_build`, `build_file` is the candidate of a build: see write_public.
    """
    from derived_tables.public_export import write_public

    return write_public(build_file, public_file, relations, fold_build).relations


#: A relation of the build file: schema, name, the SQL that creates it, its comment.
_BuildRelation = tuple[str, str, str, str | None]


def _build_relations(
    con: duckdb.DuckDBPyConnection, kind: str, wanted: set[tuple[str, str]]
) -> list[_BuildRelation]:
    """The tables (`kind` "table") or views ("view") of the attached build file that are
    `wanted`, with the SQL that creates each and its comment."""
    if kind == "table":
        query = (
            "select schema_name, table_name, sql, comment from duckdb_tables()"
            " where database_name = 'build'"
        )
    else:
        query = (
            "select schema_name, view_name, sql, comment from duckdb_views()"
            " where database_name = 'build' and not internal"
        )
    return [
        (schema, name, sql, comment)
        for schema, name, sql, comment in con.execute(query).fetchall()
        if (schema, name) in wanted
    ]


def _create_views(con: duckdb.DuckDBPyConnection, views: list[_BuildRelation]) -> None:
    """Create `views` in dependency order (a view may read another view); a view that reads
    a relation not published fails, naming it."""
    pending = list(views)
    while pending:
        failed = []
        for view in pending:
            try:
                con.execute(view[2])
            except duckdb.Error as error:
                failed.append((view, error))
        if len(failed) == len(pending):
            (schema, name, *_), error = failed[0]
            raise click.ClickException(
                f"cannot publish the view {schema}.{name}: {error}. A published view may "
                "read only published relations: publish what it reads, or make it a table"
            )
        pending = [view for view, _ in failed]


def _copy_comments(
    con: duckdb.DuckDBPyConnection,
    tables: list[_BuildRelation],
    views: list[_BuildRelation],
    wanted: set[tuple[str, str]],
) -> None:
    """Copy the comments (the persisted docs) of the published relations and their columns
    from the attached build file."""
    columns = con.execute(
        "select schema_name, table_name, column_name, comment from duckdb_columns()"
        " where database_name = 'build' and comment is not null"
    ).fetchall()
    for kind, found in (("table", tables), ("view", views)):
        for schema, name, _, comment in found:
            if comment:
                relation = Relation(schema, name)
                con.execute(f"comment on {kind} {relation.sql} is {literal(comment)}")
    for schema, name, column, comment in columns:
        if (schema, name) in wanted:
            con.execute(
                f"comment on column {Relation(schema, name).sql}.{quote(column)}"
                f" is {literal(comment)}"
            )


def replace_keeping_previous(new: Path, current: Path, previous: Path) -> None:
    """Keep `current` as `previous` (hard link: `current` never disappears), then atomically
    rename `new` onto `current`."""
    if current.exists():
        link = previous.with_name(previous.name + ".tmp")
        link.unlink(missing_ok=True)
        os.link(current, link)
        os.replace(link, previous)
        if wal(current).exists():
            os.replace(wal(current), wal(previous))
        else:
            wal(previous).unlink(missing_ok=True)
    os.replace(new, current)
    fsync_dir(current.parent)


def publish(paths: WarehousePaths, candidate: Path, in_place: bool = False) -> None:
    """Checkpoint the candidate into the private build file, then replace the published file
    by the public candidate (the commit point), keeping the file it replaces as previous.

    In place (`in_place`, the target holds DuckDB's checkpoints): an incremental candidate is
    a hard link to the private build file, so the checkpoint itself writes the build into it
    (DuckDB writes a checkpoint's blocks where the last one does not point, then its header:
    killed meanwhile, the file is its old or its new state); a fresh candidate replaces it.
    No private previous version is kept (it would double the disk the private state takes):
    `derived rollback` then makes the next build a full refresh. Otherwise (a profile without
    the plugin) the candidate, a copy, replaces the private build file, which is kept as the
    private previous version.
    """
    fsync_file(paths.public_candidate)
    checkpoint(candidate)
    fsync_file(candidate)
    paths.private.parent.mkdir(mode=0o700, exist_ok=True)
    if not in_place:
        replace_keeping_previous(candidate, paths.private, paths.private_previous)
    else:
        linked = paths.private.exists() and os.path.samefile(candidate, paths.private)
        if not linked:
            os.replace(candidate, paths.private)
        paths.private_previous.unlink(missing_ok=True)  # stale: it matches nothing any more
        wal(paths.private_previous).unlink(missing_ok=True)
        fsync_dir(paths.private.parent)
    replace_keeping_previous(paths.public_candidate, paths.published, paths.previous)


def relations_in(database: Path) -> set[tuple[str, str]]:
    """(schema, name) of every table and view of a DuckDB file."""
    with duckdb.connect(str(database), read_only=True) as con:
        found = con.execute(
            "select schema_name, table_name from duckdb_tables()"
            " where database_name = current_database()"
            " union all select schema_name, view_name from duckdb_views()"
            " where database_name = current_database() and not internal"
        ).fetchall()
    return {(schema, name) for schema, name in found}


def keep_legacy_previous(paths: WarehousePaths, relations: Sequence[Relation]) -> None:
    """After the first publish of this layout, the previous file is the old published file,
    which held the private schemas too: it must leave the analysts' folder, but it is the only
    way back, so it is kept, never deleted. The whole file becomes the private previous
    version (it was the old build state; the private folder is 0700) and the previous
    published file is rebuilt from it with only the published relations, so `derived
    rollback` restores both, as after any build. Nothing moves before the new publish is in
    place (this runs after it), and the old file is only ever renamed.
    """
    legacy = paths.previous.exists() and private_relations_in(paths.previous, paths)
    if not legacy:
        return
    kept = paths.private_previous
    if kept.exists():  # a private previous already (a hand-restored file?): keep both
        kept = kept.with_name(f"{paths.published.stem}.legacy{paths.published.suffix}")
    work = paths.folder / f"{CANDIDATE_NAME}-upgrade" / paths.published.name
    reason = ""
    try:
        work.parent.mkdir(mode=0o700, exist_ok=True)
        try:
            copied = export_public(paths.previous, work, relations)
        except (click.ClickException, duckdb.Error) as error:
            copied, reason = None, one_line(str(error))
        paths.private.parent.mkdir(mode=0o700, exist_ok=True)
        os.replace(paths.previous, kept)
        if wal(paths.previous).exists():
            os.replace(wal(paths.previous), wal(kept))
        if copied is not None:
            os.replace(work, paths.previous)
        fsync_dir(paths.folder)
        fsync_dir(kept.parent)
    except OSError as error:
        raise CannotWrite(
            f"published, but could not move {paths.previous} ({error.strerror}), which holds "
            f"private relations from an older version, to {kept}: move it there by hand"
        ) from None
    finally:
        shutil.rmtree(work.parent, ignore_errors=True)
    moved = f"{', '.join(legacy[:3])}{', ...' if len(legacy) > 3 else ''}"
    if copied is None:
        _say(
            f"moved {kept.name} (published by an older version, it held relations that are "
            f"now private: {moved}) to {kept.parent}; its published relations could not be "
            f"exported ({reason}), so only the private build file can be rolled back"
        )
        return
    rollback_note = (
        "`derived rollback` restores both"
        if kept == paths.private_previous
        else f"roll back by hand from {kept}"
    )
    _say(
        f"kept the previous version, published by an older version with relations that are "
        f"now private ({moved}): the whole file as {kept}, its {copied} published "
        f"relation(s) as {paths.previous}; {rollback_note}"
    )


def private_relations_in(database: Path, paths: WarehousePaths) -> list[str]:
    """Relations of `database` that the private build file holds and the published file does
    not (a file published by an older version, which held staging and intermediate too)."""
    from derived_tables.public_export import RECORD

    private_only = relations_in(paths.private) - relations_in(paths.published)
    private_only.discard((RECORD.schema, RECORD.name))  # the export's record, no data
    return sorted(f"{s}.{n}" for s, n in relations_in(database) & private_only)


def swap_files(current: Path, previous: Path) -> None:
    if not current.exists():
        os.replace(previous, current)
    else:
        link = current.with_name(current.name + ".rollback.tmp")
        link.unlink(missing_ok=True)
        os.link(current, link)
        os.replace(previous, current)
        os.replace(link, previous)
    for path in (current, previous):
        if wal(path).exists():
            raise click.ClickException(f"{wal(path)} exists: checkpoint before rolling back")
    fsync_dir(current.parent)


def swap_with_previous(paths: WarehousePaths) -> None:
    """Swap the published file with its previous version, and the private build file with
    its own when there is one (a build without the checkpoint-holding plugin keeps it), so
    the next build starts from the matching state; without one (an in-place build keeps
    none), the next build is made a full refresh."""
    if not paths.previous.exists():
        raise click.ClickException(f"nothing to roll back to: {paths.previous} does not exist")
    swap_files(paths.published, paths.previous)
    if paths.private_previous.exists():
        swap_files(paths.private, paths.private_previous)
    elif paths.private.exists():
        require_full_refresh(
            paths,
            "`derived rollback` restored a published warehouse older than the private build "
            "state, which an in-place build keeps no previous version of",
        )


def one_line(text: str) -> str:
    return " ".join(text.split())


def describe_os_error(error: OSError, paths: WarehousePaths) -> str:
    """One line: what failed, where, what to do."""
    where = error.filename or paths.folder
    reason = error.strerror or str(error)
    if error.errno is not None:
        reason += f" (errno {error.errno})"
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        advice = f"free space on the file system of {paths.folder}, then build again"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        advice = f"make {paths.folder} writable by this user, then build again"
    else:
        advice = "fix the cause, then build again"
    return (
        f"cannot write {where}: {reason}; nothing was published and "
        f"{paths.published} is unchanged. {advice[0].upper()}{advice[1:]}"
    )


def discard_candidate(paths: WarehousePaths) -> Path | None:
    """Remove the candidate folder; the path left behind when that is impossible."""
    folder = paths.candidate_dir
    shutil.rmtree(folder, ignore_errors=True)
    return folder if folder.exists() else None


def pin_curated_snapshot(
    project: Path, pinned: Path, as_of: dt.date, as_of_origin: str
) -> dict[str, str]:
    """List, check and pin the curated partitions into `pinned` (see snapshot.py); dbt's extra
    environment."""
    root = default_data_dir(project)
    env = {snapshot.AS_OF_ENV: as_of.isoformat()}
    _say(f"as-of date {as_of} (from {as_of_origin})")
    if not root.is_dir():
        _say(f"no curated data folder {root}: nothing to pin")
        return env
    partitions = snapshot.list_partitions(root)
    snapshot.refuse_future_partitions(partitions, as_of)
    pinned.parent.mkdir(mode=0o700, exist_ok=True)
    shutil.rmtree(pinned, ignore_errors=True)
    method = snapshot.pin(partitions, pinned)
    tables = {(p.system, p.table) for p in partitions}
    files = sum(len(p.files) for p in partitions)
    _say(
        f"pinned {len(partitions)} partition(s) of {len(tables)} curated table(s), "
        f"{files} file(s), from {root} ({method}); data landing now waits for the next build"
    )
    env[snapshot.DATA_DIR_ENV] = str(pinned)
    return env


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
@click.option(
    "--fresh-export",
    is_flag=True,
    help="Write the published file anew instead of patching a copy of it: no row an earlier "
    "build published lingers in its free blocks (a full refresh always does).",
)
@click.option("--vars", default=None, help="dbt --vars (YAML string).")
@click.option("--target", "-t", default=None, help="dbt target (default: the profile's).")
@click.option("--threads", type=int, default=None, help="dbt threads (default: the profile's).")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help=(
        "The build's as-of date: a curated partition dated after it is refused. Default: "
        f"{snapshot.AS_OF_ENV}, else today's UTC date. Recorded in fct_source_extractions."
    ),
)
@click.option(
    "--docs/--no-docs",
    default=False,
    help="Also run `dbt docs generate` on the candidate before publishing it.",
)
@click.option(
    "--unit-tests/--no-unit-tests",
    default=False,
    show_default=True,
    help="Also run the dbt unit tests (model logic on fixed inputs; CI runs them on every "
    "change, so a warehouse build leaves them out).",
)
@_with_project_options
def build(
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    full_refresh: bool,
    fresh_export: bool,
    vars: str | None,
    target: str | None,
    threads: int | None,
    as_of: dt.datetime | None,
    docs: bool,
    unit_tests: bool,
    project_dir: Path | None,
    profiles_dir: Path | None,
) -> None:
    """Build, test and publish the warehouse (write-audit-publish).

    Pins the curated partitions complete when it starts (refusing any dated after the as-of
    date), runs `dbt build` (seeds included) on a candidate of the private build file
    (written in place with DuckDB's checkpoints held, when the target lists the
    derived_tables.publish_hold plugin; else a copy), and only when every model built and
    every test passed publishes: the published file gets only the relations marked `meta:
    {published: true}` (marts, reference data), the private build file keeps the rest. A
    failed build changes neither. After `derived rollback` the next build is a full refresh.
    A daily build patches a copy of the published file with the keys its incremental marts
    wrote (the rest replaced whole) when the private build file proves the published file is
    its last export; otherwise the published file is written anew, and the build says why.

    \b
    Exit codes: 0 published; 1 the audit failed (a model or test; listed); 2 wrong usage;
    65 curated input refused (future-dated or misnamed partition); 73 cannot write the
    warehouse folder (permission, disk full); 75 another build holds the lock;
    130 interrupted (Ctrl-C); 143 terminated (SIGTERM).
    """
    project = (project_dir or default_project_dir()).resolve()
    profiles = (profiles_dir or project).resolve()
    options = DbtOptions(
        project, profiles, select, exclude, full_refresh, vars, target, threads, unit_tests
    )
    from derived_tables import publish_spark

    if publish_spark.target_type(profiles, project, target) == "spark":
        # the Spark design: see publish_spark.py
        publish_spark.build_spark(options, docs, as_of.date() if as_of else None)
        return
    paths = WarehousePaths.resolve(project)
    as_of_date, as_of_origin = snapshot.resolve_as_of(as_of.date() if as_of else None)
    in_place = holds_checkpoints(profiles, project, target)
    started = time.monotonic()
    phases: dict[str, float] = {}
    with build_lock(paths), sigterm_as_exception():
        if private_changed_by_stale_build(paths):
            require_full_refresh(
                paths,
                "an interrupted in-place build changed the private build file's headers",
            )
        for stale in remove_stale_candidates(paths):
            _say(f"removed a stale candidate left by an interrupted build: {stale}")
        candidate = paths.candidate
        forced = paths.full_refresh_marker.exists() and not full_refresh
        if forced:
            reason = one_line(paths.full_refresh_marker.read_text(encoding="utf-8"))
            _say(f"a full refresh, because {reason}")
        fresh = full_refresh or forced or not paths.private.exists()
        linked = in_place and not fresh
        export_reason = fresh_export_reason(paths, full_refresh, forced, select, exclude)
        if fresh_export and not export_reason:
            export_reason = "of --fresh-export"
        # The private build file as the last export left it, or None (see public_export.py)
        private_headers = (
            headers_digest(paths.private) if not fresh and not wal(paths.private).exists() else None
        )
        digest = headers_digest(paths.private) if linked else None
        size_before = paths.private.stat().st_size if linked else 0
        try:
            with _discarded_unless_published(paths):
                paths.candidate_dir.mkdir(mode=0o700)
                with _phase("pin", phases):
                    extra_env = pin_curated_snapshot(
                        project, paths.pinned_curated, as_of_date, as_of_origin
                    )
                with _phase("prepare candidate", phases):
                    prepare_candidate(paths, candidate, fresh, in_place)
                if fresh:
                    origin = "a new file"
                elif linked:
                    origin = (
                        f"the private build file {paths.private} itself, through a link; "
                        "its checkpoints held until the audit passes"
                    )
                else:
                    origin = f"a copy of the private build file {paths.private}"
                _say(f"candidate {candidate} ({origin})")
                if linked:
                    extra_env[HOLD_ENV] = "1"
                build_run = _audit(options, docs, candidate, extra_env, phases)
                if linked:
                    held = wal(candidate).stat().st_size if wal(candidate).exists() else 0
                    grown = paths.private.stat().st_size - size_before
                    _say(
                        f"held until the checkpoint: a WAL of {held / 2**20:,.0f} MiB and "
                        f"{grown / 2**20:,.0f} MiB of blocks written past the private build "
                        "file's end"
                    )
                relations = _publish_candidate(
                    paths,
                    candidate,
                    project,
                    docs,
                    in_place,
                    phases,
                    build_run,
                    export_reason,
                    private_headers,
                )
        except BaseException:
            if digest is not None and headers_digest(paths.private) != digest:
                require_full_refresh(
                    paths, "a failed in-place build changed the private build file's headers"
                )
                _say(
                    "the failed build checkpointed into the private build file: the next "
                    "build will be a full refresh",
                    err=True,
                )
            raise
        paths.full_refresh_marker.unlink(missing_ok=True)
        keep_legacy_previous(paths, relations)
    kept = f"; previous kept as {paths.previous}" if paths.previous.exists() else ""
    _say(f"published {paths.published} in {time.monotonic() - started:.0f}s{kept}")


def fresh_export_reason(
    paths: WarehousePaths,
    full_refresh: bool,
    forced: bool,
    select: Sequence[str],
    exclude: Sequence[str],
) -> str:
    """Why this build writes the public file fresh whatever it finds, or "" (then
    public_export.patch_plan decides)."""
    if full_refresh:
        return "of --full-refresh"
    if forced:
        return "this build is a full refresh (see above)"
    if not paths.private.exists():
        return "this is the first build (no private build file)"
    if select or exclude:
        return "a --select or --exclude build records only part of what changed"
    return ""


@contextlib.contextmanager
def _phase(name: str, phases: dict[str, float]) -> Iterator[None]:
    """Time one phase of the build: one line `<name> in N s`, and into `phases`."""
    phase_started = time.monotonic()
    yield
    seconds = time.monotonic() - phase_started
    phases[name] = round(phases.get(name, 0.0) + seconds, 2)
    _say(f"{name} in {seconds:.1f} s")


@contextlib.contextmanager
def _discarded_unless_published(paths: WarehousePaths) -> Iterator[None]:
    """Around a build's candidate: whatever happens, the candidate folder is removed after;
    an interruption, a write error or any other failure is reported (with its exit code)
    as leaving the published warehouse as it was."""
    try:
        yield
    except Interrupted as error:
        _say(f"{error}: discarding the candidate", err=True)
        raise click.exceptions.Exit(128 + signal.SIGTERM) from None
    except KeyboardInterrupt:
        _say("interrupted: discarding the candidate; nothing was published", err=True)
        raise click.exceptions.Exit(128 + signal.SIGINT) from None
    except OSError as error:
        raise CannotWrite(describe_os_error(error, paths)) from None
    except duckdb.IOException as error:
        raise CannotWrite(
            f"cannot write the warehouse in {paths.folder}: {one_line(str(error))}; nothing "
            "was published. Free space or fix permissions there, then build again"
        ) from None
    except BaseException:
        _say("build failed: discarding the candidate", err=True)
        raise
    finally:
        left = discard_candidate(paths)
        if left:
            _say(f"could not remove the candidate folder {left}: remove it by hand", err=True)


def _audit(
    options: DbtOptions,
    docs: bool,
    candidate: Path,
    extra_env: dict[str, str],
    phases: dict[str, float],
) -> BuildRun:
    """Run the build's dbt steps on the candidate; raise AuditFailed at the first that fails
    (a non-zero exit, or a failed node in its run results despite exit 0). A failed source
    freshness check is only reported: it is shown on the catalogue's trust pages. Returns
    what the `dbt build` step ran (its invocation id and node statuses)."""
    project = options.project_dir
    results_file = target_path(project) / "run_results.json"
    build_run = BuildRun(None, {})
    for step, args in options.steps(docs):
        _say(f"{step} ...")
        step_started = time.time()
        with _phase(step, phases):
            code = run_dbt(args, candidate, project, extra_env)
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
        if step == BUILD_STEP:
            build_run = BuildRun(
                read_invocation_id(results_file), {r.unique_id: r.status for r in results}
            )
            if docs:  # the test results the catalogue shows
                shutil.copy2(results_file, target_path(project) / BUILD_RESULTS)
    return build_run


def _publish_candidate(
    paths: WarehousePaths,
    candidate: Path,
    project: Path,
    docs: bool,
    in_place: bool,
    phases: dict[str, float],
    build_run: BuildRun | None = None,
    fresh_reason: str = "",
    private_headers: str | None = None,
) -> list[Relation]:
    """After a passed audit: write the catalogue (with docs), export the published relations
    to the public candidate, then publish both candidates. Returns the published relations.

    The public candidate is a copy of the published file patched with what this build
    changed, or a new file when `fresh_reason` says why, or when public_export.patch_plan
    finds a reason (see public_export.py). `private_headers`: the private build file's
    header digest when the build started, None when it had a write-ahead log.

    Nothing is checkpointed before the export: both read the candidate with its WAL, so a
    failed export leaves the private build file as it was."""
    from derived_tables import public_export

    if docs:
        with _phase("catalogue", phases):
            write_catalogue(project, candidate)
    manifest = target_path(project) / "manifest.json"
    relations = published_relations(manifest)
    if not relations:
        raise AuditFailed(
            "audit failed: no model or seed is marked `meta: {published: true}`, so "
            "there is nothing to publish; nothing was published"
        )
    build_run = build_run or BuildRun(None, {})
    plan = None
    if not fresh_reason:
        plan, fresh_reason = public_export.patch_plan(
            paths.published,
            paths.private,
            private_headers,
            manifest,
            build_run.invocation_id,
            build_run.statuses,
        )
    with _phase("export and checkpoint", phases):
        export = public_export.write_public(
            candidate,
            paths.public_candidate,
            relations,
            fold_build=True,
            plan=plan,
            fresh_reason=fresh_reason,
            invocation_id=build_run.invocation_id or "",
        )
    _say(f"public candidate {paths.public_candidate}: {export.describe()}")
    if export.patched:
        keys = ", ".join(f"{name} ({n:,})" for name, n in sorted(export.patched.items()))
        _say(f"patched by key (keys): {keys}")
    with _phase("publish", phases):
        publish(paths, candidate, in_place)
    try:
        public_export.write_state(paths.private, export.export_id, headers_digest(paths.private))
    except OSError as error:  # published all the same; the next export is then fresh
        with contextlib.suppress(OSError):
            public_export.state_path(paths.private).unlink(missing_ok=True)
        _say(f"could not record the export ({error}): the next export will be fresh", err=True)
    return relations


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

    Takes the build lock, so it never races a build. The private build file is swapped too
    when a previous version of it was kept (a build by copy); otherwise (an in-place build
    keeps none) the next build is a full refresh.
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
    if paths.full_refresh_marker.exists():
        click.echo(
            "[derived rollback] the private build state is newer than the published "
            "warehouse now: the next build is a full refresh"
        )
