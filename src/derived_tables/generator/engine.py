"""Runs the simulation chunk by chunk and writes what one extract delivers.

The simulated *world* depends only on the seed and the scale: every chunk of people (a cohort
year and a chunk number) has its own random generators, and identifiers are numbered in chunk
order. An extract is a time window ``[lo, hi)``: the backfill delivers everything that reached
the source systems before its extraction date, a next-day extract what arrived on the day before
its date. Replaying the same world for each extract is what makes the data consistent across
partitions: a next-day partition refers only to entities already delivered or delivered with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa

from derived_tables.generator import calendar as cal
from derived_tables.generator import courts, opg, people, prisons, probation
from derived_tables.generator.common import TRUTH, IdAllocator, rng_for
from derived_tables.generator.frame import Events, Frame, Versions
from derived_tables.generator.reference import Reference
from derived_tables.generator.schema import TABLES, TRUTH_SCHEMA, TableSpec, spec

STREAM_OFFENDERS = 1
STREAM_DONORS = 2
STREAM_ESTABLISHMENTS = 3
SUB_PEOPLE, SUB_COURTS, SUB_PRISONS, SUB_PROBATION = range(4)
FIRST_YEAR = cal.WORLD_START.year
NO_LOWER_BOUND = np.iinfo(np.int64).min


class Sink(Protocol):
    """Where the rows of a run go (:class:`~derived_tables.generator.writer.PartitionWriter`)."""

    def write(self, spec: TableSpec, frame: Frame) -> None:
        """Take rows of a table."""

    def close(self, *, write_empty: bool) -> dict[str, int]:
        """Finish; rows written per table."""


@dataclass(frozen=True)
class Window:
    """One extract: rows that arrived in ``[lo, hi)`` (seconds), dated ``extraction_date``."""

    extraction_date: dt.date
    lo: int
    hi: int

    @classmethod
    def backfill(cls, as_of: dt.date) -> Window:
        """Everything that happened before the extraction date."""
        return cls(as_of, int(NO_LOWER_BOUND), cal.to_seconds(as_of))

    @classmethod
    def next_day(cls, previous: dt.date) -> Window:
        """The extract dated the day after ``previous``: what arrived on day ``previous``."""
        date = previous + dt.timedelta(days=1)
        return cls(date, cal.to_seconds(previous), cal.to_seconds(date))

    @property
    def last_year(self) -> int:
        """The last cohort year that can have rows in this window."""
        return (self.extraction_date - dt.timedelta(days=1)).year


@dataclass(frozen=True)
class Chunk:
    """One unit of simulation: a cohort year, a population and a chunk number."""

    stream: int
    year: int
    index: int
    size: int


def chunks(scale: float, last_year: int) -> list[Chunk]:
    """Every chunk of the world up to ``last_year``, in generation order."""
    out: list[Chunk] = []
    for year in range(FIRST_YEAR, last_year + 1):
        for i, n in enumerate(
            people.chunk_sizes(people.offenders_in_year(year, scale), people.CHUNK_PEOPLE)
        ):
            out.append(Chunk(STREAM_OFFENDERS, year, i, n))
        for i, n in enumerate(
            people.chunk_sizes(opg.donors_in_year(year, scale), opg.CHUNK_DONORS)
        ):
            out.append(Chunk(STREAM_DONORS, year, i, n))
    return out


def _chunk_tables(
    ref: Reference, seed: int, chunk: Chunk, alloc: IdAllocator
) -> dict[str, Events | Versions]:
    """The world tables of one chunk (truth rows under ``_truth:<system>`` keys)."""
    numbers = alloc.take("person", chunk.size)
    if chunk.stream == STREAM_DONORS:
        rng = rng_for(seed, STREAM_DONORS, chunk.year, chunk.index)
        return opg.build(ref, rng, alloc, chunk.year, chunk.size, numbers)
    key = (seed, STREAM_OFFENDERS, chunk.year, chunk.index)
    journeys = people.simulate(ref, rng_for(*key, SUB_PEOPLE), chunk.year, chunk.size)
    tables: dict[str, Events | Versions] = {}
    if journeys is None:
        return tables
    court_tables = courts.build(ref, journeys, rng_for(*key, SUB_COURTS), alloc, numbers)
    prison_tables, release_est = prisons.build(
        ref, journeys, rng_for(*key, SUB_PRISONS), alloc, numbers
    )
    probation_tables = probation.build(
        ref, journeys, rng_for(*key, SUB_PROBATION), alloc, numbers, release_est
    )
    for system, part in (
        ("courts", court_tables),
        ("prisons", prison_tables),
        ("probation", probation_tables),
    ):
        part[f"{TRUTH}:{system}"] = part.pop(TRUTH)
        tables.update(part)
    return tables


def run(
    ref: Reference,
    seed: int,
    scale: float,
    window: Window,
    writer: Sink,
    truth: Callable[[pa.Table], None],
    on_chunk: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Simulate the world and write what ``window`` delivers; returns rows per table.

    Truth rows of the window go to ``truth``; ``on_chunk(done, total)`` reports progress.
    """
    work = chunks(scale, window.last_year)
    total = len(work) + 1
    establishments = prisons.build_establishments(ref, rng_for(seed, STREAM_ESTABLISHMENTS), scale)
    writer.write(spec("nomis.establishments"), establishments.window(window.lo, window.hi))
    if on_chunk:
        on_chunk(1, total)
    alloc = IdAllocator()
    for done, chunk in enumerate(work, start=2):
        for name, table in _chunk_tables(ref, seed, chunk, alloc).items():
            frame = table.window(window.lo, window.hi)
            if name.startswith(TRUTH):
                if frame.n_rows:
                    truth(_truth_table(frame))
            else:
                writer.write(spec(name), frame)
        if on_chunk:
            on_chunk(done, total)
    for table_spec in TABLES:  # every table is accounted for, even without rows
        writer.write(table_spec, Frame())
    return writer.close(write_empty=window.lo == NO_LOWER_BOUND)


def _truth_table(frame: Frame) -> pa.Table:
    return pa.Table.from_arrays(
        [frame[f.name].to_arrow() for f in TRUTH_SCHEMA], schema=TRUTH_SCHEMA
    )
