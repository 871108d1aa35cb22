"""Writing curated partitions: fixed Parquet settings, fixed row groups, one hook before writing.

Every table of a run goes through :class:`PartitionWriter`, which appends batches of rows to
``<root>/<system>/<table>/extraction_date=<date>/part-<n>.parquet`` under a staging folder. The
row groups have a fixed size and the files a fixed maximum size, so the same rows always give
the same bytes. The caller moves the finished partitions into place (see :mod:`output`).

Each batch passes through one :data:`TableHook` before it is written: the identity by default,
and the place where ``--fault`` injects named faults (duplicates, orphan keys, null keys,
malformed dates...; see :mod:`faults`) without touching the generator. A hook other than the
default also sees one last, empty batch of every table before its partition is finished, so a
fault can add rows to a table that had none in the extract; the hook may change the schema (a
dropped, retyped or added column), and the files are then written with the hook's schema.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from derived_tables.generator.calendar import to_seconds
from derived_tables.generator.frame import Frame
from derived_tables.generator.schema import TableSpec

ROW_GROUP_SIZE = 131_072
ROWS_PER_FILE = 16 * ROW_GROUP_SIZE
PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 1,
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
}
EXTRACTION_HOUR = 5
MAX_PENDING = 4  # batches queued for the writer thread before the generator waits

TableHook = Callable[[TableSpec, pa.Table], pa.Table]


def no_faults(spec: TableSpec, table: pa.Table) -> pa.Table:
    """The default hook: rows are written as generated."""
    del spec
    return table


def partition_dir(root: Path, spec: TableSpec, extraction_date: dt.date) -> Path:
    """``<root>/<system>/<table>/extraction_date=YYYY-MM-DD``."""
    return root / spec.system / spec.name / f"extraction_date={extraction_date.isoformat()}"


def extracted_at(extraction_date: dt.date) -> int:
    """``_extracted_at`` of a partition, in seconds: 05:00 UTC on the extraction date."""
    return to_seconds(extraction_date) + EXTRACTION_HOUR * 3600


def to_arrow(spec: TableSpec, frame: Frame, extraction_date: dt.date) -> pa.Table:
    """The rows of ``frame`` as a table of exactly the contract schema."""
    schema = spec.arrow_schema
    n = frame.n_rows
    arrays: list[pa.Array] = []
    stamp = pa.array(
        np.full(n, extracted_at(extraction_date) * 1_000_000, dtype=np.int64), pa.timestamp("us")
    )
    for f in schema:
        if f.name == "_extracted_at":
            arrays.append(stamp)
            continue
        if f.name not in frame:
            raise KeyError(f"{spec.qualified_name}: the generator did not produce column {f.name}")
        arr = frame[f.name].to_arrow()
        if arr.type != f.type:
            raise TypeError(
                f"{spec.qualified_name}.{f.name}: generated {arr.type}, contract says {f.type}"
            )
        arrays.append(arr)
    extra = set(frame) - set(schema.names)
    if extra:
        raise KeyError(f"{spec.qualified_name}: columns not in the contract: {sorted(extra)}")
    return pa.Table.from_arrays(arrays, schema=schema)


def dictionary_columns(spec: TableSpec) -> list[str]:
    """Low-cardinality text columns (codes, names) worth dictionary encoding; identifiers and
    postcodes are nearly unique and are not."""
    return [
        name
        for name, dtype in spec.columns
        if pa.types.is_string(dtype)
        and (name.endswith(("_code", "_name")) or name == "length_unit")
    ]


@dataclass
class _TableState:
    spec: TableSpec
    buffer: list[pa.Table] = field(default_factory=list)
    buffered: int = 0
    writer: pq.ParquetWriter | None = None
    file_rows: int = 0
    part: int = 0
    rows: int = 0


class PartitionWriter:
    """Writes the partition of one extraction date for every table of a run.

    Batches are formatted, passed through the hook and written by one background thread, in
    the order they were given (so the bytes do not depend on timing), while the caller goes on
    simulating: on two cores, generation and Parquet encoding overlap.
    """

    def __init__(self, root: Path, extraction_date: dt.date, hook: TableHook = no_faults) -> None:
        self.root = root
        self.extraction_date = extraction_date
        self.hook = hook
        self._tables: dict[str, _TableState] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-writer")
        self._pending: deque[Future[None]] = deque()

    def write(self, spec: TableSpec, frame: Frame) -> None:
        """Queue rows for the table's partition."""
        state = self._tables.setdefault(spec.qualified_name, _TableState(spec))
        if frame.n_rows == 0:
            return
        self._submit(self._append, state, frame)

    def _submit(self, fn: Callable[..., None], *args: object) -> None:
        while len(self._pending) >= MAX_PENDING:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(fn, *args))

    def _drain(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    def _append(self, state: _TableState, frame: Frame) -> None:
        table = self.hook(state.spec, to_arrow(state.spec, frame, self.extraction_date))
        state.buffer.append(table)
        state.buffered += table.num_rows
        while state.buffered >= ROW_GROUP_SIZE:
            self._flush(state, ROW_GROUP_SIZE)

    def _open(self, state: _TableState, schema: pa.Schema | None = None) -> pq.ParquetWriter:
        """A new part file with ``schema``: the contract's, unless the hook changed it (a
        schema-drift fault drops, retypes or adds a column)."""
        folder = partition_dir(self.root, state.spec, self.extraction_date)
        folder.mkdir(parents=True, exist_ok=True)
        return pq.ParquetWriter(
            folder / f"part-{state.part}.parquet",
            schema or state.spec.arrow_schema,
            use_dictionary=dictionary_columns(state.spec),
            **PARQUET_OPTIONS,
        )

    def _flush(self, state: _TableState, n: int) -> None:
        data = pa.concat_tables(state.buffer)
        head, rest = data.slice(0, n), data.slice(n)
        state.buffer = [rest] if rest.num_rows else []
        state.buffered = rest.num_rows
        if state.writer is None:
            state.writer = self._open(state, head.schema)
        state.writer.write_table(head.combine_chunks(), row_group_size=ROW_GROUP_SIZE)
        state.file_rows += head.num_rows
        state.rows += head.num_rows
        if state.file_rows >= ROWS_PER_FILE:
            state.writer.close()
            state.writer = None
            state.file_rows = 0
            state.part += 1

    def _finish(self, state: _TableState, write_empty: bool) -> None:
        if self.hook is not no_faults:
            # One last, empty batch: a fault may add rows to a table without rows this time.
            extra = self.hook(state.spec, state.spec.arrow_schema.empty_table())
            if extra.num_rows:
                state.buffer.append(extra)
                state.buffered += extra.num_rows
                while state.buffered >= ROW_GROUP_SIZE:
                    self._flush(state, ROW_GROUP_SIZE)
        if state.buffered:
            self._flush(state, state.buffered)
        if state.writer is not None:
            state.writer.close()
            state.writer = None
        if state.rows == 0 and write_empty:
            writer = self._open(state)
            writer.write_table(state.spec.arrow_schema.empty_table())
            writer.close()

    def close(self, *, write_empty: bool) -> dict[str, int]:
        """Finish every file; with ``write_empty``, tables without rows get an empty file.

        Returns the rows written per table (``<system>.<table>``).
        """
        try:
            for state in self._tables.values():
                self._submit(self._finish, state, write_empty)
            self._drain()
        finally:
            self._pool.shutdown(wait=True)
        return {name: state.rows for name, state in self._tables.items()}

    def abort(self) -> None:
        """Stop writing and close open files (the caller removes the staging folder)."""
        for future in self._pending:
            future.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()
        for state in self._tables.values():
            if state.writer is not None:
                with contextlib.suppress(Exception):  # best effort while failing anyway
                    state.writer.close()
                state.writer = None
