"""Reliability and security of inputs and publishing (issue 11), on the session's tiny build.

Each test plays a fault the way it really happens, on a copy of the tiny build:

- **Raw personal data in the published file.** `derived build` publishes only the relations
  marked `meta: {published: true}` (publish.export_public). The published file that export
  writes from the tiny build is scanned, every column of every relation, for the raw
  identifiers found in the curated data (names, PNC numbers, postcodes, prison numbers, CRNs,
  defendant, donor and attorney ids, case URNs) and for the exact dates of birth; the same
  scan of the private build file must find them (so the scan can fail).
- **A future-dated partition** (a wrong clock upstream) is refused before any model builds;
  loaded anyway (a wrong as-of) and then withdrawn, it leaves the incremental facts'
  high-water mark in the future: the next incremental run must stop, saying to rebuild with
  `--full-refresh`, instead of silently skipping later rows; the full refresh then succeeds.
- **What the warehouse was built from**: `fct_source_extractions` lists exactly the curated
  partitions read.
- **An exact re-delivery** is counted by `no_redelivered_rows` (warn), not refused as a
  conflict; **hidden and temporary files** beside the curated data are not read by the
  sources' globs (a plain `dbt` run, without the pinned snapshot).

The write-audit-publish flow itself (partitions landing during a build, hidden files, failures
at publish) is tested on a tiny throw-away project in test_publish.py.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from conftest import TinyCatalogue, TinyProject
from derived_tables import publish
from derived_tables.lineage import page_name

pytestmark = pytest.mark.slow

#: Values shorter than this are not evidence of a leak (initials, short codes).
MIN_VALUE_LENGTH = 4


#: Raw identifiers the source YAML does not tag `personal_data` (they are not about the person
#: alone) but which name someone all the same: an attorney's id, and the case URN that court
#: lists print beside the defendant's name.
UNTAGGED_IDENTIFIERS = {
    ("sirius", "attorneys", "attorney_id"),
    ("common_platform", "cases", "case_urn"),
}


def _curated_values(
    tiny: TinyProject, manifest: dict, wanted: Callable[[str, str, str, dict], bool]
) -> list[tuple[str, str]]:
    """(value as text, where) of every distinct value of the curated columns `wanted` picks
    (called with source name, table, column and the column's manifest entry)."""
    found: dict[str, str] = {}
    with duckdb.connect() as con:
        for source in manifest["sources"].values():
            files = tiny.data_dir / source["schema"] / source["name"]
            columns = [
                name
                for name, column in source["columns"].items()
                if wanted(source["source_name"], source["name"], name, column)
            ]
            if not columns or not files.is_dir():
                continue
            for column in columns:
                rows = con.execute(
                    f"select distinct trim(cast({column} as varchar)) from read_parquet("
                    f"'{files}/extraction_date=*/[!._]*.parquet', union_by_name = true) "
                    f"where length(trim(cast({column} as varchar))) >= {MIN_VALUE_LENGTH}"
                ).fetchall()
                for (value,) in rows:
                    found.setdefault(value, f"{source['source_name']}.{source['name']}.{column}")
    return sorted(found.items())


def _is_personal(column: dict) -> bool:
    return bool((column.get("meta") or {}).get("personal_data"))


def _raw_identifiers(tiny: TinyProject, manifest: dict) -> list[tuple[str, str]]:
    """Every raw text identifier in the curated data: every text column a source YAML tags
    `personal_data: true` (names, PNC numbers, postcodes, prison numbers, CRNs, defendant and
    donor ids) and the UNTAGGED_IDENTIFIERS."""
    return _curated_values(
        tiny,
        manifest,
        lambda source, table, name, column: (
            (_is_personal(column) and (column.get("data_type") or "").lower() == "varchar")
            or (source, table, name) in UNTAGGED_IDENTIFIERS
        ),
    )


def _raw_dates_of_birth(tiny: TinyProject, manifest: dict) -> list[tuple[str, str]]:
    """Every exact date of birth in the curated data (`YYYY-MM-DD`): the date columns a source
    YAML tags `personal_data: true`. The marts may hold only the year of birth and age bands;
    the curated dates of birth (1918 to 2010 in the tiny data) never meet an event date
    (2016 onwards), so one in a published column is a leak, unless the reference data has it
    too (an establishment opened on 1985-01-01)."""
    return _curated_values(
        tiny,
        manifest,
        lambda source, table, name, column: (
            _is_personal(column) and (column.get("data_type") or "").lower() == "date"
        ),
    )


#: Relations built from no curated data (the seeds, the calendar): a curated value that is also
#: one of theirs (a surname that is a place, `Sutton`; a first name that is a month, `June`)
#: is not evidence of a leak.
NOT_FROM_CURATED = "schema_name = 'reference' or (schema_name, table_name) = ('common', 'dim_date')"


def _reference_values(
    database: Path, data_type: str = "VARCHAR", where: str = NOT_FROM_CURATED
) -> set[str]:
    """Every value, as text, of the `data_type` columns of the relations `where` selects."""
    values: set[str] = set()
    with duckdb.connect(str(database), read_only=True) as con:
        columns = con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            f"where database_name = current_database() and ({where}) "
            f"and data_type = '{data_type}'"
        ).fetchall()
        for schema, table, column in columns:
            rows = con.execute(
                f'select distinct trim(cast("{column}" as varchar)) from "{schema}"."{table}"'
            )
            values.update(value for (value,) in rows.fetchall() if value is not None)
    return values


