"""Pieces shared by the per-system table builders."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import pyarrow as pa

from derived_tables.generator import calendar as cal
from derived_tables.generator import ids
from derived_tables.generator.frame import Column, Events, Frame, format_col, lookup_col
from derived_tables.generator.identity import RecordIdentity
from derived_tables.generator.names import given_names, names
from derived_tables.generator.reference import Reference

TRUTH = "_truth"
SECONDS = cal.SECONDS_PER_DAY


class ArrayRecord:
    """Dataclass mixin for parallel arrays: every field holds one entry per row (a NumPy array,
    or a nested record of the same rows), so rows can be selected and concatenated by name."""

    def take(self, index: np.ndarray) -> Self:
        """The rows at ``index``, in that order."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            values[f.name] = value.take(index) if isinstance(value, ArrayRecord) else value[index]
        return type(self)(**values)

    @classmethod
    def concatenate(cls, parts: list[Self]) -> Self:
        """The rows of ``parts`` one after the other."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            first = getattr(parts[0], f.name)
            pieces = [getattr(p, f.name) for p in parts]
            values[f.name] = (
                type(first).concatenate(pieces)
                if isinstance(first, ArrayRecord)
                else np.concatenate(pieces)
            )
        return cls(**values)


@dataclass
class IdAllocator:
    """Numbers entities of each kind ``0, 1, 2...`` in generation order (deterministic)."""

    counters: dict[str, int] = field(default_factory=dict)

    def take(self, kind: str, n: int) -> np.ndarray:
        """The next ``n`` numbers of ``kind``."""
        start = self.counters.get(kind, 0)
        self.counters[kind] = start + int(n)
        return np.arange(start, start + int(n), dtype=np.int64)


@dataclass(frozen=True)
class SourceRecords:
    """The records a source system keeps of people (defendants, prison numbers, CRNs, donors).

    The system's entities (cases, bookings, events, applications), sorted by person, each
    open a new record or join the one before; a record is delivered (kept, and numbered in
    generation order) when any of its entities is.
    """

    opens_record: np.ndarray  # per entity: it opened a new record
    record_of_entity: np.ndarray  # per entity: index of its record
    first_entity: np.ndarray  # per record: the entity that opened it
    person: np.ndarray  # per record: the person (index into the chunk's people)
    is_kept: np.ndarray  # per record: delivered
    number: np.ndarray  # per record: its number (kind of the allocator), -1 unless kept

    @classmethod
    def numbered(
        cls,
        opens_record: np.ndarray,
        person_of_entity: np.ndarray,
        entity_is_kept: np.ndarray,
        alloc: IdAllocator,
        kind: str,
    ) -> SourceRecords:
        """The records that ``opens_record`` makes, numbered with ``alloc``'s ``kind``."""
        record = np.cumsum(opens_record) - 1
        n_records = int(opens_record.sum())
        is_kept = np.zeros(n_records, dtype=bool)
        is_kept[record[entity_is_kept]] = True
        number = np.full(n_records, -1, dtype=np.int64)
        number[is_kept] = alloc.take(kind, int(is_kept.sum()))
        return cls(
            opens_record=opens_record,
            record_of_entity=record,
            first_entity=np.flatnonzero(opens_record),
            person=person_of_entity[opens_record],
            is_kept=is_kept,
            number=number,
        )

    @property
    def kept(self) -> np.ndarray:
        """Indexes of the records delivered."""
        return np.flatnonzero(self.is_kept)

    def later_entities(self) -> np.ndarray:
        """Entities that joined a delivered record opened before them."""
        return np.flatnonzero(~self.opens_record & self.is_kept[self.record_of_entity])


def at(day: np.ndarray, seconds_of_day: np.ndarray | int) -> np.ndarray:
    """Timestamps (seconds) from day numbers and seconds after midnight."""
    return np.asarray(day, dtype=np.int64) * SECONDS + np.asarray(seconds_of_day, dtype=np.int64)


def arrival_of_event(
    rng: np.random.Generator, day: np.ndarray, late_share: float = 0.01
) -> np.ndarray:
    """When an event dated ``day`` reaches the source: the evening of that day, or 1-30 days
    later for a small share of late-arriving rows."""
    day = np.asarray(day, dtype=np.int64)
    late = rng.random(day.size) < late_share
    delay = np.where(late, rng.integers(1, 31, day.size), 0)
    return at(day + delay, 20 * 3600)


def codes(values: tuple[str, ...] | list[str]) -> pa.Array:
    """An Arrow array of codes, to use with :func:`lookup_col`."""
    return pa.array(list(values), pa.string())


def first_name_col(
    idx: np.ndarray, null: np.ndarray | None = None, *, upper: bool = False
) -> Column:
    """Given names from their variant index."""
    return lookup_col(idx, given_names().variants, null, upper=upper)


def last_name_col(
    idx: np.ndarray, null: np.ndarray | None = None, *, upper: bool = False
) -> Column:
    """Surnames from their variant index."""
    return lookup_col(idx, names().surnames.variants, null, upper=upper)


def postcode_col(ref: Reference, code: np.ndarray, null: np.ndarray | None = None) -> Column:
    """Postcodes from their integer encoding."""
    return format_col(code, lambda v: ids.postcodes(ref.area_codes, v), null)


def pnc_col(code: np.ndarray, null: np.ndarray | None = None) -> Column:
    """PNC ids from ``year * 10**7 + serial``."""
    return format_col(code, lambda v: ids.pnc_ids(v // 10_000_000, v % 10_000_000), null)


ColumnMaker = Callable[..., Column]


def id_col(prefix: str, width: int, salt: int) -> ColumnMaker:
    """A column maker for identifiers ``prefix`` + ``width`` scrambled digits."""

    def make(values: np.ndarray, null: np.ndarray | None = None) -> Column:
        return format_col(values, lambda v: ids.prefixed_digits(prefix, v, width, salt), null)

    return make


PERSON_ID = id_col("P", 10, 0)


def truth_events(
    person_number: np.ndarray, system: str, record: Column, arrival: np.ndarray
) -> Events:
    """Truth rows ``(person_id, system, record_id)`` arriving with the record."""
    n = person_number.size
    frame = Frame(
        person_id=PERSON_ID(person_number),
        system=lookup_col(np.zeros(n, dtype=np.int64), codes([system])),
        record_id=record,
    )
    return Events(frame, np.asarray(arrival, dtype=np.int64))


def group_first(group: np.ndarray) -> np.ndarray:
    """For values sorted by ``group``: True at the first row of each group."""
    first = np.ones(group.size, dtype=bool)
    first[1:] = group[1:] != group[:-1]
    return first


def identity_columns(identity: RecordIdentity, index: np.ndarray) -> dict[str, Any]:
    """The person columns of records ``index`` as a source first writes them, for
    :meth:`~derived_tables.generator.frame.ChangeLog.add`: PNC id (null where missing),
    names, date of birth and gender code."""
    return {
        "pnc_id": (
            identity.pnc_year[index] * 10_000_000 + identity.pnc_serial[index],
            identity.pnc_missing[index],
        ),
        "first_name": identity.first_name[index],
        "last_name": identity.last_name[index],
        "date_of_birth": identity.date_of_birth[index],
        "gender_code": identity.gender[index],
    }


def rng_for(seed: int, *parts: int) -> np.random.Generator:
    """A generator seeded from the user's seed and a path of integers (table, year, chunk)."""
    return np.random.default_rng([int(seed), *[int(p) for p in parts]])
