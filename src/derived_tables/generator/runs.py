"""The two kinds of run behind ``derived generate``: the backfill and the next-day extract."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from derived_tables.generator import engine, noise
from derived_tables.generator.manifest import Manifest, read_manifest, write_manifest_atomically
from derived_tables.generator.output import (
    OutputError,
    TruthWriter,
    check_writable,
    has_data,
    publish_partitions,
    staged_backfill,
    staged_partitions,
)
from derived_tables.generator.reference import load_reference
from derived_tables.generator.schema import TRUTH_SCHEMA, TableSpec
from derived_tables.generator.writer import PartitionWriter, TableHook, no_faults

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Summary:
    """What a run wrote."""

    extraction_date: dt.date
    rows: dict[str, int]
    truth_rows: int
    data_dir: Path


def backfill(
    *,
    seeds_dir: Path,
    data_dir: Path,
    truth_dir: Path,
    seed: int,
    scale: float,
    as_of: dt.date,
    force: bool = False,
    hook: TableHook = no_faults,
    progress: Progress | None = None,
    noise_profile: str = "default",
) -> Summary:
    """Write the whole history up to ``as_of`` as one partition dated ``as_of``, with the
    person records' errors of ``noise_profile`` (see :mod:`noise`)."""
    check_writable(data_dir)
    check_writable(truth_dir)
    if not force:
        if has_data(data_dir):
            raise OutputError(f"{data_dir} already holds curated data; use --force to replace it")
        if data_dir.is_dir() and any(data_dir.iterdir()):
            raise OutputError(f"{data_dir} is not empty; use --force to replace it")
    ref = load_reference(seeds_dir)
    window = engine.Window.backfill(as_of)
    truth = TruthWriter(truth_dir, TRUTH_SCHEMA, append=False)
    try:
        with staged_backfill(data_dir, replace=force) as staging:
            writer = PartitionWriter(staging, as_of, _with_noise(hook, noise_profile, seed))
            try:
                rows = engine.run(ref, seed, scale, window, writer, truth.write, progress)
            except BaseException:
                writer.abort()
                raise
            manifest = Manifest(
                seed=seed, scale=scale, as_of=as_of, extraction_dates=[], noise=noise_profile
            )
            manifest.add_partition(as_of, rows, truth.rows)
            write_manifest_atomically(staging, manifest)
        truth.commit()
    except BaseException:
        truth.abort()
        raise
    return Summary(as_of, rows, truth.rows, data_dir)


def next_day(
    *,
    seeds_dir: Path,
    data_dir: Path,
    truth_dir: Path,
    hook: TableHook = no_faults,
    progress: Progress | None = None,
) -> Summary:
    """Append the partition of the day after the last extraction date."""
    manifest = read_manifest(data_dir)
    check_writable(data_dir)
    check_writable(truth_dir)
    ref = load_reference(seeds_dir)
    window = engine.Window.next_day(manifest.last_extraction_date)
    if window.extraction_date.year > engine.cal.LAST_YEAR:
        raise OutputError(f"the generator's world ends in {engine.cal.LAST_YEAR}")
    truth = TruthWriter(truth_dir, TRUTH_SCHEMA, append=True)
    try:
        with staged_partitions(data_dir) as staging:
            writer = PartitionWriter(
                staging,
                window.extraction_date,
                _with_noise(hook, manifest.noise, manifest.seed),
            )
            try:
                rows = engine.run(
                    ref, manifest.seed, manifest.scale, window, writer, truth.write, progress
                )
            except BaseException:
                writer.abort()
                raise
            new_truth = truth.rows
            published = publish_partitions(staging, data_dir)
            try:
                manifest.add_partition(
                    window.extraction_date, {k: v for k, v in rows.items() if v}, new_truth
                )
                write_manifest_atomically(data_dir, manifest)
            except BaseException:
                for path in published:
                    _remove_tree(path)
                raise
        truth.commit()
    except BaseException:
        truth.abort()
        raise
    return Summary(window.extraction_date, rows, new_truth, data_dir)


def _with_noise(hook: TableHook, profile: str, seed: int) -> TableHook:
    """``hook`` after the noise of ``profile`` (just ``hook`` for the default profile)."""
    add_noise = noise.hook(profile, seed)
    if add_noise is None:
        return hook

    def noisy(spec: TableSpec, table: pa.Table) -> pa.Table:
        return hook(spec, add_noise(spec, table))

    return noisy


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