#: The calendar: every date since 2000 by construction, so it holds dates of birth too.
CALENDAR = "(schema_name, table_name) = ('common', 'dim_date')"


def _scan(database: Path, identifiers: list[tuple[str, str]], skip: str = "false") -> list[str]:
    """Every (relation, column) of `database` holding one of `identifiers`, with an example;
    relations matching the SQL predicate `skip` (on schema_name, table_name) are left out."""
    hits = []
    with duckdb.connect(str(database), read_only=True) as con:
        con.execute("create temp table raw_identifiers (value varchar, found_in varchar)")
        con.executemany("insert into raw_identifiers values (?, ?)", identifiers)
        columns = con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where database_name = current_database() and schema_name != 'pg_catalog' "
            "and table_name not in (select view_name from duckdb_views() where internal) "
            f"and not ({skip})"
        ).fetchall()
        for schema, table, column in columns:
            try:
                row = con.execute(
                    f'select any_value(cast(t."{column}" as varchar)), any_value(r.found_in), '
                    f'count(*) from "{schema}"."{table}" as t join raw_identifiers as r '
                    f'on trim(cast(t."{column}" as varchar)) = r.value'
                ).fetchone()
            except duckdb.Error as error:  # a view that cannot be read here is a finding too
                hits.append(f"{schema}.{table}: cannot be read ({error})")
                continue
            if row and row[2]:
                hits.append(
                    f"{schema}.{table}.{column}: {row[2]} raw value(s), e.g. {row[0]!r} "
                    f"(from {row[1]})"
                )
    return hits


