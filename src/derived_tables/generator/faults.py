"""Named data faults for ``derived generate --fault NAME``: bad input on purpose.

A fault is injected into otherwise good data through the writer's one
:data:`~derived_tables.generator.writer.TableHook`: every batch of rows passes through a
:class:`FaultInjector` just before it is written. Each fault has one known table (and column),
touches a known small number of rows, and is deterministic: the same data and the same fault
always give the same bytes. Rows are picked at evenly spaced positions of the first batch of
the table that has eligible rows; for a versioned table the fault follows the picked entities
into every version (and every later batch), so an entity is never half faulty. In a next-day
run whose extract has no row of the fault's table, the fault re-delivers a few rows already
delivered (every version of a few entities, as source systems re-deliver) and faults those,
so that a fault can be injected into any extract at any scale.

What the dbt project does with each fault is documented in ``docs/data-quality.md`` ("Bad
input: what happens to each fault") and proved by ``tests/python/test_faults.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from derived_tables.generator.manifest import read_manifest, write_manifest_atomically
from derived_tables.generator.schema import TableSpec, spec
from derived_tables.generator.writer import extracted_at

Mode = Literal["backfill", "next-day"]
BOTH: tuple[Mode, ...] = ("backfill", "next-day")

#: Injected ids of orphan defendants: the format of a defendant id, never allocated by the
#: generator in practice (ids are random 9-digit numbers; these sit at the top of the range).
ORPHAN_DEFENDANT_IDS = ("CPD999999901", "CPD999999902", "CPD999999903")
#: Text that is not a date, delivered in a date column (impossible day, day-first, free text).
MALFORMED_DATES = ("2023-02-30", "31/12/2023", "unknown")
#: Control characters and the Unicode replacement character, as a broken encoding leaves them.
INVALID_CHARACTERS = ("\ufffd", "\x07", "\x1b")
FUTURE_DAYS = 180
LATE_DAYS = 21


class FaultError(ValueError):
    """An unknown fault, or a fault that cannot apply to this run."""


@dataclass
class FaultState:
    """What one run of a fault has done so far (written from the writer thread only)."""

    extraction_date: dt.date
    data_dir: Path | None = None  # the existing data (next-day runs)
    keys: list[str] = field(default_factory=list)
    chosen: set[str] = field(default_factory=set)
    rows: int = 0
    batches: int = 0
    redelivered: int = 0

    @property
    def started(self) -> bool:
        """True once some rows (entities) to fault have been picked."""
        return bool(self.chosen)


Apply = Callable[["Fault", FaultState, pa.Table], pa.Table]


@dataclass(frozen=True)
class Fault:
    """One named fault: where it goes, how many rows it touches and what it does."""

    name: str
    summary: str
    table: str
    column: str | None
    n_rows: int
    apply: Apply
    modes: tuple[Mode, ...] = BOTH
    redeliver: bool = True  # next day without rows of the table: fault re-delivered rows

    @property
    def spec(self) -> TableSpec:
        """The curated table the fault goes into."""
        return spec(self.table)

    @property
    def key(self) -> str:
        """The natural key of that table (the rows are reported by it)."""
        return self.spec.key


# ------------------------------------------------------------------------------------ helpers


def _positions(eligible: list[int], n: int) -> list[int]:
    """Up to ``n`` evenly spaced entries of ``eligible`` (deterministic, no randomness)."""
    if not eligible:
        return []
    n = min(n, len(eligible))
    return [eligible[(i * len(eligible)) // n] for i in range(n)]


def _pick(
    fault: Fault, state: FaultState, table: pa.Table, eligible: pa.Array | None = None
) -> list[int]:
    """Pick rows of new entities (one row each) until ``fault.n_rows`` are chosen; record keys.

    Batches come in a fixed order, so the picks are deterministic; once enough entities are
    chosen, later batches pick nothing.
    """
    wanted = fault.n_rows - len(state.keys)
    if wanted <= 0:
        return []
    mask = eligible.to_pylist() if eligible is not None else [True] * table.num_rows
    first_row: dict[str, int] = {}
    for row, key in enumerate(table.column(fault.key).to_pylist()):
        if mask[row] and key is not None and key not in state.chosen:
            first_row.setdefault(key, row)
    picked = _positions(sorted(first_row.values()), wanted)
    for row in picked:
        key = table.column(fault.key)[row].as_py()
        state.chosen.add(key)
        state.keys.append(key)
    return picked


def _entity_mask(fault: Fault, state: FaultState, table: pa.Table) -> pa.Array:
    """Rows of the picked entities (every version of them) in this batch."""
    values = pa.array(sorted(state.chosen), pa.string())
    return pc.fill_null(pc.is_in(table.column(fault.key), value_set=values), False)


def _set_column(table: pa.Table, name: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    index = table.schema.get_field_index(name)
    return table.set_column(index, pa.field(name, values.type), values)


def _replace_where(
    table: pa.Table, name: str, mask: pa.Array, value_for: Callable[[Any, int], Any]
) -> tuple[pa.Table, int]:
    """Set ``name`` to ``value_for(old, row)`` on rows where ``mask``; returns rows changed."""
    flags = mask.to_pylist()
    if not any(flags):
        return table, 0
    column = table.column(name)
    values = column.to_pylist()
    changed = 0
    for row, flag in enumerate(flags):
        if flag:
            values[row] = value_for(values[row], row)
            changed += 1
    return _set_column(table, name, pa.array(values, column.type)), changed


def _entity_index(state: FaultState, key: Any) -> int:
    return state.keys.index(key)


# ------------------------------------------------------------------------------------ faults


def _exact_duplicates(fault: Fault, state: FaultState, table: pa.Table) -> pa.Table:
    picked = _pick(fault, state, table)
    if not picked:
        return table
    state.rows += len(picked)
    return pa.concat_tables([table, table.take(pa.array(picked, pa.int64()))])


def _conflicting_duplicates(fault: Fault, state: FaultState, table: pa.Table) -> pa.Table:
    picked = _pick(fault, state, table)
    if not picked:
        return table
    copies = table.take(pa.array(picked, pa.int64()))
    statuses = ("EFFECTIVE", "ADJOURNED", "VACATED")
    status = [
        statuses[(statuses.index(s) + 1) % len(statuses)] if s in statuses else "ADJOURNED"
        for s in copies.column("hearing_status_code").to_pylist()
    ]
    minutes = [(m or 0) + 15 for m in copies.column("listed_minutes").to_pylist()]
    copies = _set_column(copies, "hearing_status_code", pa.array(status, pa.string()))
    copies = _set_column(copies, "listed_minutes", pa.array(minutes, pa.int32()))
    state.rows += len(picked)
    return pa.concat_tables([table, copies])


def _null_business_keys(fault: Fault, state: FaultState, table: pa.Table) -> pa.Table:
    _pick(fault, state, table)
    if not state.started:
        return table
    table, changed = _replace_where(
        table, fault.key, _entity_mask(fault, state, table), lambda old, row: None
    )
    state.rows += changed
    return table


def _null_mandatory_values(fault: Fault, state: FaultState, table: pa.Table) -> pa.Table:
    _pick(fault, state, table)
    if not state.started:
        return table
    assert fault.column is not None
    table, changed = _replace_where(
        table, fault.column, _entity_mask(fault, state, table), lambda old, row: None
    )
    state.rows += changed
    return table


def _orphan_foreign_keys(fault: Fault, state: FaultState, table: pa.Table) -> pa.Table:
    _pick(fault, state, table)
    if not state.started:
        return table
    keys = table.column(fault.key).to_pylist()
    assert fault.column is not None
    table, changed = _replace_where(
        table,
        fault.column,
        _entity_mask(fault, state, table),
        lambda old, row: ORPHAN_DEFENDANT_IDS[_entity_index(state, keys[row])],
    )
    state.rows += changed
    return table


def _late_arriving_rows(fault: Fault, state: FaultState, table: pa.Table) -> pa.Table:
    # On the table's last (empty) batch: hearings held 3 to 5 weeks ago that no extract has
    # delivered, arriving now. Each is a mention hearing adjourned on the day of an earlier,
    # delivered hearing of the same case (never a first hearing: the case was open then).
    if table.num_rows or state.started or state.data_dir is None:
        return table
    history = _delivered_rows(state.data_dir, fault.spec)
    if history is None:
        return table
    held_before = state.extraction_date - dt.timedelta(days=LATE_DAYS)
    held_after = held_before - dt.timedelta(days=14)
    dates = history.column("hearing_date")
    eligible = pc.and_(
        pc.and_(
            pc.greater_equal(dates, pa.scalar(held_after, pa.date32())),
            pc.less_equal(dates, pa.scalar(held_before, pa.date32())),
        ),
        pc.not_equal(history.column("hearing_type_code"), "FIRST"),
    )
    history = history.filter(pc.fill_null(eligible, False))
    history = history.take(pc.sort_indices(history, [(fault.key, "ascending")]))
    picked = _positions(list(range(history.num_rows)), fault.n_rows)
    if not picked:
        return table
    originals = history.take(pa.array(picked, pa.int64()))
    taken = set(_delivered_keys(state.data_dir, fault.spec))
    new_ids = []
    for original in originals.column(fault.key).to_pylist():
        number = int(original[3:])
        candidate = f"HRG{(number + 5_000_000_000) % 10_000_000_000:010d}"
        while candidate in taken or candidate in new_ids:
            number += 1
            candidate = f"HRG{(number + 5_000_000_000) % 10_000_000_000:010d}"
        new_ids.append(candidate)
    n = len(new_ids)
    late = pa.table(
        {
            "hearing_id": pa.array(new_ids, pa.string()),
            "case_id": originals.column("case_id"),
            "court_code": originals.column("court_code"),
            "hearing_type_code": pa.array(["MENTION"] * n, pa.string()),
            "hearing_status_code": pa.array(["ADJOURNED"] * n, pa.string()),
            "hearing_date": originals.column("hearing_date"),
            "listed_minutes": pa.array([10] * n, pa.int32()),
            "_extracted_at": pa.array(
                [extracted_at(state.extraction_date) * 1_000_000] * n, pa.timestamp("us")
            ),
        },
        schema=fault.spec.arrow_schema,
    )
    for key in new_ids:
        state.chosen.add(key)
        state.keys.append(key)
    state.rows += n
    return late


def _redelivered(fault: Fault, state: FaultState) -> pa.Table:
    """Rows already delivered, delivered again with this extract's ``_extracted_at``: every
    version, as last delivered, of a few entities (evenly spaced by key), enough for the fault.
    Empty when nothing was delivered before."""
    assert state.data_dir is not None
    table_spec = fault.spec
    history = _delivered_rows(state.data_dir, table_spec)
    if history is None or history.num_rows == 0:
        return table_spec.arrow_schema.empty_table()
    keys = sorted({k for k in history.column(fault.key).to_pylist() if k is not None})
    chosen = {keys[i] for i in _positions(list(range(len(keys))), max(fault.n_rows, 3))}
    rows = history.filter(pc.is_in(history.column(fault.key), pa.array(sorted(chosen))))
    identity = [fault.key, "_valid_from"] if table_spec.is_versioned else [fault.key]
    latest: dict[tuple[Any, ...], int] = {}
    stamps = rows.column("_extracted_at").to_pylist()
    columns = [rows.column(name).to_pylist() for name in identity]
    for row, stamp in enumerate(stamps):
        row_key = tuple(column[row] for column in columns)
        if row_key not in latest or stamp > stamps[latest[row_key]]:
            latest[row_key] = row
    rows = rows.take(pa.array(sorted(latest.values(), key=lambda r: (columns[0][r], r))))
    stamp = pa.array(
        [extracted_at(state.extraction_date) * 1_000_000] * rows.num_rows, pa.timestamp("us")
    )
    return _set_column(rows, "_extracted_at", stamp)


def _delivered_rows(data_dir: Path, table_spec: TableSpec) -> pa.Table | None:
    """Every row of a curated table already in ``data_dir`` (contract schema), or None."""
    files = sorted((data_dir / table_spec.system / table_spec.name).glob("*/*.parquet"))
    tables = [pq.read_table(path, schema=table_spec.arrow_schema) for path in files]
    return pa.concat_tables(tables) if tables else None


def _delivered_keys(data_dir: Path, table_spec: TableSpec) -> list[str]:
    files = sorted((data_dir / table_spec.system / table_spec.name).glob("*/*.parquet"))
    return [
        key
        for path in files
        for key in pq.read_table(path, columns=[table_spec.key]).column(0).to_pylist()
    ]


def _malformed_dates(fault: Fault, state: FaultState, table: pa.Table) -> pa.Table:
    _pick(fault, state, table)
    assert fault.column is not None
    as_text = pc.cast(table.column(fault.column), pa.string())  # ISO text, as a CSV export has
    table = _set_column(table, fault.column, as_text)
    if not state.started:
        return table
    keys = table.column(fault.key).to_pylist()
    table, changed = _replace_where(
        table,
        fault.column,
        _entity_mask(fault, state, table),
        lambda old, row: MALFORMED_DATES[_entity_index(state, keys[row]) % len(MALFORMED_DATES)],
    )
    state.rows += changed
    return table


def _future_dates(fault: Fault, state: FaultState, table: pa.Table) -> pa.Table:
    _pick(fault, state, table)
    if not state.started:
        return table
    assert fault.column is not None
    future = state.extraction_date + dt.timedelta(days=FUTURE_DAYS)
    table, changed = _replace_where(
        table, fault.column, _entity_mask(fault, state, table), lambda old, row: future
    )
    state.rows += changed
    return table


def _dropped_column(fault: Fault, state: FaultState, table: pa.Table) -> pa.Table:
    assert fault.column is not None
    state.chosen.add("*")
    state.rows += table.num_rows
    return table.drop_columns([fault.column])


def _retyped_column(fault: Fault, state: FaultState, table: pa.Table) -> pa.Table:
    assert fault.column is not None
    state.chosen.add("*")
    state.rows += table.num_rows
    return _set_column(table, fault.column, pc.cast(table.column(fault.column), pa.float64()))


def _added_column(fault: Fault, state: FaultState, table: pa.Table) -> pa.Table:
    assert fault.column is not None
    state.chosen.add("*")
    first = state.rows
    state.rows += table.num_rows
    # Welsh for every seventh row, English otherwise: deterministic, plausible.
    values = ["CY" if (first + i) % 7 == 0 else "EN" for i in range(table.num_rows)]
    position = table.schema.get_field_index("_extracted_at")
    return table.add_column(
        position, pa.field(fault.column, pa.string()), pa.array(values, pa.string())
    )


def _empty_extract(fault: Fault, state: FaultState, table: pa.Table) -> pa.Table:
    state.chosen.add("*")
    state.rows += table.num_rows  # rows withheld
    return table.slice(0, 0)


def _invalid_characters(fault: Fault, state: FaultState, table: pa.Table) -> pa.Table:
    picked = _pick(fault, state, table)
    if not picked:
        return table
    assert fault.column is not None
    positions = set(picked)

    def corrupt(old: Any, row: int) -> Any:
        char = INVALID_CHARACTERS[sorted(positions).index(row) % len(INVALID_CHARACTERS)]
        name = old or "X"
        return name[:2] + char + name[2:]

    mask = pa.array([i in positions for i in range(table.num_rows)], pa.bool_())
    table, changed = _replace_where(table, fault.column, mask, corrupt)
    state.rows += changed
    return table


FAULTS: dict[str, Fault] = {
    fault.name: fault
    for fault in (
        Fault(
            "exact-duplicates",
            "3 movements delivered twice, identical, in one extract",
            "nomis.movements",
            None,
            3,
            _exact_duplicates,
        ),
        Fault(
            "conflicting-duplicates",
            "2 hearing_ids twice in one extract with other values",
            "common_platform.hearings",
            "hearing_id",
            2,
            _conflicting_duplicates,
        ),
        Fault(
            "null-business-keys",
            "event_id null on every version of 2 events",
            "delius.events",
            "event_id",
            2,
            _null_business_keys,
        ),
        Fault(
            "null-mandatory-values",
            "attorney_role_code null on every version of 3 attorneys",
            "sirius.attorneys",
            "attorney_role_code",
            3,
            _null_mandatory_values,
        ),
        Fault(
            "orphan-foreign-keys",
            "defendant_id of 3 cases (every version) names no defendant",
            "common_platform.cases",
            "defendant_id",
            3,
            _orphan_foreign_keys,
        ),
        Fault(
            "late-arriving-rows",
            f"3 hearings held {LATE_DAYS}+ days ago, never delivered, arrive now",
            "common_platform.hearings",
            "hearing_date",
            3,
            _late_arriving_rows,
            modes=("next-day",),
            redeliver=False,
        ),
        Fault(
            "malformed-dates",
            "received_date as text, unparseable for 3 applications",
            "sirius.lpa_applications",
            "received_date",
            3,
            _malformed_dates,
        ),
        Fault(
            "future-dates",
            f"termination_date of 3 rows {FUTURE_DAYS} days after the extract",
            "delius.terminations",
            "termination_date",
            3,
            _future_dates,
        ),
        Fault(
            "dropped-column",
            "column establishment_code missing from the files",
            "nomis.bookings",
            "establishment_code",
            0,
            _dropped_column,
        ),
        Fault(
            "retyped-column",
            "fine_amount delivered as DOUBLE, not DECIMAL(12,2)",
            "common_platform.outcomes",
            "fine_amount",
            0,
            _retyped_column,
        ),
        Fault(
            "added-column",
            "a new column correspondence_language_code",
            "sirius.lpa_applications",
            "correspondence_language_code",
            0,
            _added_column,
        ),
        Fault(
            "empty-extract",
            "no rows at all in the extract (a failed feed)",
            "sirius.attorneys",
            None,
            0,
            _empty_extract,
            redeliver=False,
        ),
        Fault(
            "invalid-characters",
            "last_name of 3 rows with a control or U+FFFD character",
            "sirius.attorneys",
            "last_name",
            3,
            _invalid_characters,
        ),
    )
}


def help_text() -> str:
    """One line per fault, for ``derived generate --help`` (click keeps ``\\b`` blocks as is)."""
    width = max(len(name) for name in FAULTS)
    lines = ["\b", "Faults (--fault NAME, one per run):"]
    for fault in FAULTS.values():
        only = "" if fault.modes == BOTH else " [--next-day]"
        lines.append(f"  {fault.name:<{width}}  {fault.table}: {fault.summary}{only}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ hook


@dataclass(frozen=True)
class FaultReport:
    """What a run injected: printed by the command and recorded in the manifest."""

    fault: str
    description: str
    mode: Mode
    extraction_date: dt.date
    table: str
    column: str | None
    key: str
    rows: int
    keys: tuple[str, ...]
    redelivered: int = 0

    @property
    def injected(self) -> bool:
        """False when the table had nothing to fault in this extract."""
        return self.rows > 0

    def to_json(self) -> dict[str, Any]:
        """The manifest's ``faults`` entry."""
        return {
            "fault": self.fault,
            "description": self.description,
            "mode": self.mode,
            "extraction_date": self.extraction_date.isoformat(),
            "table": self.table,
            "column": self.column,
            "rows": self.rows,
            "key": self.key,
            "keys": list(self.keys),
            "redelivered_rows": self.redelivered,
        }

    def describe(self) -> str:
        """A few lines for the console: fault, extract, table, column, rows and their keys."""
        lines = [
            f"Injected fault {self.fault} into the extract of {self.extraction_date} "
            f"({self.mode}): {self.description}",
            f"  table:  {self.table}",
            f"  column: {self.column or '(whole rows)'}",
            f"  rows:   {self.rows:,}",
        ]
        if self.redelivered:
            lines.append(
                f"  (the extract had no rows of {self.table}: {self.redelivered:,} rows already "
                "delivered were delivered again, and faulted)"
            )
        if self.keys:
            lines.append(f"  {self.key} of the faulted rows: {', '.join(self.keys)}")
        return "\n".join(lines)


