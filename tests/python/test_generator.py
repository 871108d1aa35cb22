"""The synthetic curated-data generator (``derived generate``).

Every test runs the command at scale 0.01 (a few seconds) through click's CliRunner, in
temporary folders, and reads what it wrote with DuckDB and pyarrow: determinism, linear scale,
referential integrity within and across systems and against the seeds, the curated conventions
of docs/curated-schema.md, the truth file, next-day partitions (append-only, byte-stable,
consistent with a later backfill), the CLI's refusals, and atomicity when writing fails.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from derived_tables.generator import calendar, engine, prisons, writer
from derived_tables.generator.command import generate
from derived_tables.generator.common import rng_for
from derived_tables.generator.frame import Frame
from derived_tables.generator.reference import load_reference
from derived_tables.generator.schema import TABLES, TableSpec

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SEEDS = PROJECT_ROOT / "seeds"
AS_OF = "2026-11-20"
SCALE = "0.01"

# (table, column) -> (table, column): every foreign key of the curated tables.
FOREIGN_KEYS: list[tuple[str, str, str, str]] = [
    ("common_platform.cases", "defendant_id", "common_platform.defendants", "defendant_id"),
    ("common_platform.case_offences", "case_id", "common_platform.cases", "case_id"),
    ("common_platform.hearings", "case_id", "common_platform.cases", "case_id"),
    (
        "common_platform.outcomes",
        "case_offence_id",
        "common_platform.case_offences",
        "case_offence_id",
    ),
    ("nomis.bookings", "prison_number", "nomis.offenders", "prison_number"),
    ("nomis.bookings", "establishment_code", "nomis.establishments", "establishment_code"),
    ("nomis.movements", "booking_id", "nomis.bookings", "booking_id"),
    ("nomis.movements", "prison_number", "nomis.offenders", "prison_number"),
    ("nomis.movements", "from_establishment_code", "nomis.establishments", "establishment_code"),
    ("nomis.movements", "to_establishment_code", "nomis.establishments", "establishment_code"),
    ("nomis.sentences", "booking_id", "nomis.bookings", "booking_id"),
    ("delius.events", "crn", "delius.offenders", "crn"),
    ("delius.requirements", "event_id", "delius.events", "event_id"),
    ("delius.terminations", "event_id", "delius.events", "event_id"),
    ("sirius.attorneys", "lpa_id", "sirius.lpa_applications", "lpa_id"),
    # codes shared with the reference seeds
    ("common_platform.cases", "court_code", "ref_courts", "court_code"),
    ("common_platform.hearings", "court_code", "ref_courts", "court_code"),
    ("common_platform.case_offences", "offence_code", "ref_offences", "offence_code"),
    ("common_platform.outcomes", "disposal_code", "ref_disposals", "disposal_code"),
    (
        "nomis.establishments",
        "establishment_code",
        "ref_prison_establishments",
        "establishment_code",
    ),
    ("nomis.bookings", "establishment_code", "ref_prison_establishments", "establishment_code"),
    ("nomis.movements", "movement_reason_code", "ref_movement_reasons", "movement_reason_code"),
    ("nomis.sentences", "offence_code", "ref_offences", "offence_code"),
    ("delius.offenders", "pdu_code", "ref_probation_delivery_units", "pdu_code"),
    ("delius.events", "pdu_code", "ref_probation_delivery_units", "pdu_code"),
    ("delius.events", "offence_code", "ref_offences", "offence_code"),
    ("delius.events", "sentencing_court_code", "ref_courts", "court_code"),
    (
        "delius.events",
        "release_establishment_code",
        "ref_prison_establishments",
        "establishment_code",
    ),
]
POSTCODE_COLUMNS = [
    ("common_platform.defendants", "postcode"),
    ("nomis.offenders", "postcode"),
    ("delius.offenders", "postcode"),
    ("sirius.lpa_applications", "donor_postcode"),
    ("sirius.attorneys", "postcode"),
]
PERSON_RECORDS = {
    "common_platform": ("common_platform.defendants", "defendant_id"),
    "nomis": ("nomis.offenders", "prison_number"),
    "delius": ("delius.offenders", "crn"),
    "sirius": ("sirius.lpa_applications", "donor_id"),
}


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def run(*args: str) -> Result:
    """``derived generate`` in-process, against this project's seeds."""
    return CliRunner().invoke(generate, ["--project-dir", str(PROJECT_ROOT), *args])