@pytest.fixture(scope="module")
def published(tiny_project: TinyProject, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The published file `derived build` would write from the tiny build."""
    manifest = tiny_project.build.manifest if tiny_project.build else None
    assert manifest is not None, "the tiny build wrote no manifest"
    folder = tmp_path_factory.mktemp("published")
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    relations = publish.published_relations(folder / "manifest.json")
    public = folder / "public" / tiny_project.warehouse.name
    copied = publish.export_public(tiny_project.warehouse, public, relations)
    assert copied == len(relations) > 0
    return public


def test_published_file_holds_only_marts_and_reference_data(published: Path) -> None:
    with duckdb.connect(str(published), read_only=True) as con:
        schemas = {
            row[0]
            for row in con.execute(
                "select schema_name from duckdb_tables() union select schema_name "
                "from duckdb_views() where not internal"
            ).fetchall()
        }
    assert schemas == {"common", "courts", "prisons", "probation", "opg", "reference"}


def test_no_raw_identifier_in_any_column_of_the_published_file(
    tiny_project: TinyProject, published: Path
) -> None:
    """The fault: `intermediate` tables with names, PNC, postcodes in clear were published."""
    manifest = tiny_project.build.manifest if tiny_project.build else {}
    found = _raw_identifiers(tiny_project, manifest)
    assert len(found) > 1000, "too few raw identifiers found in the curated data"
    reference = _reference_values(published)
    identifiers = [(value, where) for value, where in found if value not in reference]
    assert len(found) - len(identifiers) < len(found) / 100  # a handful, not a blind spot
    # the scan finds them where they are (the private build file) ...
    private_hits = _scan(tiny_project.warehouse, identifiers)
    assert any(hit.startswith("intermediate.int_person_records_unioned.") for hit in private_hits)
    # ... and nowhere in what analysts open
    assert _scan(published, identifiers) == []


def test_no_raw_date_of_birth_in_any_column_of_the_published_file(
    tiny_project: TinyProject, published: Path
) -> None:
    """Dates of birth in clear (`int_person_records_unioned`) were published too. Every column
    of every relation but the calendar is scanned, dates and text alike (a date of birth
    cast to text is still one)."""
    manifest = tiny_project.build.manifest if tiny_project.build else {}
    found = _raw_dates_of_birth(tiny_project, manifest)
    assert len(found) > 1000, "too few dates of birth found in the curated data"
    assert all(len(value) == len("1970-01-01") for value, _ in found)
    reference = _reference_values(published, "DATE", "schema_name = 'reference'")
    dates_of_birth = [(value, where) for value, where in found if value not in reference]
    assert len(found) - len(dates_of_birth) < len(found) / 100  # a handful, not a blind spot
    private_hits = _scan(tiny_project.warehouse, dates_of_birth, skip=CALENDAR)
    assert any(
        hit.startswith("intermediate.int_person_records_unioned.date_of_birth:")
        for hit in private_hits
    ), private_hits
    assert _scan(published, dates_of_birth, skip=CALENDAR) == []


def test_source_extractions_lists_the_partitions_read(tiny_project: TinyProject) -> None:
    on_disk = sorted(
        (system.name, table.name, folder.name.split("=", 1)[1])
        for system in tiny_project.data_dir.iterdir()
        if system.is_dir()
        for table in system.iterdir()
        for folder in table.iterdir()
        if folder.name.startswith("extraction_date=")
    )
    with tiny_project.connect() as con:
        recorded = con.execute(
            "select source_system, source_table, cast(extraction_date as varchar) "
            "from common.fct_source_extractions order by all"
        ).fetchall()
    assert recorded == on_disk and len(on_disk) >= 16  # every curated table at least once


def test_the_catalogue_shows_the_extraction_dates_each_source_was_built_from(
    tiny_project: TinyProject, tiny_catalogue: TinyCatalogue
) -> None:
    """Each source's trust page says which extraction dates the build read, from the
    warehouse's fct_source_extractions (what was pinned), not from the curated folder."""
    with tiny_project.connect() as con:
        rows = con.execute(
            "select source_system, source_table, cast(extraction_date as varchar) "
            "from common.fct_source_extractions order by all"
        ).fetchall()
    recorded: dict[str, list[str]] = {}
    for system, table, day in rows:
        recorded.setdefault(f"source.derived_tables.{system}.{table}", []).append(day)
    trust = json.loads((tiny_catalogue.folder / "trust.json").read_text(encoding="utf-8"))
    shown = {
        uid: entry["extraction_dates"] for uid, entry in trust.items() if entry["kind"] == "source"
    }
    assert len(recorded) >= 16 and shown == recorded
    uid = "source.derived_tables.common_platform.hearings"
    page = (tiny_catalogue.folder / page_name(uid)).read_text(encoding="utf-8")
    assert f"{len(recorded[uid])} extraction(s), {recorded[uid][0]} to" in page


#: The date a wrong clock upstream gives a partition.
FUTURE = "2030-01-01"


def _redate(partition: Path, to: str) -> Path:
    """A copy of `partition` delivered as `extraction_date=<to>`, every row extracted then."""
    future = partition.with_name(f"extraction_date={to}")
    future.mkdir()
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * replace (timestamp '{to} 06:00:00' as _extracted_at) "
            f"from read_parquet('{partition}/*.parquet')) "
            f"to '{future / 'part-0.parquet'}' (format parquet)"
        )
    return future


