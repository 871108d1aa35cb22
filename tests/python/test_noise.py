"""The generator's noise profiles (src/derived_tables/generator/noise.py), on tables made here.

The default profile changes nothing (the generator's bytes are proved unchanged by
test_generator.py's determinism tests); the hard profile adds each kind of error at about its
rate, the same errors to every version of a record, and leaves other tables alone.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from derived_tables.generator import noise
from derived_tables.generator.schema import TABLES

SPECS = {spec.qualified_name: spec for spec in TABLES}
N = 20_000


def _defendants(n: int = N) -> pa.Table:
    spec = SPECS["common_platform.defendants"]
    rows = {
        "defendant_id": [f"CPD{i:09d}" for i in range(n)],
        "pnc_id": [f"2015/{i:07d}X" if i % 3 else None for i in range(n)],
        "first_name": [f"First{i % 97}" for i in range(n)],
        "last_name": [f"Last{i % 89}" for i in range(n)],
        "date_of_birth": [dt.date(1970, 1, 1) + dt.timedelta(days=i % 9000) for i in range(n)],
        "gender_code": ["F" if i % 2 else "M" for i in range(n)],
        "postcode": [f"LS{i % 20} {i % 9}AB" for i in range(n)],
    }
    columns = []
    for field in spec.arrow_schema:
        if field.name in rows:
            columns.append(pa.array(rows[field.name], field.type))
        else:
            columns.append(pa.nulls(n, field.type))
    return pa.Table.from_arrays(columns, schema=spec.arrow_schema)


def test_default_profile_does_nothing() -> None:
    assert noise.hook("default", 42) is None
    with pytest.raises(ValueError, match="unknown noise profile 'loud'"):
        noise.hook("loud", 42)


def test_hard_profile_adds_each_error_at_its_rate() -> None:
    spec = SPECS["common_platform.defendants"]
    before = _defendants()
    hook = noise.hook("hard", 42)
    assert hook is not None
    after = hook(spec, before)
    assert after.schema == before.schema and after.num_rows == N
    b, a = before.to_pydict(), after.to_pydict()
    rows = range(N)
    swapped = sum(a["first_name"][i] == b["last_name"][i] for i in rows) / N
    hyphenated = sum("-" in a["last_name"][i] for i in rows) / N
    initial = sum(len(a["first_name"][i]) == 1 for i in rows) / N
    two_given = sum(" " in a["first_name"][i] for i in rows) / N
    no_dob = sum(a["date_of_birth"][i] is None for i in rows) / N
    decade = (
        sum(
            a["date_of_birth"][i] is not None
            and abs((a["date_of_birth"][i] - b["date_of_birth"][i]).days) in (3652, 3653)
            for i in rows
        )
        / N
    )
    no_postcode = sum(a["postcode"][i] is None for i in rows) / N
    with_pnc = [i for i in rows if b["pnc_id"][i] is not None]
    mistyped = sum(a["pnc_id"][i] != b["pnc_id"][i] for i in with_pnc) / len(with_pnc)
    rates = noise.HARD
    assert swapped == pytest.approx(rates["names_swapped"], abs=0.01)
    assert hyphenated == pytest.approx(rates["surname_double_barrelled"], abs=0.01)
    assert initial == pytest.approx(rates["first_name_initial"], abs=0.01)
    assert two_given == pytest.approx(rates["second_given_name"], abs=0.01)
    assert no_dob == pytest.approx(rates["date_of_birth_missing"], abs=0.01)
    assert decade == pytest.approx(rates["date_of_birth_decade_off"], abs=0.01)
    assert no_postcode == pytest.approx(rates["postcode_missing"], abs=0.01)
    assert mistyped == pytest.approx(rates["pnc_mistyped"], abs=0.01)
    # a mistyped PNC keeps its shape
    for i in with_pnc:
        if a["pnc_id"][i] != b["pnc_id"][i]:
            assert len(a["pnc_id"][i]) == len(b["pnc_id"][i]) and a["pnc_id"][i][4] == "/"


def test_every_version_of_a_record_gets_the_same_errors() -> None:
    spec = SPECS["common_platform.defendants"]
    hook = noise.hook("hard", 42)
    assert hook is not None
    table = _defendants(2_000)
    first, again = hook(spec, table), hook(spec, table)
    assert first.equals(again)
    # a record alone in a later batch (its next version) gets the same kinds of error
    later = hook(spec, table.slice(1234, 1))
    for column in ("date_of_birth", "pnc_id"):
        assert later.column(column)[0] == first.column(column)[1234]
    other_seed = noise.hook("hard", 7)
    assert other_seed is not None and not other_seed(spec, table).equals(first)


def test_other_tables_are_untouched() -> None:
    hook = noise.hook("hard", 42)
    assert hook is not None
    spec = SPECS["common_platform.cases"]
    empty = spec.arrow_schema.empty_table()
    assert hook(spec, empty) is empty
