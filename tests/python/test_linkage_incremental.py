"""Incremental person linkage (derived_tables.linkage_incremental) against a full linkage.

The property: the linked table after an incremental update (the previous table with the
returned rows replacing theirs) equals a full linkage of the same records with the same
parameters. Exactly, when the records' names (the term-frequency adjusted columns) are the
same on both days; when records are added, the term frequencies of every name shift a
little, so the people and ids must still be equal and the stored probabilities of pairs not
re-scored may differ by the drift (a few thousandths here).
"""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from derived_tables import linkage
from derived_tables import linkage_incremental as incremental
from test_linkage import _filler, _journey_records, _record, _table

COLUMNS = [
    "system",
    "record_id",
    "record_key",
    "person_id",
    "match_probability",
    "best_link_record_key",
    "cluster_size",
    "record_updated_at",
]


def _records(rows: list[dict[str, object]]) -> pa.Table:
    table = _table(rows)
    updated = [row.get("record_updated_at", row["record_first_seen_at"]) for row in rows]
    return table.append_column("record_updated_at", pa.array(updated, pa.timestamp("us")))


@pytest.fixture(scope="module")
def rows() -> list[dict[str, object]]:
    # a person whose court and probation records only meet through the prison record
    bridge = [
        _record(
            "common_platform", "CPD000000010", "JOANNE", "FARROW", date(1983, 6, 14), "F",
            "NE1 4ST", pnc="2011/0077777Q", first_seen=datetime(2019, 3, 1),
        ),
        _record(
            "nomis", "B7777AA", "JOANNE", "FARROW", date(1983, 6, 14), "F", "NE3 1AA",
            pnc="2011/0077777Q", first_seen=datetime(2019, 9, 1),
        ),
        _record(
            "delius", "Y777777", "JO", "FARROW", date(1984, 6, 14), "F", "NE3 1AA",
            first_seen=datetime(2020, 5, 1),
        ),
    ]  # fmt: skip
    return _journey_records() + bridge + _filler(1200)


@pytest.fixture(scope="module")
def model(rows: list[dict[str, object]]) -> linkage.LinkageModel:
    # the committed parameters and a prior of about one true pair per record: the test is
    # about the update, not about training
    return linkage._fallback(1.0 / len(rows), "committed parameters, for the test")


def _full(records: pa.Table, model: linkage.LinkageModel) -> pa.Table:
    return linkage.link(records, model=model).linked.select(COLUMNS)


def _apply(previous: pa.Table, update: pa.Table) -> pa.Table:
    replaced = pa.array(update.column("record_key").to_pylist(), pa.string())
    kept = previous.filter(pc.invert(pc.is_in(previous.column("record_key"), replaced)))
    return pa.concat_tables(
        [kept.select(COLUMNS), update.select(COLUMNS).cast(kept.select(COLUMNS).schema)]
    ).sort_by("record_key")


def _people(table: pa.Table) -> dict[str, tuple[object, object]]:
    return {row["record_key"]: (row["person_id"], row["cluster_size"]) for row in table.to_pylist()}


def test_new_records_join_people_as_a_full_linkage_does(
    rows: list[dict[str, object]], model: linkage.LinkageModel
) -> None:
    late = {"nomis:A1234BC", "delius:Y777777"} | {str(row["record_key"]) for row in rows[-50:]}
    before = [row for row in rows if row["record_key"] not in late]
    previous = _full(_records(before), model)
    update = incremental.update_links(_records(rows), previous, model)
    full = _full(_records(rows), model)

    merged = _apply(previous, update)
    assert _people(merged) == _people(full)
    assert merged.column("best_link_record_key").to_pylist() == (
        full.column("best_link_record_key").to_pylist()
    )
    drift = [
        abs(a - b)
        for a, b in zip(
            merged.column("match_probability").to_pylist(),
            full.column("match_probability").to_pylist(),
            strict=True,
        )
        if a is not None and b is not None
    ]
    assert max(drift) < 0.01
    # the nomis record joined Robert Smith, whose id (his earliest-seen record) stays
    people = _people(merged)
    assert people["nomis:A1234BC"] == (people["delius:X123456"][0], 3)
    assert people["delius:X123456"][0] == "delius:X123456"
    # only the touched rows are replaced: the late records and the people they joined
    assert update.num_rows < 100


def test_a_changed_record_splits_its_person(
    rows: list[dict[str, object]], model: linkage.LinkageModel
) -> None:
    previous = _full(_records(rows), model)
    people = _people(previous)
    assert people["common_platform:CPD000000010"] == people["delius:Y777777"]
    assert people["common_platform:CPD000000010"][1] == 3

    # the prison record, the bridge, turns out to be someone else (the same names: the term
    # frequencies do not move, so the update must equal a full linkage exactly)
    changed = []
    for row in rows:
        if row["record_key"] == "nomis:B7777AA":
            row = {
                **row,
                "pnc_id": "1999/0000001A",
                "date_of_birth": date(1950, 1, 2),
                "year_of_birth": 1950,
                "birth_month": 1,
                "birth_day": 2,
                "postcode": "CF10 1AA",
                "postcode_area": "CF",
                "record_updated_at": datetime(2021, 1, 1),
            }
        changed.append(row)
    update = incremental.update_links(_records(changed), previous, model)
    full = _full(_records(changed), model)
    assert _apply(previous, update).to_pylist() == full.to_pylist()
    split = _people(full)
    assert split["common_platform:CPD000000010"] != split["delius:Y777777"]
    assert split["nomis:B7777AA"] == ("nomis:B7777AA", 1)


def test_a_new_record_merges_two_people(
    rows: list[dict[str, object]], model: linkage.LinkageModel
) -> None:
    before = [row for row in rows if row["record_key"] != "nomis:B7777AA"]
    previous = _full(_records(before), model)
    people = _people(previous)
    assert people["common_platform:CPD000000010"] != people["delius:Y777777"]
    update = incremental.update_links(_records(rows), previous, model)
    merged = _people(_apply(previous, update))
    assert merged == _people(_full(_records(rows), model))
    # the person keeps the id of its earliest-seen record
    assert merged["delius:Y777777"] == ("common_platform:CPD000000010", 3)


def test_nothing_new_changes_nothing(
    rows: list[dict[str, object]], model: linkage.LinkageModel
) -> None:
    records = _records(rows)
    previous = _full(records, model)
    assert incremental.update_links(records, previous, model).num_rows == 0


def test_a_vanished_record_needs_a_full_refresh(
    rows: list[dict[str, object]], model: linkage.LinkageModel
) -> None:
    previous = _full(_records(rows), model)
    with pytest.raises(ValueError, match=r"record_key: 1 linked record.*full-refresh"):
        incremental.update_links(_records(rows[1:]), previous, model)
    with pytest.raises(ValueError, match=r"best_link_record_key.*full-refresh"):
        incremental.update_links(_records(rows), previous.drop(["best_link_record_key"]), model)


def test_stored_parameters_round_trip(model: linkage.LinkageModel) -> None:
    stored = incremental.parameters_table(model, 1234)
    assert incremental.stored_model(stored) == model
    with pytest.raises(ValueError, match="expected one row"):
        incremental.stored_model(pa.concat_tables([stored, stored]))
    broken = stored.set_column(
        stored.schema.get_field_index("parameters"),
        "parameters",
        pa.array(['{"pnc_id": [[1.0, 0.1]]}']),
    )
    with pytest.raises(ValueError, match=r"parameters: the stored model.*full-refresh"):
        incremental.stored_model(broken)