def test_future_partition_refused_then_withdrawn_stops_the_incremental_fact(
    tiny_project: TinyProject, tmp_path: Path
) -> None:
    """The fault: `extraction_date=2030-01-01` moved fct_court_hearings' high-water mark to
    2030; once removed, the next incremental run silently skipped the real rows."""
    work = tiny_project.copy_to(tmp_path / "work")
    hearings = work.data_dir / "common_platform" / "hearings"
    latest = max(hearings.glob("extraction_date=*"))
    future = _redate(latest, "2030-01-01")

    # the fact and the views it reads the hearings through (the copied views read the
    # session's data folder until they are rebuilt on this copy's)
    selection = (
        "--select",
        "path:models/staging/common_platform",
        "int_hearings_enriched",
        "fct_court_hearings",
    )
    refused = work.dbt("run", *selection)
    assert not refused.result.ok
    assert (
        "future-dated partition common_platform.hearings/extraction_date=2030-01-01"
        in refused.result.output
    ), refused.result.describe()
    assert "after the build's as-of date" in refused.result.output
    assert refused.statuses() == {}  # before any model

    wrong_clock = replace(work, env={**work.env, "DERIVED_AS_OF": "2031-01-01"})
    accepted = wrong_clock.dbt("run", *selection)
    assert accepted.result.ok, accepted.result.describe()
    with duckdb.connect(str(work.warehouse), read_only=True) as con:
        (mark,) = con.execute("select max(extracted_at) from courts.fct_court_hearings").fetchone()
    assert str(mark) == "2030-01-01 06:00:00"  # the high-water mark is in the future

    shutil.rmtree(future)  # withdrawn upstream
    stopped = work.dbt("run", *selection)
    assert not stopped.result.ok
    output = " ".join(stopped.result.output.split())
    assert "fct_court_hearings: the stored high-water mark" in output, output[-2000:]
    assert "2030-01-01 06:00:00" in output and "--full-refresh" in output

    rebuilt = work.dbt("run", *selection, "--full-refresh")
    assert rebuilt.result.ok, rebuilt.result.describe()


def test_an_exact_redelivery_is_recognised_not_called_a_conflict(
    tiny_project: TinyProject, tmp_path: Path
) -> None:
    """The fault: the same files, byte for byte, copied into a later `extraction_date=` folder
    were refused by `source_no_conflicting_duplicates_...` ("Got 5242 results")."""
    work = tiny_project.copy_to(tmp_path / "work")
    hearings = work.data_dir / "common_platform" / "hearings"
    latest = max(hearings.glob("extraction_date=*"))
    resent = latest.with_name("extraction_date=2025-07-01")
    shutil.copytree(latest, resent)
    with duckdb.connect() as con:
        ((n_rows,),) = con.execute(f"select count(*) from '{resent}/*.parquet'").fetchall()
    env = {**work.env, "DERIVED_AS_OF": "2025-07-01"}
    tested = replace(work, env=env).dbt("test", "--select", "source:common_platform.hearings")
    statuses = {uid.split(".")[2]: status for uid, status in tested.statuses().items()}
    conflicts = [name for name in statuses if name.startswith("source_no_conflicting_dup")]
    redelivered = [name for name in statuses if name.startswith("source_no_redelivered_rows")]
    assert conflicts and all(statuses[name] == "pass" for name in conflicts), statuses
    assert [statuses[name] for name in redelivered] == ["warn"], statuses
    assert tested.run_results is not None
    (failures,) = [
        row["failures"]
        for row in tested.run_results["results"]
        if row["unique_id"].split(".")[2] in redelivered
    ]
    assert failures == n_rows  # every re-sent row counted once as a surplus copy