class FaultInjector:
    """The :data:`TableHook` of a faulty run: passes every table through, faults one."""

    def __init__(
        self, name: str, mode: Mode, extraction_date: dt.date, data_dir: Path | None = None
    ) -> None:
        self.fault = get_fault(name)
        if mode not in self.fault.modes:
            raise FaultError(
                f"fault {name} needs --next-day: it is about rows arriving after an earlier "
                "extract, which a backfill (one extract of all history) cannot have"
            )
        self.mode = mode
        self.state = FaultState(extraction_date, data_dir if mode == "next-day" else None)

    def __call__(self, table_spec: TableSpec, table: pa.Table) -> pa.Table:
        if table_spec.qualified_name != self.fault.table:
            return table
        if (
            table.num_rows == 0
            and self.fault.redeliver
            and self.state.rows == 0
            and self.state.data_dir is not None
        ):
            # The table's last batch, and the extract had none of its rows: re-deliver a few
            # rows already delivered (as source systems do) and fault those.
            table = _redelivered(self.fault, self.state)
            self.state.redelivered = table.num_rows
        result = self.fault.apply(self.fault, self.state, table)
        self.state.batches += 1
        return result

    def report(self) -> FaultReport:
        """What was injected (call after the run)."""
        fault = self.fault
        return FaultReport(
            fault=fault.name,
            description=fault.summary,
            mode=self.mode,
            extraction_date=self.state.extraction_date,
            table=fault.table,
            column=fault.column,
            key=fault.key,
            rows=self.state.rows,
            keys=tuple(k for k in self.state.keys if k != "*"),
            redelivered=self.state.redelivered,
        )


def get_fault(name: str) -> Fault:
    """The fault called ``name``; :class:`FaultError` naming the known ones otherwise."""
    try:
        return FAULTS[name]
    except KeyError:
        raise FaultError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}") from None


def record_in_manifest(data_dir: Path, report: FaultReport) -> None:
    """Add the report to the manifest's ``faults`` list (atomically, like every manifest write).

    The manifest keeps every fault injected into the folder, across backfill and next days.
    """
    manifest = read_manifest(data_dir)
    manifest.faults.append(report.to_json())
    write_manifest_atomically(data_dir, manifest)
