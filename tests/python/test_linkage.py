"""Person linkage: the Splink model, its quality against the truth, its determinism.

Fast tests exercise src/derived_tables/linkage.py directly on records made here. The slow test
generates a small curated data set, builds the people models with dbt (the Splink step runs
inside the dbt Python model int_person_records_linked) into a temporary warehouse, twice, and
checks pairwise precision and recall against the generator's truth file and that both builds
give identical people.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from derived_tables import linkage

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# Pairwise quality measured on generated data, seed 42 (precision / recall), parameters
# learnt from the records: scale 0.02 1.0 / 1.0, scale 1 0.9993 / 0.9977. The thresholds
# leave room for other seeds and generator changes, and still catch a broken model or
# blocking rule.
MIN_PRECISION = 0.99
MIN_RECALL = 0.98


# ---------------------------------------------------------------------------------------------
# Records made here
# ---------------------------------------------------------------------------------------------

FIRST_NAMES = [
    "JAMES", "JOHN", "DAVID", "MICHAEL", "DANIEL", "THOMAS", "PAUL", "MARK", "LEE", "RYAN",
    "SARAH", "EMMA", "LAURA", "GEMMA", "CLAIRE", "LISA", "AMY", "KELLY", "JADE", "CHLOE",
]  # fmt: skip
LAST_NAMES = [
    "JONES", "WILLIAMS", "TAYLOR", "BROWN", "DAVIES", "EVANS", "WILSON", "JOHNSON", "WALKER",
    "WRIGHT", "WHITE", "HUGHES", "GREEN", "HALL", "LEWIS", "HARRIS", "CLARKE", "PATEL", "WOOD",
]  # fmt: skip
AREAS = ["LS", "M", "B", "L", "S", "NE", "BS", "CF", "SW", "NG"]


def _record(
    system: str,
    record_id: str,
    first: str,
    last: str,
    born: date | None,
    gender: str,
    postcode: str | None,
    pnc: str | None = None,
    first_seen: datetime = datetime(2020, 1, 1),
) -> dict[str, object]:
    return {
        "record_key": f"{system}:{record_id}",
        "system": system,
        "record_id": record_id,
        "record_first_seen_at": first_seen,
        "pnc_id": pnc,
        "first_name_normalised": first,
        "last_name_normalised": last,
        "date_of_birth": born,
        "year_of_birth": born.year if born else None,
        "birth_month": born.month if born else None,
        "birth_day": born.day if born else None,
        "gender_code": gender,
        "postcode": postcode,
        "postcode_area": postcode.split()[0].rstrip("0123456789") if postcode else None,
    }


def _filler(n: int, seed: int = 7) -> list[dict[str, object]]:
    """``n`` distinct people with one court record each (the background of a real set)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        born = date(1960, 1, 1) + timedelta(days=rng.randrange(40 * 365))
        area = rng.choice(AREAS)
        rows.append(
            _record(
                "common_platform",
                f"CPD{900000 + i:09d}",
                rng.choice(FIRST_NAMES),
                rng.choice(LAST_NAMES),
                born,
                rng.choice("MF"),
                f"{area}{rng.randrange(1, 30)} {rng.randrange(1, 10)}AB",
                first_seen=datetime(2019, 1, 1) + timedelta(days=rng.randrange(1500)),
            )
        )
    return rows


def _table(rows: list[dict[str, object]]) -> pa.Table:
    schema = pa.schema(
        [
            ("record_key", pa.string()),
            ("system", pa.string()),
            ("record_id", pa.string()),
            ("record_first_seen_at", pa.timestamp("us")),
            ("pnc_id", pa.string()),
            ("first_name_normalised", pa.string()),
            ("last_name_normalised", pa.string()),
            ("date_of_birth", pa.date32()),
            ("year_of_birth", pa.int32()),
            ("birth_month", pa.int32()),
            ("birth_day", pa.int32()),
            ("gender_code", pa.string()),
            ("postcode", pa.string()),
            ("postcode_area", pa.string()),
        ]
    )
    if any("first_postcode" in row for row in rows):
        schema = schema.append(pa.field("first_postcode", pa.string()))
    return pa.Table.from_pylist(rows, schema=schema)