def backfill(
    root: Path, *extra: str, scale: str = SCALE, as_of: str = AS_OF, seed: str = "42"
) -> Result:
    """A backfill into ``root/curated`` and ``root/truth``; fails the test if it fails."""
    result = run(
        "--scale", scale, "--as-of", as_of, "--seed", seed,
        "--out", str(root / "curated"), "--truth-out", str(root / "truth"), *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result


def next_day(root: Path) -> Result:
    """A next-day run on ``root``'s data."""
    result = run("--next-day", "--out", str(root / "curated"), "--truth-out", str(root / "truth"))
    assert result.exit_code == 0, result.output
    return result


def file_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def partitions(data: Path) -> set[str]:
    """``<system>/<table>/extraction_date=...`` folders under ``data``."""
    return {str(p.relative_to(data)) for p in data.glob("*/*/extraction_date=*")}


def connect(data: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB over generated data: ``<system>__<table>_all`` (every row as delivered),
    ``<system>__<table>`` (latest delivery of each version, as staging de-duplicates),
    ``ref_*`` seeds."""
    con = duckdb.connect()
    for t in TABLES:
        name = view(t.qualified_name)
        glob = data / t.system / t.name / "*" / "*.parquet"
        con.execute(
            f"create view {name}_all as select * "
            f"from read_parquet('{glob}', hive_partitioning = true)"
        )
        if t.is_versioned:
            con.execute(
                f"""create view {name} as select * exclude (rn) from (
                    select *, row_number() over (
                        partition by {t.key}, _valid_from order by _extracted_at desc) as rn
                    from {name}_all) where rn = 1"""
            )
        else:
            con.execute(f"create view {name} as select * from {name}_all")
    for seed in SEEDS.glob("ref_*.csv"):
        con.execute(
            f"create view {seed.stem} as select * "
            f"from read_csv('{seed}', header = true, all_varchar = true)"
        )
    return con


def view(name: str) -> str:
    """View name of a table or seed."""
    return name.replace(".", "__")


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The single value of a query."""
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


# ---------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A backfill followed by two next-day partitions (so data holds re-delivered versions)."""
    root = tmp_path_factory.mktemp("generated")
    backfill(root)
    next_day(root)
    next_day(root)
    return root


@pytest.fixture(scope="module")
def con(generated: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB over the generated data and the truth file."""
    connection = connect(generated / "curated")
    connection.execute(
        f"create view truth as select * from '{generated / 'truth' / 'person_truth.parquet'}'"
    )
    return connection


# ---------------------------------------------------------------------------------------------
# determinism and scale
# ---------------------------------------------------------------------------------------------


def test_same_arguments_give_byte_identical_files(tmp_path: Path) -> None:
    backfill(tmp_path / "a")
    backfill(tmp_path / "b")
    a, b = file_hashes(tmp_path / "a"), file_hashes(tmp_path / "b")
    assert a == b
    assert any(name.endswith(".parquet") for name in a)


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    backfill(tmp_path / "a")
    result = run(
        "--scale", SCALE, "--as-of", AS_OF, "--seed", "7",
        "--out", str(tmp_path / "b" / "curated"), "--truth-out", str(tmp_path / "b" / "truth"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    a, b = file_hashes(tmp_path / "a"), file_hashes(tmp_path / "b")
    assert a.keys() == b.keys()
    assert (
        a["curated/common_platform/cases/extraction_date=2026-11-20/part-0.parquet"]
        != (b["curated/common_platform/cases/extraction_date=2026-11-20/part-0.parquet"])
    )


def test_rows_grow_linearly_with_scale(tmp_path: Path) -> None:
    backfill(tmp_path / "small", scale="0.01")
    backfill(tmp_path / "large", scale="0.04")

    def rows_by_system(root: Path) -> dict[str, int]:
        manifest = json.loads((root / "curated" / "_manifest.json").read_text())
        out: dict[str, int] = {}
        for name, table in manifest["tables"].items():
            if name != "nomis.establishments":  # reference-like: one row set whatever the scale
                system = name.split(".")[0]
                out[system] = out.get(system, 0) + table["rows"]
        return out

    small, large = rows_by_system(tmp_path / "small"), rows_by_system(tmp_path / "large")
    assert small.keys() == {"common_platform", "nomis", "delius", "sirius"}
    for system, n in small.items():
        assert n > 300, system
        assert 3.2 <= large[system] / n <= 4.8, (system, n, large[system])


def test_scale_one_is_a_few_million_rows_in_the_plan() -> None:
    """Scale 1 is about 1-3 million rows: checked on the plan (people per year), not by running."""
    chunks = engine.chunks(1.0, 2026)
    people = sum(c.size for c in chunks if c.stream == engine.STREAM_OFFENDERS)
    donors = sum(c.size for c in chunks if c.stream == engine.STREAM_DONORS)
    assert 100_000 < people < 250_000
    assert 40_000 < donors < 120_000
    # next-day runs replay the world: later years only add chunks after the existing ones
    assert engine.chunks(1.0, 2027)[: len(chunks)] == chunks


# ---------------------------------------------------------------------------------------------
# contract and conventions
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", TABLES, ids=lambda t: t.qualified_name)
def test_files_have_exactly_the_contract_schema(generated: Path, spec: TableSpec) -> None:
    files = sorted(
        (generated / "curated" / spec.system / spec.name).glob("extraction_date=*/*.parquet")
    )
    assert files, spec.qualified_name
    for path in files:
        assert pq.read_schema(path).remove_metadata() == spec.arrow_schema, path


@pytest.mark.parametrize(
    "spec", [t for t in TABLES if t.is_versioned], ids=lambda t: t.qualified_name
)
def test_versions_follow_the_history_conventions(
    con: duckdb.DuckDBPyConnection, spec: TableSpec
) -> None:
    t, k = view(spec.qualified_name), spec.key
    assert scalar(con, f"select count(*) from {t}") > 0
    # exactly one current version per key
    assert (
        scalar(
            con,
            f"select count(*) from (select {k} from {t} group by {k} "
            "having count_if(_is_current) <> 1)",
        )
        == 0
    )
    # _valid_to null iff current; ranges positive and contiguous (never overlapping)
    assert scalar(con, f"select count(*) from {t} where (_valid_to is null) <> _is_current") == 0
    assert scalar(con, f"select count(*) from {t} where _valid_to <= _valid_from") == 0
    gaps = f"""select count(*) from (
        select _valid_to, lead(_valid_from) over (partition by {k} order by _valid_from) as nxt
        from {t}) where nxt is not null and _valid_to is distinct from nxt"""
    assert scalar(con, gaps) == 0
    # soft deletes only on the last version
    assert scalar(con, f"select count(*) from {t} where _is_deleted and not _is_current") == 0


def test_some_entities_have_several_versions_and_some_are_deleted(
    con: duckdb.DuckDBPyConnection,
) -> None:
    for name in (
        "common_platform.cases",
        "nomis.bookings",
        "delius.events",
        "sirius.lpa_applications",
    ):
        t, k = view(name), next(s.key for s in TABLES if s.qualified_name == name)
        assert (
            scalar(con, f"select max(n) from (select count(*) as n from {t} group by {k})") >= 2
        ), name
    deleted = sum(
        scalar(con, f"select count_if(_is_deleted) from {view(s.qualified_name)}")
        for s in TABLES
        if s.is_versioned
    )
    assert deleted > 0


def test_superseded_versions_are_redelivered_in_later_partitions(
    con: duckdb.DuckDBPyConnection,
) -> None:
    redelivered = sum(
        scalar(
            con,
            f"""select count(*) from {view(s.qualified_name)}_all
                where extraction_date > date '{AS_OF}' and not _is_current""",
        )
        for s in TABLES
        if s.is_versioned
    )
    assert redelivered > 0


@pytest.mark.parametrize("spec", TABLES, ids=lambda t: t.qualified_name)
def test_codes_upper_case_strings_trimmed_extracted_at(
    con: duckdb.DuckDBPyConnection, spec: TableSpec
) -> None:
    t = view(spec.qualified_name) + "_all"
    for name, dtype in spec.columns:
        if pa.types.is_string(dtype):
            assert (
                scalar(con, f"select count(*) from {t} where {name} <> trim({name}) or {name} = ''")
                == 0
            ), name
            if name.endswith("_code"):
                assert (
                    scalar(con, f"select count(*) from {t} where {name} <> upper({name})") == 0
                ), name
    wrong_stamp = (
        f"select count(*) from {t} where _extracted_at <> extraction_date + interval 5 hour"
    )
    assert scalar(con, wrong_stamp) == 0


def test_event_rows_start_with_the_data_and_never_run_ahead_of_their_extract(
    con: duckdb.DuckDBPyConnection,
) -> None:
    dated = [
        ("common_platform.hearings", "hearing_date"),
        ("common_platform.outcomes", "outcome_date"),
        ("nomis.movements", "movement_at"),
        ("delius.terminations", "termination_date"),
    ]
    for name, column in dated:
        t = view(name) + "_all"
        assert scalar(con, f"select count(*) from {t} where {column} < date '2019-01-01'") == 0, (
            name
        )
        assert scalar(con, f"select count(*) from {t} where {column} >= extraction_date") == 0, name
    for spec in (s for s in TABLES if s.is_versioned):
        t = view(spec.qualified_name) + "_all"
        assert scalar(con, f"select count(*) from {t} where _valid_from >= extraction_date") == 0


# ---------------------------------------------------------------------------------------------
# referential integrity
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fk", FOREIGN_KEYS, ids=lambda fk: f"{fk[0]}.{fk[1]}->{fk[2]}")
def test_no_orphan_foreign_keys(
    con: duckdb.DuckDBPyConnection, fk: tuple[str, str, str, str]
) -> None:
    child, column, parent, key = fk
    assert scalar(con, f"select count({column}) from {view(child)}") > 0
    orphans = f"""select count(*) from {view(child)} c where c.{column} is not null
        and not exists (select 1 from {view(parent)} p where p.{key} = c.{column})"""
    assert scalar(con, orphans) == 0


def test_movement_reasons_match_movement_types(con: duckdb.DuckDBPyConnection) -> None:
    mismatched = """select count(*) from nomis__movements m
        join ref_movement_reasons r using (movement_reason_code)
        where r.movement_type_code <> m.movement_type_code"""
    assert scalar(con, mismatched) == 0
    directions = """select count(*) from nomis__movements where
        (movement_type_code = 'ADM'
            and (from_establishment_code is not null or to_establishment_code is null))
        or (movement_type_code = 'TRN'
            and (from_establishment_code is null or to_establishment_code is null))
        or (movement_type_code = 'REL'
            and (from_establishment_code is null or to_establishment_code is not null))"""
    assert scalar(con, directions) == 0


@pytest.mark.parametrize("table_column", POSTCODE_COLUMNS, ids=lambda tc: ".".join(tc))
def test_postcodes_are_well_formed_in_known_areas(
    con: duckdb.DuckDBPyConnection, table_column: tuple[str, str]
) -> None:
    table, column = table_column
    t = view(table)
    assert scalar(con, f"select count({column}) from {t}") > 0
    pattern = "^[A-Z]{1,2}[0-9]{1,2} [0-9][A-Z]{2}$"
    malformed = f"select count(*) from {t} where not regexp_matches({column}, '{pattern}')"
    assert scalar(con, malformed) == 0
    unknown = f"""select count(*) from {t} where regexp_extract({column}, '^[A-Z]+')
        not in (select postcode_area from ref_postcode_areas)"""
    assert scalar(con, unknown) == 0


def test_outcome_columns_follow_the_verdict_and_disposal(con: duckdb.DuckDBPyConnection) -> None:
    t = "common_platform__outcomes"
    assert (
        scalar(
            con,
            f"select count(*) from {t} "
            "where (verdict_code = 'GUILTY') <> (disposal_code is not null)",
        )
        == 0
    )
    with_length = "disposal_code in ('IMPRISONMENT', 'SUSPENDED', 'COMMUNITY')"
    assert (
        scalar(
            con,
            f"select count(*) from {t} where ({with_length}) <> (sentence_length_days is not null)",
        )
        == 0
    )
    assert (
        scalar(
            con,
            f"select count(*) from {t} where (disposal_code = 'FINE') <> (fine_amount is not null)",
        )
        == 0
    )
    capped = f"""select count(*) from {t} o
        join common_platform__case_offences c using (case_offence_id)
        join ref_offences r using (offence_code)
        where o.disposal_code = 'IMPRISONMENT' and r.offence_code <> 'VP01001'
        and o.sentence_length_days > r.max_custody_days::int"""
    assert scalar(con, capped) == 0


# ---------------------------------------------------------------------------------------------
# one person across systems
# ---------------------------------------------------------------------------------------------


def test_truth_covers_every_person_record(con: duckdb.DuckDBPyConnection) -> None:
    for system, (table, column) in PERSON_RECORDS.items():
        missing = f"""select count(distinct r.{column}) from {view(table)} r
            where not exists (select 1 from truth t
                where t.system = '{system}' and t.record_id = r.{column})"""
        assert scalar(con, missing) == 0, system
        dangling = f"""select count(*) from truth t where t.system = '{system}'
            and not exists (select 1 from {view(table)} r where r.{column} = t.record_id)"""
        assert scalar(con, dangling) == 0, system
    assert scalar(con, "select count(*) - count(distinct (system, record_id)) from truth") == 0
    # the same person appears in several systems, and some people have several records in one
    assert (
        scalar(
            con,
            "select count(*) from (select person_id from truth group by 1 "
            "having count(distinct system) = 3)",
        )
        > 0
    )
    assert (
        scalar(
            con,
            "select count(*) from (select person_id, system from truth group by all "
            "having count(*) > 1)",
        )
        > 0
    )
    # donors are a separate population
    shared = """select count(*) from (select person_id from truth where system = 'sirius'
        intersect select person_id from truth where system <> 'sirius')"""
    assert scalar(con, shared) == 0


def test_records_of_one_person_differ_realistically(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """create or replace temp view person_records as
        select t.person_id, t.system, r.first_name, r.date_of_birth, r.pnc_id
        from truth t join (
            select defendant_id as record_id, first_name, date_of_birth, pnc_id
            from common_platform__defendants
            union all select prison_number, first_name, date_of_birth, pnc_id from nomis__offenders
            union all select crn, first_name, date_of_birth, pnc_id from delius__offenders
        ) r using (record_id)"""
    )
    pairs = """select count(*) from person_records a join person_records b
        on a.person_id = b.person_id and a.system < b.system"""
    assert scalar(con, pairs) > 50
    assert scalar(con, pairs + " where upper(a.first_name) <> upper(b.first_name)") > 0
    assert scalar(con, pairs + " where a.date_of_birth <> b.date_of_birth") > 0
    assert scalar(con, pairs + " where (a.pnc_id is null) <> (b.pnc_id is null)") > 0
    assert (
        scalar(con, pairs + " where a.pnc_id <> b.pnc_id") == 0
    )  # a PNC id, when present, is true


def test_court_outcomes_lead_to_prison_and_probation(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """create or replace temp view principal_outcomes as
        select o.outcome_date, o.disposal_code, t.person_id
        from common_platform__outcomes o
        join common_platform__case_offences co using (case_offence_id)
        join common_platform__cases c using (case_id)
        join truth t on t.system = 'common_platform' and t.record_id = c.defendant_id
        where co.offence_sequence = 1 and c._is_current
          and o.outcome_date < date '2026-10-01'"""
    )
    custody = """select count(*), count_if(exists (
            select 1 from nomis__movements m
            join truth t on t.system = 'nomis' and t.record_id = m.prison_number
            where t.person_id = p.person_id and m.movement_type_code = 'ADM'
              and m.movement_reason_code = 'SENTENCED' and m.movement_at::date = p.outcome_date))
        from principal_outcomes p where disposal_code = 'IMPRISONMENT'"""
    n, matched = con.execute(custody).fetchone()
    assert n > 10 and matched == n
    orders = """select count(*), count_if(exists (
            select 1 from delius__events e
            join truth t on t.system = 'delius' and t.record_id = e.crn
            where t.person_id = p.person_id and e.order_start_date = p.outcome_date
              and e.order_type_code
                  = case p.disposal_code when 'COMMUNITY' then 'CO' else 'SSO' end))
        from principal_outcomes p where disposal_code in ('COMMUNITY', 'SUSPENDED')"""
    n, matched = con.execute(orders).fetchone()
    assert n > 10 and matched >= 0.9 * n
    licences = """select count(*), count_if(exists (
            select 1 from delius__events e
            join truth t on t.system = 'delius' and t.record_id = e.crn
            where t.person_id = tn.person_id and e.order_type_code in ('LIC', 'PSS')
              and e.order_start_date = m.movement_at::date))
        from nomis__movements m
        join truth tn on tn.system = 'nomis' and tn.record_id = m.prison_number
        where m.movement_reason_code in ('CONDITIONAL_RELEASE', 'HOME_DETENTION_CURFEW')"""
    n, matched = con.execute(licences).fetchone()
    assert n > 10 and 0.6 * n <= matched < n  # usually, not always


def test_open_orders_and_bookings_stay_open(con: duckdb.DuckDBPyConnection) -> None:
    open_events = """select count(*) from delius__events e
        where _is_current and event_status_code = 'ACTIVE'
        and exists (select 1 from delius__terminations t where t.event_id = e.event_id
                    and t.termination_date < e.extraction_date - interval 31 day)"""
    assert scalar(con, open_events) == 0
    assert (
        scalar(
            con,
            "select count_if(event_status_code = 'ACTIVE') from delius__events where _is_current",
        )
        > 0
    )
    active = (
        "select count(*) from nomis__bookings where _is_current and booking_status_code = 'ACTIVE'"
    )
    assert scalar(con, active) > 0
    assert scalar(con, active + " and booking_end_date is not null") == 0


def test_donors_are_older_than_defendants(con: duckdb.DuckDBPyConnection) -> None:
    donor_age = (
        "select median(datediff('year', donor_date_of_birth, received_date)) "
        "from sirius__lpa_applications"
    )
    defendant_age = """select median(datediff('year', d.date_of_birth, c.charge_date))
        from common_platform__cases c join common_platform__defendants d using (defendant_id)"""
    assert scalar(con, donor_age) >= 65
    assert scalar(con, defendant_age) <= 40


# ---------------------------------------------------------------------------------------------
# next day
# ---------------------------------------------------------------------------------------------


def test_next_day_adds_one_partition_and_changes_no_file(tmp_path: Path) -> None:
    backfill(tmp_path)
    data = tmp_path / "curated"
    before_files = file_hashes(data)
    before_parts = partitions(data)
    next_day(tmp_path)
    after_files = file_hashes(data)
    new_parts = partitions(data) - before_parts

    changed = {name for name, digest in before_files.items() if after_files.get(name) != digest}
    assert changed == {"_manifest.json"}
    assert new_parts, "a next day delivers rows"
    assert {p.rsplit("=", 1)[1] for p in new_parts} == {"2026-11-21"}
    tables = [p.rsplit("/", 1)[0] for p in new_parts]
    assert len(tables) == len(set(tables))  # at most one new partition per table
    manifest = json.loads((data / "_manifest.json").read_text())
    assert manifest["extraction_dates"] == [AS_OF, "2026-11-21"]
    for name, table in manifest["tables"].items():
        system, table_name = name.split(".")
        has_new = f"{system}/{table_name}/extraction_date=2026-11-21" in new_parts
        assert has_new == ("2026-11-21" in table["rows_by_extraction_date"]), name
    assert not list(data.glob(".*staging*")) and not list(tmp_path.glob(".*staging*"))


def test_backfill_plus_next_days_equals_a_later_backfill(tmp_path: Path) -> None:
    backfill(tmp_path / "a", as_of="2026-11-19")
    next_day(tmp_path / "a")
    next_day(tmp_path / "a")
    backfill(tmp_path / "b", as_of="2026-11-21")
    con_a, con_b = connect(tmp_path / "a" / "curated"), connect(tmp_path / "b" / "curated")
    for spec in TABLES:
        columns = [name for name, _ in spec.columns]
        if spec.is_versioned:
            columns += ["_valid_from", "_valid_to", "_is_current", "_is_deleted"]
        sql = f"select {', '.join(columns)} from {view(spec.qualified_name)} order by all"
        assert con_a.execute(sql).fetchall() == con_b.execute(sql).fetchall(), spec.qualified_name
    truth = "select * from '{}' order by all"
    assert duckdb.sql(
        truth.format(tmp_path / "a" / "truth" / "person_truth.parquet")
    ).fetchall() == (
        duckdb.sql(truth.format(tmp_path / "b" / "truth" / "person_truth.parquet")).fetchall()
    )


def test_next_days_deliver_late_arriving_event_rows() -> None:
    """Over a month of next-day windows, some event rows are dated days before their window."""

    class Collect:
        def __init__(self) -> None:
            self.frames: dict[str, list[Frame]] = {}

        def write(self, spec: TableSpec, frame: Frame) -> None:
            if frame.n_rows:
                self.frames.setdefault(spec.qualified_name, []).append(frame)

        def close(self, *, write_empty: bool) -> dict[str, int]:
            return {}

    lo, hi = dt.date(2026, 10, 1), dt.date(2026, 11, 1)
    window = engine.Window(hi, engine.cal.to_seconds(lo), engine.cal.to_seconds(hi))
    sink = Collect()
    engine.run(load_reference(SEEDS), 42, 0.05, window, sink, lambda table: None)
    late = 0
    for name, column in (
        ("common_platform.hearings", "hearing_date"),
        ("delius.terminations", "termination_date"),
    ):
        for frame in sink.frames.get(name, []):
            days = frame[column].values
            late += int((days < engine.cal.to_days(lo)).sum())
            assert (days < engine.cal.to_days(hi)).all()
    assert late > 0


# ---------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------


def test_existing_data_needs_force_or_if_missing(tmp_path: Path) -> None:
    backfill(tmp_path)
    before = file_hashes(tmp_path)
    refused = run(
        "--scale",
        SCALE,
        "--as-of",
        AS_OF,
        "--out",
        str(tmp_path / "curated"),
        "--truth-out",
        str(tmp_path / "truth"),
    )
    assert refused.exit_code != 0
    assert "--force" in refused.output and refused.output.strip().count("\n") == 0
    skipped = run(
        "--if-missing", "--out", str(tmp_path / "curated"), "--truth-out", str(tmp_path / "truth")
    )
    assert skipped.exit_code == 0 and "nothing to do" in skipped.output
    assert file_hashes(tmp_path) == before
    backfill(tmp_path, "--force", scale="0.02")
    manifest = json.loads((tmp_path / "curated" / "_manifest.json").read_text())
    assert manifest["scale"] == 0.02
    assert not list(tmp_path.glob(".curated.*"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scale", "0"], "--scale"),
        (["--scale", "-1"], "--scale"),
        (["--scale", "101"], "--scale"),
        (["--scale", "lots"], "--scale"),
        (["--as-of", "2026-02-30"], "--as-of"),
        (["--as-of", "yesterday"], "--as-of"),
        (["--as-of", "2018-12-31"], "--as-of"),
        (["--next-day", "--seed", "3"], "--next-day"),
        (["--next-day"], "no manifest"),
        (["--out", "{file}/sub"], "not a folder"),
    ],
)
def test_bad_arguments_fail_with_a_one_line_reason(
    tmp_path: Path, args: list[str], message: str
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    args = [a.replace("{file}", str(blocker)) for a in args]
    out = [] if "--out" in args else ["--out", str(tmp_path / "curated")]
    result = run(*args, *out, "--truth-out", str(tmp_path / "truth"))
    assert result.exit_code != 0
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1 and message in error_lines[0], result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "curated").exists()


def _fail_after(calls: int, error: BaseException) -> Callable[..., None]:
    original = writer.PartitionWriter._flush
    count = {"n": 0}

    def flaky(self: writer.PartitionWriter, state: object, n: int) -> None:
        count["n"] += 1
        if count["n"] > calls:
            raise error
        original(self, state, n)  # type: ignore[arg-type]

    return flaky


@pytest.mark.parametrize(
    "error", [RuntimeError("disk on fire"), KeyboardInterrupt()], ids=["error", "ctrl-c"]
)
def test_a_failed_backfill_leaves_no_partition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    monkeypatch.setattr(writer.PartitionWriter, "_flush", _fail_after(3, error))
    result = run(
        "--scale",
        SCALE,
        "--as-of",
        AS_OF,
        "--out",
        str(tmp_path / "curated"),
        "--truth-out",
        str(tmp_path / "truth"),
    )
    assert result.exit_code != 0
    assert not (tmp_path / "curated").exists()
    assert not list(tmp_path.glob(".curated*"))
    assert not list(tmp_path.glob("truth/*"))  # neither the truth file nor its temporary file


def test_a_failed_next_day_leaves_the_data_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backfill(tmp_path)
    before = file_hashes(tmp_path)
    monkeypatch.setattr(
        writer.PartitionWriter, "_flush", _fail_after(1, RuntimeError("disk on fire"))
    )
    result = run(
        "--next-day", "--out", str(tmp_path / "curated"), "--truth-out", str(tmp_path / "truth")
    )
    assert result.exit_code != 0
    assert file_hashes(tmp_path) == before
    assert not [p for p in tmp_path.rglob(".*") if p.name != ".."]


@pytest.mark.parametrize("seed", [7, 42, 2024])
def test_establishment_capacity_follows_the_demand_sent_to_it(seed: int) -> None:
    """Issue 15: capacity was drawn without regard to demand, so the one local prison of a
    populous region held 2 to 4 times its capacity (and failed the error-level occupancy test
    at many seeds and scales) while others stood three-quarters empty.

    The demand comes from the generator's own routing (``_Estate.choose``, people weighted
    by region population as the simulation draws them), not from the capacity formula: each
    establishment's share of its type's capacity at opening is within a factor of 2 of its
    share of the people sent to that type.
    """
    ref = load_reference(SEEDS)
    versions = prisons.build_establishments(ref, rng_for(seed, engine.STREAM_ESTABLISHMENTS), 100)
    _, first = np.unique(versions.key, return_index=True)
    capacity = versions.frame["operational_capacity"].values[first].astype(np.float64)

    rng = np.random.default_rng(0)
    people = 200_000
    weight = ref.region_population / ref.region_population.sum()
    region = rng.choice(ref.n_regions, size=people, p=weight)
    day = np.full(people, calendar.WORLD_END_DAY)  # every establishment is open
    estate = prisons._Estate(ref, rng)
    for kind, home_p in prisons.HOME_PREFERENCE.items():
        pool = ref.establishments_of_type(kind)
        sent = np.bincount(estate.choose(kind, region, day, home_p), minlength=capacity.size)
        demand_share = sent[pool] / people
        capacity_share = capacity[pool] / capacity[pool].sum()
        ratio = capacity_share / demand_share
        codes = [ref.establishment_codes[i].as_py() for i in pool]
        assert ratio.min() >= 0.5 and ratio.max() <= 2, (
            kind,
            dict(zip(codes, ratio.round(2), strict=True)),
        )


# Daily population per establishment, straight from the curated tables (an independent, simpler
# reading than the dbt models': each live booking is in its reception establishment, or in the
# one its first transfer or release left from when it began before the movements, until its
# first transfer; each transfer starts a stay there until the next one; the booking's end date
# ends the last). At scale 0.1 seed 7 it gives exactly fct_prison_population_daily's occupancy.
DAILY_OCCUPANCY = """
with
bookings as (
    select booking_id, establishment_code, booking_start_date, booking_end_date
    from nomis__bookings
    qualify row_number() over (partition by booking_id order by _valid_from desc) = 1
        and not _is_deleted
),
moves as (
    select booking_id, movement_type_code, from_establishment_code, to_establishment_code,
        cast(movement_at as date) as movement_date, movement_at
    from nomis__movements
),
first_location as (
    select bookings.*, coalesce((
        select arg_min(from_establishment_code, movement_at) from moves
        where moves.booking_id = bookings.booking_id
            and movement_type_code in ('TRN', 'REL')
    ), establishment_code) as first_establishment_code
    from bookings
),
transfers as (select * from moves where movement_type_code = 'TRN'),
stays as (
    select first_establishment_code as establishment_code, booking_start_date as start_date,
        coalesce((select min(movement_date) from transfers
            where transfers.booking_id = first_location.booking_id), booking_end_date)
            as end_date
    from first_location
    union all
    select transfers.to_establishment_code, transfers.movement_date,
        coalesce((select min(later.movement_date) from transfers as later
            where later.booking_id = transfers.booking_id
                and later.movement_date > transfers.movement_date), (
            select booking_end_date from bookings
            where bookings.booking_id = transfers.booking_id))
    from transfers
),
days as (
    select cast(day as date) as population_date
    from generate_series(date '2019-06-01', date '{as_of}', interval 1 day) as t(day)
),
population as (
    select days.population_date, stays.establishment_code, count(*) as population
    from days
    inner join stays
        on stays.start_date <= days.population_date
        and (stays.end_date is null or stays.end_date > days.population_date)
    group by all
)
select population.establishment_code, population.population_date, population.population,
    capacity.operational_capacity
from population
inner join nomis__establishments as capacity
    on population.establishment_code = capacity.establishment_code
    and cast(capacity._valid_from as date) <= population.population_date
    and (capacity._valid_to is null
        or cast(capacity._valid_to as date) > population.population_date)
"""


@pytest.mark.parametrize("seed", [42, 1])
def test_no_prison_holds_three_times_its_capacity_at_a_small_scale(
    seed: int, tmp_path: Path
) -> None:
    """Issue 15: at scale 0.1, seed 42 (the README's quick first try) held 4 people per place
    in a London local prison (capacity drawn without regard to demand); with demand-sized
    capacity, seed 1 still reached 3.25 on some days (a handful of prisoners varies a lot)."""
    root = tmp_path / "small"
    backfill(root, scale="0.1", seed=str(seed))
    con = connect(root / "curated")
    worst = con.execute(
        f"select * from ({DAILY_OCCUPANCY.format(as_of=AS_OF)}) "
        "order by population * 1.0 / operational_capacity desc limit 1"
    ).fetchone()
    assert worst is not None
    code, day, population, capacity = worst
    assert population <= 3 * capacity, (
        f"{code} held {population} people for {capacity} places on {day} (seed {seed})"
    )
