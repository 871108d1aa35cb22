"""Where the data goes and how it gets there atomically.

- A backfill is written into a hidden staging folder beside the data folder and renamed into
  place in one step (``--force`` swaps it with the old folder, then removes the old one).
- A next-day extract is written into a hidden staging folder inside the data folder (same file
  system), then each finished partition is renamed into its table folder, then the manifest is
  replaced. Hidden folders are invisible to the ``<table>/*/*.parquet`` globs of dbt sources.
- The truth file is replaced by renaming a finished temporary file over it.

On any error or interruption the staging folders are removed, so no half-written partition is
ever visible.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from derived_tables.generator.manifest import MANIFEST_NAME
from derived_tables.generator.writer import PARQUET_OPTIONS

TRUTH_FILE = "person_truth.parquet"


class OutputError(RuntimeError):
    """The output folder cannot be used."""


def find_project_dir(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding ``dbt_project.yml``."""
    for folder in (start, *start.parents):
        if (folder / "dbt_project.yml").is_file():
            return folder
    raise OutputError(f"no dbt_project.yml in {start} or above; pass --project-dir")


def default_data_dir(project_dir: Path) -> Path:
    """``$DERIVED_DATA_DIR`` (relative to the project) or ``<project>/data/curated``."""
    env = os.environ.get("DERIVED_DATA_DIR")
    if env:
        path = Path(env).expanduser()
        return path if path.is_absolute() else project_dir / path
    return project_dir / "data" / "curated"


def check_writable(path: Path) -> None:
    """Fail with a clear message unless ``path`` is (or can be made) a writable folder.

    Probes by creating and removing a temporary folder in the nearest existing ancestor, which
    also catches read-only and pseudo file systems where permission bits say nothing.
    """
    if path.exists() and not path.is_dir():
        raise OutputError(f"cannot write to {path}: it exists and is not a folder")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"cannot write to {path}: {existing} is not a folder")
    for probe_dir in dict.fromkeys([existing, path.parent if path.exists() else existing]):
        try:
            probe = Path(tempfile.mkdtemp(prefix=".derived-probe-", dir=probe_dir))
        except OSError as exc:
            raise OutputError(
                f"cannot write to {path}: {exc.strerror or exc} ({probe_dir})"
            ) from None
        probe.rmdir()


def has_data(path: Path) -> bool:
    """True when the folder holds a manifest or any Parquet file."""
    if not path.is_dir():
        return False
    if (path / MANIFEST_NAME).exists():
        return True
    return any(path.glob("*/*/*/*.parquet"))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_staging(folder: Path, pattern: str) -> None:
    """Remove staging folders left by runs that were killed (their process is gone)."""
    if not folder.is_dir():
        return
    for stale in folder.glob(pattern):
        suffix = stale.name.rsplit("-", 1)[-1]
        if suffix.isdigit() and not _pid_alive(int(suffix)) and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)


@contextlib.contextmanager
def staged_backfill(out: Path, *, replace: bool) -> Iterator[Path]:
    """A staging folder beside ``out``; on success it becomes ``out`` (swapping an old one)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out.parent, f".{out.name}.staging-*")
    remove_stale_staging(out.parent, f".{out.name}.old-*")
    staging = out.parent / f".{out.name}.staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
        if out.exists():
            if not replace and any(out.iterdir()):
                raise OutputError(f"{out} is not empty")
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            os.rename(out, old)
            try:
                os.rename(staging, out)
            except BaseException:
                os.rename(old, out)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def staged_partitions(out: Path) -> Iterator[Path]:
    """A hidden staging folder inside ``out``, removed on exit whatever happens."""
    remove_stale_staging(out, ".staging-*")
    staging = out / f".staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def publish_partitions(staging: Path, out: Path) -> list[Path]:
    """Rename every partition folder of ``staging`` into the same place under ``out``.

    All targets are checked first; if a rename fails, those already moved are moved back.
    """
    moves = [
        (p, out / p.relative_to(staging)) for p in sorted(staging.glob("*/*/extraction_date=*"))
    ]
    clash = [str(target) for _, target in moves if target.exists()]
    if clash:
        raise OutputError(f"partition already exists: {clash[0]}")
    done: list[tuple[Path, Path]] = []
    try:
        for source, target in moves:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(source, target)
            done.append((source, target))
    except BaseException:
        for source, target in reversed(done):
            with contextlib.suppress(OSError):
                os.rename(target, source)
        raise
    return [target for _, target in done]


class TruthWriter:
    """Streams ``person_truth.parquet`` to a temporary file; :meth:`commit` renames it into place.

    With ``append``, the rows of the existing file come first (next-day runs add records).
    """

    def __init__(self, truth_dir: Path, schema: pa.Schema, *, append: bool) -> None:
        truth_dir.mkdir(parents=True, exist_ok=True)
        self.path = truth_dir / TRUTH_FILE
        self.tmp = truth_dir / f".{TRUTH_FILE}.tmp-{os.getpid()}"
        self.schema = schema
        self.rows = 0  # rows added by this run
        self._writer = pq.ParquetWriter(self.tmp, schema, **PARQUET_OPTIONS)
        if append and self.path.exists():
            for batch in pq.ParquetFile(self.path).iter_batches(batch_size=1 << 20):
                self._writer.write_table(
                    pa.Table.from_batches([batch]).cast(schema), row_group_size=1 << 20
                )

    def write(self, table: pa.Table) -> None:
        """Append truth rows."""
        if table.num_rows:
            self._writer.write_table(table, row_group_size=1 << 20)
            self.rows += table.num_rows

    def commit(self) -> None:
        """Finish the file and put it in place."""
        self._writer.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        """Drop the temporary file."""
        with contextlib.suppress(Exception):
            self._writer.close()
        self.tmp.unlink(missing_ok=True)