def _journey_records() -> list[dict[str, object]]:
    """One person through court, prison and probation, with the usual variation, and a
    namesake who is a different person."""
    return [
        _record(
            "common_platform", "CPD000000001", "ROBERT", "SMITH", date(1980, 3, 5), "M",
            "LS1 4AB", pnc="2015/0012345X", first_seen=datetime(2019, 5, 1),
        ),
        # nickname, day and month of birth swapped, no PNC (had it also moved, with no
        # address in common, the model would score the pair 0.66 with its fallback
        # parameters: too little evidence; see test_links_a_moved_record_by_its_first_address)
        _record(
            "nomis", "A1234BC", "BOB", "SMITH", date(1980, 5, 3), "M", "LS1 4AB",
            first_seen=datetime(2020, 2, 1),
        ),
        # surname typo, PNC present, another address, gender unknown
        _record(
            "delius", "X123456", "ROBERT", "SMTIH", date(1980, 3, 5), "U", "M1 1AA",
            pnc="2015/0012345X", first_seen=datetime(2018, 11, 1),
        ),
        # a different Robert Smith: other date of birth, other area
        _record(
            "common_platform", "CPD000000002", "ROBERT", "SMITH", date(1975, 9, 21), "M",
            "B1 1AA", first_seen=datetime(2019, 1, 1),
        ),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def journey_linked() -> pa.Table:
    return linkage.link_person_records(_table(_journey_records() + _filler(400)))


def _by_key(table: pa.Table) -> dict[str, dict[str, object]]:
    return {row["record_key"]: row for row in table.to_pylist()}


def test_links_a_person_across_systems_despite_variation(journey_linked: pa.Table) -> None:
    rows = _by_key(journey_linked)
    journey = [rows[k] for k in ("common_platform:CPD000000001", "nomis:A1234BC", "delius:X123456")]
    assert {r["person_id"] for r in journey} == {"delius:X123456"}  # the earliest-seen record
    assert all(r["cluster_size"] == 3 for r in journey)
    assert all(r["match_probability"] >= linkage.MATCH_THRESHOLD for r in journey)


def test_links_a_moved_record_by_its_first_address() -> None:
    """The prison record was made at the court's address and updated after a move: its
    current postcode is elsewhere, its first version's is the court's. That address in common
    is the evidence the nickname and the swapped date of birth lack on their own."""
    rows = _journey_records()
    moved = {**rows[1], "postcode": "LS6 2CD", "postcode_area": "LS", "first_postcode": "LS1 4AB"}
    others = [{**row, "first_postcode": row["postcode"]} for row in [rows[0], *rows[2:]]]
    filler = [{**row, "first_postcode": row["postcode"]} for row in _filler(400)]
    table = _table([others[0], moved, *others[1:], *filler])
    linked = _by_key(linkage.link_person_records(table))
    assert linked["nomis:A1234BC"]["person_id"] == "delius:X123456"
    assert linked["nomis:A1234BC"]["cluster_size"] == 3
    # without the first address, the same record stays apart: the address is what links it
    table = _table([others[0], {**moved, "first_postcode": "LS6 2CD"}, *others[1:], *filler])
    apart = _by_key(linkage.link_person_records(table))
    assert apart["nomis:A1234BC"]["cluster_size"] == 1


def test_keeps_a_namesake_apart(journey_linked: pa.Table) -> None:
    namesake = _by_key(journey_linked)["common_platform:CPD000000002"]
    assert namesake["person_id"] == "common_platform:CPD000000002"
    assert namesake["cluster_size"] == 1


def test_one_row_per_record_and_singletons_are_their_own_person(journey_linked: pa.Table) -> None:
    assert journey_linked.num_rows == 404
    assert len(set(journey_linked.column("record_key").to_pylist())) == 404
    for row in journey_linked.to_pylist():
        if row["cluster_size"] == 1:
            assert row["person_id"] == row["record_key"]
            assert row["match_probability"] is None or row["match_probability"] < 0.9


def test_linking_is_deterministic(journey_linked: pa.Table) -> None:
    again = linkage.link_person_records(_table(_journey_records() + _filler(400)))
    assert again.equals(journey_linked)


def test_input_order_does_not_change_the_people(journey_linked: pa.Table) -> None:
    rows = _journey_records() + _filler(400)
    shuffled = linkage.link_person_records(_table(list(reversed(rows))))
    assert shuffled.equals(journey_linked)


def test_tiny_inputs() -> None:
    assert linkage.link_person_records(_table([])).num_rows == 0
    one = linkage.link_person_records(_table(_journey_records()[:1])).to_pylist()
    assert one == [
        {
            "system": "common_platform",
            "record_id": "CPD000000001",
            "record_key": "common_platform:CPD000000001",
            "person_id": "common_platform:CPD000000001",
            "match_probability": None,
            "best_link_record_key": None,
            "cluster_size": 1,
            "record_updated_at": None,
        }
    ]


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="lack columns: pnc_id"):
        linkage.link_person_records(_table(_journey_records()).drop_columns(["pnc_id"]))
    rows = _journey_records()
    with pytest.raises(ValueError, match="record_key is not unique"):
        linkage.link_person_records(_table([*rows, rows[0]]))