def test_hidden_and_temporary_files_beside_the_curated_data_are_never_read(
    tiny_project: TinyProject, tmp_path: Path
) -> None:
    """The fault: a macOS `._part-0.parquet` beside a partition file and a hidden
    `.extraction_date=...inprogress/` folder were globbed by the sources, and the build failed
    on them. Here dbt reads the curated folder directly (a plain `dbt build`, no snapshot), so
    the sources' own globs are what is tested."""
    work = tiny_project.copy_to(tmp_path / "work", warehouse=True)
    hearings = work.data_dir / "common_platform" / "hearings"
    latest = max(hearings.glob("extraction_date=*"))
    (latest / "._part-0.parquet").write_bytes(b"\x00\x05\x16\x07Mac OS X resource fork")
    (latest / "_SUCCESS").write_bytes(b"")
    in_progress = hearings / f".{latest.name}.inprogress"
    in_progress.mkdir()
    (in_progress / "part-0.parquet").write_bytes(b"half a parquet file")
    temporary = hearings / "_temporary"
    temporary.mkdir()
    (temporary / "part-0.parquet").write_bytes(b"not yet a parquet file")
    with duckdb.connect() as con:
        ((n_rows,),) = con.execute(
            f"select count(*) from read_parquet('{hearings}/extraction_date=*/part-*.parquet')"
        ).fetchall()

    tested = work.dbt("test", "--select", "source:common_platform.hearings")
    assert tested.result.ok, tested.result.describe()
    assert tested.statuses(), "no source test ran"
    with duckdb.connect() as con:
        relation = tiny_project.build.manifest["sources"][  # type: ignore[index,union-attr]
            "source.derived_tables.common_platform.hearings"
        ]["relation_name"].replace(str(tiny_project.data_dir), str(work.data_dir))
        ((read,),) = con.execute(f"select count(*) from {relation}").fetchall()
    assert read == n_rows  # every real row, and nothing else


def test_withdrawn_future_partition_cannot_poison_the_periodic_snapshots(
    tiny_project: TinyProject, tmp_path: Path
) -> None:
    """The fault, on the periodic snapshots: a future-dated NOMIS and Delius partition,
    loaded once (a wrong as-of), stored days up to 2030 in fct_prison_population_daily and
    fct_probation_caseload_monthly; once withdrawn, their next recompute window starts after
    those days, so later corrections are silently skipped while the future days stay. The
    next incremental build must stop at the model's own guard (check_high_water_mark,
    naming the model and the fix, --full-refresh), so nothing is published. (Without the
    guard, the `<model>_<column>_not_after_as_of` data test would still fail the audit, but
    only after the model had been rebuilt on the poisoned window.)"""
    work = tiny_project.copy_to(tmp_path / "work")
    future = [
        _redate(max((work.data_dir / "nomis" / "movements").glob("extraction_date=*")), FUTURE),
        _redate(max((work.data_dir / "delius" / "events").glob("extraction_date=*")), FUTURE),
    ]
    selection = (
        "--select",
        "path:models/staging/nomis",
        "path:models/staging/delius",
        "int_nomis_extracts_summarised",
        "int_custody_stays_derived",
        "int_delius_extracts_summarised",
        "int_supervision_periods_derived",
        "fct_prison_population_daily",
        "fct_probation_caseload_monthly",
        "--exclude",
        "resource_type:unit_test",
    )
    wrong_clock = replace(work, env={**work.env, "DERIVED_AS_OF": "2031-01-01"})
    accepted = wrong_clock.dbt("run", *selection)
    assert accepted.result.ok, accepted.result.describe()
    with duckdb.connect(str(work.warehouse), read_only=True) as con:
        stored = con.execute(
            "select (select max(population_date) from prisons.fct_prison_population_daily), "
            "(select max(snapshot_date) from probation.fct_probation_caseload_monthly)"
        ).fetchone()
    assert stored is not None and [str(day) for day in stored] == [FUTURE, FUTURE]

    for folder in future:
        shutil.rmtree(folder)  # withdrawn upstream
    built = work.dbt("build", *selection)
    statuses = {uid.split(".")[2]: status for uid, status in built.statuses().items()}
    output = " ".join(built.result.output.split())
    assert not built.result.ok, output[-2000:]
    for model, column in (
        ("fct_prison_population_daily", "population_date"),
        ("fct_probation_caseload_monthly", "snapshot_date"),
    ):
        assert statuses.get(model) == "error", (model, statuses)
        guard = f"{model}: the stored high-water mark (max {column} = {FUTURE}"
        assert guard in output, output[-2000:]
    assert "--full-refresh" in output
