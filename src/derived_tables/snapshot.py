"""The curated partitions a build reads: listed once when it starts, checked, then pinned.

A daily feed lands partitions while builds run, so `derived build` never lets dbt glob the live
curated folder. Under the build lock, before dbt starts, it:

1. **lists** every partition ``<root>/<system>/<table>/extraction_date=YYYY-MM-DD/`` and its
   ``*.parquet`` files. Files and folders whose names start with ``.`` or ``_`` are never data
   (in-progress writes such as ``.extraction_date=...inprogress/``, macOS ``._part-0.parquet``,
   Spark's ``_SUCCESS``/``_temporary``, the generator's ``_manifest.json``);
2. **refuses** a partition folder that is not ``extraction_date=<ISO date>`` and any partition
   dated after the build's *as-of* date (``--as-of``, else ``DERIVED_AS_OF``, else the
   machine's UTC date), naming the table, the partition and both dates; nothing is built;
3. **pins** the listed files: hard links (symbolic links where the warehouse is on another
   file system) in a tree of the same shape in the private folder,
   ``warehouse/private/curated/``, replaced at the start of each build. dbt reads that tree
   (``DERIVED_DATA_DIR``), so a partition or file that lands meanwhile waits for the next
   build, and a file replaced in place keeps its old content for this one (hard links). The
   private staging views keep reading it after the build, so they show what was built.

dbt gets the as-of date as ``DERIVED_AS_OF``; the mart ``fct_source_extractions`` records, in
the published warehouse, which extraction dates of which table the build read.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click

AS_OF_ENV = "DERIVED_AS_OF"
DATA_DIR_ENV = "DERIVED_DATA_DIR"
PARTITION_PATTERN = re.compile(r"^extraction_date=(\d{4}-\d{2}-\d{2})$")
EXIT_INPUT_REFUSED = 65  # EX_DATAERR: the curated input is not what a build may read


class InputRefused(click.ClickException):
    exit_code = EXIT_INPUT_REFUSED


def is_hidden(name: str) -> bool:
    """Names that are never data: ``.hidden``, ``_underscored`` (temporary, metadata)."""
    return name.startswith((".", "_"))


@dataclass(frozen=True)
class Partition:
    system: str
    table: str
    extraction_date: dt.date
    files: tuple[Path, ...]

    @property
    def folder_name(self) -> str:
        return f"extraction_date={self.extraction_date.isoformat()}"

    @property
    def label(self) -> str:
        return f"{self.system}.{self.table}/{self.folder_name}"


def _visible_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not is_hidden(p.name))


def list_partitions(root: Path) -> list[Partition]:
    """Every complete, visible partition under the curated root, in a stable order."""
    partitions = []
    for system in _visible_dirs(root):
        for table in _visible_dirs(system):
            for folder in _visible_dirs(table):
                where = f"curated table {system.name}.{table.name}, partition {folder}"
                found = PARTITION_PATTERN.match(folder.name)
                if not found:
                    raise InputRefused(
                        f"{where}: the folder name is not extraction_date=YYYY-MM-DD; "
                        "rename it, or prefix it with '.' or '_' if it is not data"
                    )
                try:
                    date = dt.date.fromisoformat(found.group(1))
                except ValueError:
                    raise InputRefused(
                        f"{where}: {found.group(1)} is not a calendar date; rename the folder"
                    ) from None
                files = tuple(
                    sorted(
                        f
                        for f in folder.iterdir()
                        if f.is_file() and f.suffix == ".parquet" and not is_hidden(f.name)
                    )
                )
                if files:
                    partitions.append(Partition(system.name, table.name, date, files))
    return partitions


def resolve_as_of(option: dt.date | None) -> tuple[dt.date, str]:
    """The build's as-of date and where it came from."""
    if option is not None:
        return option, "--as-of"
    raw = os.environ.get(AS_OF_ENV)
    if raw:
        try:
            return dt.date.fromisoformat(raw), AS_OF_ENV
        except ValueError:
            raise click.UsageError(f"{AS_OF_ENV}={raw!r} is not an ISO date (YYYY-MM-DD)") from None
    return dt.datetime.now(dt.UTC).date(), "the machine's UTC date"


def refuse_future_partitions(partitions: Sequence[Partition], as_of: dt.date) -> None:
    """Fail, naming the first one, when any partition is dated after the as-of date."""
    future = [p for p in partitions if p.extraction_date > as_of]
    if future:
        first = min(future, key=lambda p: (p.extraction_date, p.label))
        more = f" (and {len(future) - 1} more)" if len(future) > 1 else ""
        raise InputRefused(
            f"future-dated partition {first.label}{more}: its date {first.extraction_date} is "
            f"after the build's as-of date {as_of}; nothing was built. Remove or re-date it "
            "upstream (a wrong clock?), or pass the right --as-of"
        )


def pin(partitions: Sequence[Partition], destination: Path) -> str:
    """Link every file of `partitions` into `destination` (same tree shape); the method used."""
    method = "hard links"
    for partition in partitions:
        folder = destination / partition.system / partition.table / partition.folder_name
        folder.mkdir(parents=True, exist_ok=True)
        for source in partition.files:
            target = folder / source.name
            if method == "hard links":
                try:
                    os.link(source, target)
                    continue
                except OSError as error:
                    if error.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                        raise
                    method = "symbolic links"
            target.symlink_to(source.resolve())
    return method