def test_fallback_parameters_match_the_comparisons() -> None:
    comparisons = linkage._comparisons()
    assert [c.create_output_column_name() for c in comparisons] == list(linkage.PARAMETERS)
    for comparison in linkage._comparisons(linkage.PARAMETERS):
        name = comparison.create_output_column_name()
        levels = comparison.get_comparison("duckdb").comparison_levels
        configured = [(lv.m_probability, lv.u_probability) for lv in levels if not lv.is_null_level]
        assert configured == linkage.PARAMETERS[name], name
    for name, levels in linkage.PARAMETERS.items():
        m = [level[0] for level in levels]
        u = [level[1] for level in levels]
        # committed rounded to 3 significant digits; the fallback rescales them to sum to 1
        assert abs(sum(m) - 1) < 1e-3, name
        assert abs(sum(u) - 1) < 1e-3, name
        for m_level, u_level in linkage._fallback(0.0, "").parameters[name]:
            assert m_level >= linkage.M_FLOOR * 0.99 and u_level >= linkage.U_FLOOR * 0.99


def test_regularised_parameters() -> None:
    levels = linkage._regularised([(0.9, 0.0), (0.1, 0.5), (0.0, 0.5)])
    m = [level[0] for level in levels]
    u = [level[1] for level in levels]
    assert abs(sum(m) - 1) < 1e-4 and abs(sum(u) - 1) < 1e-4
    assert min(m) > 0 and min(u) > 0  # no level makes a link impossible, or certain
    assert m[0] == pytest.approx(0.9, rel=1e-3) and u[1] == pytest.approx(0.5, rel=1e-3)


def test_nicknames_come_from_the_maintained_package() -> None:
    pairs = set(zip(*linkage.nickname_pairs().to_pydict().values(), strict=True))
    assert len(pairs) > 2000
    assert {("BOB", "ROBERT"), ("BILL", "WILLIAM"), ("KATE", "KATHERINE")} <= pairs
    assert all(n.isalpha() and n.isupper() and f.isalpha() for n, f in pairs)


def test_implausible_training_is_refused() -> None:
    good = {"c": [(0.9, 0.01), (0.1, 0.99)]}
    linkage._check_plausible(good)
    with pytest.raises(linkage.TrainingError, match="c: exact agreement learnt as evidence"):
        linkage._check_plausible({"c": [(0.01, 0.9), (0.99, 0.1)]})


# ---------------------------------------------------------------------------------------------
# Pairwise quality
# ---------------------------------------------------------------------------------------------


def _linked(pairs: list[tuple[str, str]]) -> pa.Table:
    return pa.table(
        {
            "system": ["nomis"] * len(pairs),
            "record_id": [r for r, _ in pairs],
            "person_id": [p for _, p in pairs],
        }
    )


def _truth(pairs: list[tuple[str, str]]) -> pa.Table:
    return pa.table(
        {
            "person_id": [p for _, p in pairs],
            "system": ["nomis"] * len(pairs),
            "record_id": [r for r, _ in pairs],
        }
    )


