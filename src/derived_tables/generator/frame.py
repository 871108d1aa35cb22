"""Column-oriented row sets that stay NumPy until the rows to write are known.

The generator simulates a whole world (history and future) but writes only the rows an extract
delivers, so every column is kept as a NumPy array plus a function that turns the selected
values into the Arrow array of the contract type (identifiers and names are formatted only for
the rows written). This module also holds the two kinds of curated tables:

- :class:`Events` (append-only): rows with an *arrival* time, the moment they reach the source
  system (later than the business date for late-arriving rows);
- :class:`Versions` (versioned): built from a log of changes per entity by
  :class:`ChangeLog`, one version per effective change, with ``valid_from``/``valid_to``.

:func:`extract_window` picks what one extract delivers from either kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NULL_TIME = np.iinfo(np.int64).max
Formatter = Callable[[np.ndarray], pa.Array]


def _date(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(np.int32), pa.date32())


def _int(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(np.int32), pa.int32())


def _bool(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(bool), pa.bool_())


def _timestamp(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(np.int64) * 1_000_000, pa.timestamp("us"))


def _money(values: np.ndarray) -> pa.Array:
    # DECIMAL(12,2) holds the unscaled value (pence) as a 128-bit little-endian integer.
    pence = values.astype(np.int64) * 100
    words = np.empty((pence.size, 2), dtype=np.int64)
    words[:, 0] = pence
    words[:, 1] = np.where(pence < 0, -1, 0)
    return pa.Array.from_buffers(
        pa.decimal128(12, 2), pence.size, [None, pa.py_buffer(words.tobytes())]
    )


@dataclass(frozen=True)
class Column:
    """Values (NumPy) + formatter to Arrow + optional null mask (True = null)."""

    values: np.ndarray
    formatter: Formatter
    null: np.ndarray | None = None

    def take(self, idx: np.ndarray) -> Column:
        """The column restricted to rows ``idx``."""
        return Column(
            self.values[idx], self.formatter, None if self.null is None else self.null[idx]
        )

    def to_arrow(self) -> pa.Array:
        """The Arrow array, nulls applied."""
        if self.null is None or not self.null.any():
            return self.formatter(self.values)
        values = self.values.copy()
        if values.size:
            # formatters need a valid value everywhere: borrow the first non-null one
            fill = values[~self.null][0] if (~self.null).any() else values[0]
            values[self.null] = fill
        arr = self.formatter(values)
        return pc.if_else(pa.array(~self.null), arr, pa.nulls(len(arr), arr.type))


def date_col(days: np.ndarray, null: np.ndarray | None = None) -> Column:
    """A DATE column from day numbers."""
    return Column(np.asarray(days, dtype=np.int64), _date, null)


def int_col(values: np.ndarray, null: np.ndarray | None = None) -> Column:
    """An INTEGER column."""
    return Column(np.asarray(values, dtype=np.int64), _int, null)


def bool_col(values: np.ndarray) -> Column:
    """A BOOLEAN column."""
    return Column(np.asarray(values, dtype=bool), _bool)


def timestamp_col(seconds: np.ndarray, null: np.ndarray | None = None) -> Column:
    """A TIMESTAMP column from seconds since the epoch."""
    return Column(np.asarray(seconds, dtype=np.int64), _timestamp, null)


def money_col(pounds: np.ndarray, null: np.ndarray | None = None) -> Column:
    """A DECIMAL(12,2) column from whole pounds."""
    return Column(np.asarray(pounds, dtype=np.int64), _money, null)


def lookup_col(
    idx: np.ndarray, table: pa.Array, null: np.ndarray | None = None, *, upper: bool = False
) -> Column:
    """A VARCHAR column whose values index ``table`` (codes, names...)."""

    def fmt(values: np.ndarray) -> pa.Array:
        out = table.take(pa.array(values, pa.int64()))
        return pc.utf8_upper(out) if upper else out

    return Column(np.asarray(idx, dtype=np.int64), fmt, null)


def lookup(table: pa.Array) -> Callable[[np.ndarray, np.ndarray | None], Column]:
    """A :class:`ChangeLog` column maker: the column whose values index ``table`` (codes,
    names...), as :func:`lookup_col`."""
    return lambda idx, null: lookup_col(idx, table, null)


def format_col(values: np.ndarray, formatter: Formatter, null: np.ndarray | None = None) -> Column:
    """A VARCHAR column formatted from integers (identifiers, postcodes...)."""
    return Column(np.asarray(values, dtype=np.int64), formatter, null)


class Frame(dict[str, Column]):
    """Named columns of equal length, in contract order."""

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return next(iter(self.values())).values.size if self else 0

    def take(self, idx: np.ndarray) -> Frame:
        """The rows ``idx``."""
        return Frame({name: col.take(idx) for name, col in self.items()})


@dataclass
class Events:
    """An append-only table: business columns and the arrival time of each row."""

    frame: Frame
    arrival: np.ndarray  # seconds

    def window(self, lo: int, hi: int) -> Frame:
        """Rows arriving in ``[lo, hi)``."""
        idx = np.flatnonzero((self.arrival >= lo) & (self.arrival < hi))
        return self.frame.take(idx)


@dataclass
class Versions:
    """A versioned table: one row per version, sorted by entity then ``valid_from``."""

    frame: Frame
    key: np.ndarray
    valid_from: np.ndarray  # seconds
    valid_to: np.ndarray  # seconds, NULL_TIME while current in the world
    deleted: np.ndarray

    def window(self, lo: int, hi: int) -> Frame:
        """What an extract covering ``[lo, hi)`` delivers (docs/curated-schema.md).

        New versions that start in the window, with ``_valid_to`` set only if they also ended
        in it; plus the earlier versions superseded in the window, re-delivered with their
        ``_valid_to``.
        """
        vf, vt = self.valid_from, self.valid_to
        new = (vf >= lo) & (vf < hi)
        superseded = (vf < lo) & (vt >= lo) & (vt < hi)
        idx = np.flatnonzero(new | superseded)
        frame = self.frame.take(idx)
        valid_to = vt[idx]
        open_ = valid_to >= hi
        frame["_valid_from"] = timestamp_col(vf[idx])
        frame["_valid_to"] = timestamp_col(np.where(open_, 0, valid_to), null=open_)
        frame["_is_current"] = bool_col(open_)
        frame["_is_deleted"] = bool_col(self.deleted[idx])
        return frame


@dataclass
class _Batch:
    key: np.ndarray
    time: np.ndarray
    attrs: dict[str, tuple[np.ndarray, np.ndarray | None]]


@dataclass
class ChangeLog:
    """Changes to entities, turned into versions by :meth:`build`.

    Each :meth:`add` records, for some entities, the time of a change and the new values of the
    attributes it sets (the first change of an entity must set every attribute). Versions are
    the states after each change; a change that leaves every attribute as it was makes no
    version. Simultaneous changes of one entity are one second apart, in the order added.
    """

    columns: dict[str, Callable[[np.ndarray, np.ndarray | None], Column]]
    _batches: list[_Batch] = field(default_factory=list)

    def add(
        self,
        key: np.ndarray,
        time: np.ndarray,
        deleted: bool | None = None,
        **attrs: np.ndarray | tuple[np.ndarray, np.ndarray | None] | int,
    ) -> None:
        """Record changes at ``time`` (seconds) of entities ``key``, setting ``attrs``.

        ``deleted=True`` soft-deletes the entities (later changes keep them deleted).
        """
        key = np.asarray(key, dtype=np.int64)
        n = key.size
        parsed: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        for name, value in attrs.items():
            if name not in self.columns:
                raise KeyError(f"unknown attribute {name}")
            values, null = value if isinstance(value, tuple) else (value, None)
            parsed[name] = (
                np.broadcast_to(np.asarray(values), (n,)),
                None if null is None else np.broadcast_to(null, (n,)),
            )
        if deleted is not None:
            parsed["_deleted"] = (np.full(n, deleted), None)
        self._batches.append(
            _Batch(key, np.broadcast_to(np.asarray(time, dtype=np.int64), (n,)), parsed)
        )

    def build(self) -> Versions:
        """The versions, sorted by entity and validity."""
        names = [*self.columns, "_deleted"]
        key = (
            np.concatenate([b.key for b in self._batches])
            if self._batches
            else np.zeros(0, np.int64)
        )
        time = (
            np.concatenate([b.time for b in self._batches])
            if self._batches
            else np.zeros(0, np.int64)
        )
        order = np.lexsort((np.arange(key.size), time, key))
        key, time = key[order], time[order]
        first = np.ones(key.size, dtype=bool)
        first[1:] = key[1:] != key[:-1]
        values: dict[str, np.ndarray] = {}
        nulls: dict[str, np.ndarray] = {}
        for name in names:
            vals, isset, nul = [], [], []
            for b in self._batches:
                n = b.key.size
                if name in b.attrs:
                    v, nl = b.attrs[name]
                    vals.append(np.asarray(v))
                    isset.append(np.ones(n, dtype=bool))
                    nul.append(
                        np.zeros(n, dtype=bool) if nl is None else np.asarray(nl, dtype=bool)
                    )
                else:
                    vals.append(np.zeros(n, dtype=np.int64))
                    isset.append(np.zeros(n, dtype=bool))
                    nul.append(np.zeros(n, dtype=bool))
            v = np.concatenate(vals)[order] if vals else np.zeros(0, np.int64)
            s = np.concatenate(isset)[order] if isset else np.zeros(0, bool)
            nl = np.concatenate(nul)[order] if nul else np.zeros(0, bool)
            if name == "_deleted":  # entities start not deleted
                v = np.where(s, v, 0)
                s = s | first
            if np.any(first & ~s):
                raise ValueError(f"the first change of an entity must set {name}")
            src = np.maximum.accumulate(np.where(s, np.arange(key.size), 0))
            values[name], nulls[name] = v[src], nl[src]
        # drop changes that change nothing
        changed = first.copy()
        for name in names:
            v, nl = values[name], nulls[name]
            diff = np.zeros(key.size, dtype=bool)
            diff[1:] = (nl[1:] != nl[:-1]) | (~nl[1:] & (v[1:] != v[:-1]))
            changed |= diff
        keep = np.flatnonzero(changed)
        key, time, first = key[keep], time[keep], first[keep]
        for name in names:
            values[name], nulls[name] = values[name][keep], nulls[name][keep]
        time = _strictly_increasing(key, time, first)
        valid_to = np.full(key.size, NULL_TIME, dtype=np.int64)
        same = np.flatnonzero(~first[1:])
        valid_to[same] = time[same + 1]
        frame = Frame()
        for name, make in self.columns.items():
            null = nulls[name] if nulls[name].any() else None
            frame[name] = make(values[name], null)
        return Versions(frame, key, time, valid_to, values["_deleted"].astype(bool))


def _strictly_increasing(key: np.ndarray, time: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Make times strictly increasing within each entity (ties one second apart)."""
    if key.size == 0:
        return time
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    rank = np.arange(key.size) - starts[group]
    shift = np.int64(20_000_000_000)  # times are within about +-1.6e10 seconds of the epoch
    span = np.int64(1 << 35)
    adj = time - rank + shift + group.astype(np.int64) * span
    return np.maximum.accumulate(adj) - group.astype(np.int64) * span - shift + rank
