"""Write-audit-publish on Spark: ``derived build --target spark`` and ``derived rollback --target
spark``.

The DuckDB warehouse is one file, so its candidate is a copy and its publish one rename. A Spark
warehouse (dbt-spark, ``session`` method: see profiles.yml) is a folder: the Parquet files of
every table under ``tables/`` and the Derby metastore that names them under ``metastore_db/``.
The metastore records each table's *absolute* location, so such a folder cannot be copied or
renamed and keep working. The equivalent design is therefore a candidate *folder* that never
moves, and a published *symbolic link* that is swapped atomically:

1. **Lock.** The same exclusive build lock as DuckDB builds (``warehouse/.build.lock``): one
   build at a time, whatever the engine.
2. **Write** a candidate ``warehouse/spark-builds/<UTC time>-<pid>-<random>/`` (its own Spark
   warehouse folder and metastore: ``DERIVED_SPARK_WAREHOUSE`` points the profile there).
   ``dbt build --full-refresh`` seeds, registers the curated sources, builds every model and
   runs every test in it. Every Spark build is a full build: incremental state cannot be
   carried into a new folder (see the README).
3. **Audit.** Any error or failing test of severity error (``target/run_results.json``) fails
   the build: the candidate folder is deleted and the published link is left as it was.
   Ctrl-C, SIGTERM or any exception also delete it.
4. **Publish.** The published path ``warehouse/spark`` (``DERIVED_SPARK_WAREHOUSE``) is a
   symbolic link to the published build's folder. A new link to the candidate is renamed onto
   it (``os.replace``: atomic), and ``warehouse/spark.previous`` is pointed at the build it
   replaced. Builds that neither link names are deleted. ``derived rollback --target spark``
   swaps the two links.

Readers (a SparkSession with ``spark.sql.warehouse.dir`` and the Derby metastore under
``warehouse/spark``, as the ``spark`` target sets them) resolve the link when they start, so
they see one whole audited build: the tables and the metastore of the same build.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import click

from derived_tables import publish, snapshot

SPARK_WAREHOUSE_ENV = "DERIVED_SPARK_WAREHOUSE"

#: The schema-drift tests of the curated files (tests/generic/sources/) read each Parquet
#: file's own footer schema (DuckDB's parquet_schema()), which Spark SQL has no equivalent of:
#: a Spark table has one merged schema. They check the delivered files, not the engine's
#: tables, so a Spark build leaves them out (``--exclude``) and says so; the DuckDB build runs
#: them on the same files. (latest_extract_has_rows runs on Spark:
#: spark__curated_extraction_dates lists the partitions.)
SPARK_EXCLUDED_TESTS: tuple[str, ...] = (
    "test_name:columns_all_declared",
    "test_name:columns_match_contract",
    "test_name:values_parse_as_declared_type",
)
DEFAULT_SPARK_WAREHOUSE = Path("warehouse") / "spark"


def target_type(profiles_dir: Path, project_dir: Path, target: str | None) -> str | None:
    """The adapter type (``duckdb``, ``spark``, ...) of the dbt target a build will use.

    The target is ``--target``, else ``DBT_TARGET``, else ``dev`` (the default profiles.yml
    gives). None when profiles.yml or the target cannot be read: the caller then keeps the
    DuckDB path and dbt reports the problem itself.
    """
    output = publish.profile_output(profiles_dir, project_dir, target)
    return str(output.get("type")) if output else None


@dataclass(frozen=True)
class SparkPaths:
    """The published link, the previous link and the folder of builds."""

    published: Path

    @property
    def folder(self) -> Path:
        return self.published.parent

    @property
    def previous(self) -> Path:
        return self.folder / f"{self.published.name}.previous"

    @property
    def builds(self) -> Path:
        return self.folder / f"{self.published.name}-builds"

    @property
    def lock_paths(self) -> publish.WarehousePaths:
        """Lock in the same folder (and file) as DuckDB builds."""
        return publish.WarehousePaths(self.folder / publish.DEFAULT_WAREHOUSE.name)

    def new_candidate(self) -> Path:
        """A new, empty, uniquely named build folder (created)."""
        self.builds.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        return Path(tempfile.mkdtemp(prefix=f"{stamp}-{os.getpid()}-", dir=self.builds))

    def linked(self) -> set[Path]:
        """The build folders the published and previous links name."""
        return {link.resolve() for link in (self.published, self.previous) if link.is_symlink()}

    @classmethod
    def resolve(cls, project_dir: Path) -> SparkPaths:
        path = publish.configured_path(SPARK_WAREHOUSE_ENV, DEFAULT_SPARK_WAREHOUSE, project_dir)
        return cls(Path(os.path.abspath(path)))  # not resolve(): it is a link


def check_published_is_link(paths: SparkPaths) -> None:
    if paths.published.exists() and not paths.published.is_symlink():
        raise click.ClickException(
            f"{paths.published} is a folder, not the link `derived build --target spark` "
            "publishes: it was written by dbt directly. Move it away (or delete it) and build "
            "again."
        )


def remove_unlinked_builds(paths: SparkPaths) -> list[Path]:
    """Delete build folders no link names (stale candidates, replaced builds); under the lock."""
    if not paths.builds.is_dir():
        return []
    keep = paths.linked()
    removed = []
    for folder in sorted(paths.builds.iterdir()):
        if folder.resolve() not in keep:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def replace_link(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` atomically (a new link renamed over the old one)."""
    temporary = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary, target_is_directory=True)
    os.replace(temporary, link)