def test_pairwise_quality_counts_pairs() -> None:
    linked = _linked([("a", "1"), ("b", "1"), ("c", "1"), ("d", "2")])
    truth = _truth([("a", "t1"), ("b", "t1"), ("c", "t2"), ("d", "t2")])
    quality = linkage.pairwise_quality(linked, truth)
    assert (quality.pairs_predicted, quality.pairs_true, quality.pairs_correct) == (3, 2, 1)
    assert quality.precision == pytest.approx(1 / 3)
    assert quality.recall == pytest.approx(1 / 2)
    assert quality.f1 == pytest.approx(0.4)
    assert (quality.records, quality.people_predicted, quality.people_true) == (4, 2, 2)


def test_pairwise_quality_perfect_and_other_systems_ignored() -> None:
    linked = _linked([("a", "1"), ("b", "1"), ("c", "2")])
    truth = pa.concat_tables(
        [
            _truth([("a", "t1"), ("b", "t1"), ("c", "t2")]),
            pa.table({"person_id": ["t1"], "system": ["sirius"], "record_id": ["donor"]}),
        ]
    )
    quality = linkage.pairwise_quality(linked, truth)
    assert (quality.precision, quality.recall, quality.f1) == (1.0, 1.0, 1.0)
    assert quality.records == 3


# ---------------------------------------------------------------------------------------------
# End to end: generator -> dbt (Splink inside the Python model) -> truth
# ---------------------------------------------------------------------------------------------


def _env(tmp: Path, data: Path, warehouse: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(PROJECT_ROOT),
        "DBT_PROJECT_DIR": str(PROJECT_ROOT),
        "DBT_TARGET": "ci",
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DERIVED_DATA_DIR": str(data),
        "DERIVED_WAREHOUSE": str(warehouse),
        "DUCKDB_TEMP_DIRECTORY": str(tmp / "duckdb_tmp"),
        "DBT_LOG_PATH": str(tmp / "logs"),
    }
    env.pop("DERIVED_PSEUDONYMISATION_KEY", None)
    return env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(
        cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=1200
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-6000:]}\n"
            f"{result.stderr[-3000:]}"
        )


def _dbt(tmp: Path, data: Path, warehouse: Path, *args: str) -> None:
    # one target path for every invocation, so that dbt re-parses the project only once
    target = ["--target-path", str(tmp / "target"), "--quiet"]
    _run([str(BIN / "dbt"), *args, *target], _env(tmp, data, warehouse))


def _build_people(tmp: Path, data: Path, warehouse: Path) -> None:
    """Seeds, then the linkage and everything upstream of it, then the people models' tests.

    `dbt run` + `dbt test` of the people models rather than one `dbt build`: a failing test of
    another folder's staging model must not hide the linkage result this test is about.
    """
    warehouse.parent.mkdir(parents=True)
    _dbt(tmp, data, warehouse, "seed")
    _dbt(tmp, data, warehouse, "run", "--select", "+int_person_records_linked")
    people = ["int_person_records_unioned", "int_person_records_linked"]
    _dbt(tmp, data, warehouse, "test", "--select", *people, "--indirect-selection", "cautious")


def _generate(tmp: Path, *extra: str) -> tuple[Path, Path, Path]:
    data, truth_dir = tmp / "curated", tmp / "truth"
    env = _env(tmp, data, tmp / "unused.duckdb")
    _run(
        [
            str(BIN / "derived"),
            "generate",
            "--scale",
            "0.02",
            "--seed",
            "42",
            "--out",
            str(data),
            "--truth-out",
            str(truth_dir),
            *extra,
        ],
        env,
    )
    truths = sorted(truth_dir.rglob("person_truth.parquet"))
    assert truths, f"no person_truth.parquet under {truth_dir}"
    return tmp, data, truths[0]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return _generate(tmp_path_factory.mktemp("linkage"))


@pytest.mark.slow
def test_linkage_quality_and_determinism_end_to_end(generated: tuple[Path, Path, Path]) -> None:
    tmp, data, truth = generated
    first = tmp / "first" / "people.duckdb"
    _build_people(tmp, data, first)

    quality = linkage.evaluate_warehouse(first, truth)
    print(quality.as_dict())
    assert quality.records > 1000
    assert quality.people_predicted < quality.records  # people were linked at all
    assert quality.precision >= MIN_PRECISION, quality
    assert quality.recall >= MIN_RECALL, quality

    # The same inputs linked again, by a new dbt process, give the very same people.
    second = tmp / "second" / "people.duckdb"
    second.parent.mkdir()
    shutil.copyfile(first, second)
    _dbt(tmp, data, second, "run", "--select", "int_person_records_linked")
    query = (
        "select system, record_id, person_id, match_probability, cluster_size"
        " from intermediate.int_person_records_linked order by system, record_id"
    )
    tables = []
    for warehouse in (first, second):
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            tables.append(con.sql(query).fetchall())
        finally:
            con.close()
    assert len(tables[0]) == quality.records
    assert tables[0] == tables[1]


def test_link_model_reads_and_returns_each_engines_form(journey_linked: pa.Table) -> None:
    """The dbt model's body: a DuckDB relation in, Arrow out; a Spark-like session gets its
    DataFrame built from the same Arrow table, so both engines find the same people."""
    con = duckdb.connect()
    records = _table(_journey_records() + _filler(400))
    con.register("records", records)
    linked = linkage.link_model(con.table("records"), con)
    assert isinstance(linked, pa.Table)
    assert linked.sort_by("record_key").equals(journey_linked.sort_by("record_key"))

    class SparkLikeSession:
        def createDataFrame(self, table: pa.Table) -> tuple[str, pa.Table]:
            return ("spark dataframe", table)

    class SparkLikeFrame:
        def toArrow(self) -> pa.Table:
            return records

    kind, table = linkage.link_model(SparkLikeFrame(), SparkLikeSession())
    assert kind == "spark dataframe"
    assert table.sort_by("record_key").equals(journey_linked.sort_by("record_key"))
    with pytest.raises(TypeError, match="DuckDB relation or a Spark DataFrame"):
        linkage.relation_to_arrow(object())


# Pairwise quality on the `--noise hard` profile (errors the model was not designed around:
# swapped names, changed or double-barrelled surnames, initials, missing or decade-off dates
# of birth, missing or stale postcodes, mistyped PNCs), seed 42 (precision / recall): scale
# 0.02 0.9951 / 0.9883 (about 2.5 minutes), scale 1 0.9983 / 0.9824.
MIN_NOISY_PRECISION = 0.99
MIN_NOISY_RECALL = 0.95


@pytest.mark.slow
def test_linkage_quality_on_unfamiliar_noise(tmp_path_factory: pytest.TempPathFactory) -> None:
    tmp, data, truth = _generate(tmp_path_factory.mktemp("linkage_noise"), "--noise", "hard")
    warehouse = tmp / "noisy" / "people.duckdb"
    warehouse.parent.mkdir(parents=True)
    _dbt(tmp, data, warehouse, "seed")
    _dbt(tmp, data, warehouse, "run", "--select", "+int_person_records_linked")
    quality = linkage.evaluate_warehouse(warehouse, truth)
    print(quality.as_dict())
    assert quality.records > 1000
    assert quality.precision >= MIN_NOISY_PRECISION, quality
    assert quality.recall >= MIN_NOISY_RECALL, quality


def test_linkage_command_help() -> None:
    for args in ([], ["report"]):  # every subcommand has --help (argparse)
        result = subprocess.run(
            [str(BIN / "derived"), "linkage", *args, "--help"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "usage: derived linkage" in result.stdout


def test_canonical_first_names_for_blocking() -> None:
    con = linkage._connection(1, "1GB", None)
    try:
        rows = [
            _record("nomis", f"A{i}", first, "SMITH", date(1980, 1, 1), "M", None)
            for i, first in enumerate(["BOB", "ROBERT", "BOBBY", "ZEBEDEE", "KATE"])
        ]
        linkage._prepare(con, _table(rows))
        got = dict(
            con.sql("select first_name, first_name_canonical from person_features").fetchall()
        )
        formal = dict(
            con.sql("select first_name, first_name_formal_names from person_features").fetchall()
        )
    finally:
        con.close()
    assert got["BOB"] == got["ROBERT"] == got["BOBBY"] == "ROBERT"
    assert got["ZEBEDEE"] == "ZEBEDEE"  # a name the package does not know stands for itself
    assert "KATHERINE" in formal["KATE"] and "KATE" in formal["KATE"]