def publish_candidate(paths: SparkPaths, candidate: Path) -> None:
    old = paths.published.resolve() if paths.published.is_symlink() else None
    replace_link(paths.published, candidate)
    if old is not None:
        replace_link(paths.previous, old)
    publish.fsync_dir(paths.folder)


def spark_dbt_command(args: list[str]) -> list[str]:
    """dbt with Python models runnable on the local Spark session (derived_tables.spark_dbt)."""
    return [sys.executable, "-m", "derived_tables.spark_dbt", *args]


def run_spark_dbt(
    args: list[str], candidate: Path, project_dir: Path, extra_env: Mapping[str, str]
) -> int:
    env = dict(os.environ)
    env.update(extra_env)
    env.update({SPARK_WAREHOUSE_ENV: str(candidate), "DO_NOT_TRACK": "1"})
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    completed = subprocess.run(
        spark_dbt_command(args),
        cwd=project_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return completed.returncode


def build_spark(options: publish.DbtOptions, docs: bool, as_of: dt.date | None = None) -> None:
    """Write-audit-publish a complete Spark warehouse (see the module's description).

    As on DuckDB, the curated partitions are checked against the as-of date (a future-dated
    one is refused) and pinned when the build starts: hard links in the candidate's
    ``curated/`` folder, which the Spark sources are registered over. The published build
    keeps reading the very files it was built and tested on, whatever lands later.
    """
    if options.select:
        raise click.UsageError(
            "--select is not supported on Spark: every Spark build is a complete new "
            "warehouse (see derived_tables/publish_spark.py)"
        )
    full = publish.DbtOptions(
        options.project_dir,
        options.profiles_dir,
        (),
        (*options.exclude, *SPARK_EXCLUDED_TESTS),
        True,
        options.vars,
        options.target,
        options.threads,
    )
    paths = SparkPaths.resolve(options.project_dir)
    as_of_date, as_of_origin = snapshot.resolve_as_of(as_of)
    started = time.monotonic()
    with publish.build_lock(paths.lock_paths), publish.sigterm_as_exception():
        check_published_is_link(paths)
        for stale in remove_unlinked_builds(paths):
            publish._say(f"removed a build folder no link names: {stale}")
        candidate = paths.new_candidate()
        try:
            publish._say(f"Spark candidate {candidate} (a new warehouse: full build)")
            publish._say(
                "left out on Spark (DuckDB-only checks of the curated files): "
                + ", ".join(t.split(":", 1)[1] for t in SPARK_EXCLUDED_TESTS)
            )
            extra_env = publish.pin_curated_snapshot(
                options.project_dir, candidate / "curated", as_of_date, as_of_origin
            )
            results_file = publish.target_path(options.project_dir) / "run_results.json"
            for step, args in full.steps(docs):
                publish._say(f"{step} (Spark) ...")
                step_started = time.time()
                code = run_spark_dbt(args, candidate, options.project_dir, extra_env)
                results = publish.read_run_results(results_file, step_started)
                failed = [r for r in results or [] if r.status in publish.FAILED_STATUSES]
                if code != 0 or failed:
                    raise publish.AuditFailed(publish.describe_failure(step, code, results))
            publish_candidate(paths, candidate)
        except publish.Interrupted as error:
            publish._say(f"{error}: discarding the candidate", err=True)
            shutil.rmtree(candidate, ignore_errors=True)
            raise click.exceptions.Exit(128 + signal.SIGTERM) from None
        except BaseException:
            publish._say("build failed or interrupted: discarding the candidate", err=True)
            shutil.rmtree(candidate, ignore_errors=True)
            raise
        remove_unlinked_builds(paths)
    publish._say(f"published {paths.published} -> {candidate} in {time.monotonic() - started:.0f}s")


def rollback_spark(project_dir: Path) -> None:
    """Swap the published and previous links (run again to undo)."""
    paths = SparkPaths.resolve(project_dir)
    with publish.build_lock(paths.lock_paths):
        if not paths.previous.is_symlink():
            raise click.ClickException(f"nothing to roll back to: {paths.previous} is no link")
        check_published_is_link(paths)
        current, previous = paths.published.resolve(), paths.previous.resolve()
        replace_link(paths.published, previous)
        replace_link(paths.previous, current)
        publish.fsync_dir(paths.folder)
    click.echo(
        f"[derived rollback] {paths.published} -> {previous}; the replaced build is kept as "
        f"{paths.previous}"
    )
