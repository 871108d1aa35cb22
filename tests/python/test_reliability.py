"""Reliability and security of inputs and publishing (issue 11), on the session's tiny build.

Each test plays a fault the way it really happens, on a copy of the tiny build:

- **Raw personal data in the published file.** `derived build` publishes only the relations
  marked `meta: {published: true}` (publish.export_public). The published file that export
  writes from the tiny build is scanned, every column of every relation, for the raw
  identifiers found in the curated data (names, PNC numbers, postcodes, prison numbers, CRNs,
  defendant, donor and attorney ids); the same scan of the private build file must find them
  (so the scan can fail).
- **A future-dated partition** (a wrong clock upstream) is refused before any model builds;
  loaded anyway (a wrong as-of) and then withdrawn, it leaves the incremental facts'
  high-water mark in the future: the next incremental run must stop, saying to rebuild with
  `--full-refresh`, instead of silently skipping later rows; the full refresh then succeeds.
- **What the warehouse was built from**: `fct_source_extractions` lists exactly the curated
  partitions read.

The write-audit-publish flow itself (partitions landing during a build, hidden files, failures
at publish) is tested on a tiny throw-away project in test_publish.py.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from conftest import TinyProject
from derived_tables import publish

pytestmark = pytest.mark.slow

#: Values shorter than this are not evidence of a leak (initials, short codes).
MIN_VALUE_LENGTH = 4


def _raw_identifiers(tiny: TinyProject, manifest: dict) -> list[tuple[str, str]]:
    """(value, where) of every raw personal identifier in the curated data: every text column
    a source YAML tags `personal_data: true`. Dates of birth are left out: a date alone
    identifies no one, and dates fill every fact (they are coarsened before the marts, which
    test_personal_data.py checks on the manifest)."""
    found: dict[str, str] = {}
    with duckdb.connect() as con:
        for source in manifest["sources"].values():
            files = tiny.data_dir / source["schema"] / source["name"]
            personal = [
                name
                for name, column in source["columns"].items()
                if (column.get("meta") or {}).get("personal_data")
                and (column.get("data_type") or "").lower() == "varchar"
            ]
            if not personal or not files.is_dir():
                continue
            for column in personal:
                rows = con.execute(
                    f"select distinct trim(cast({column} as varchar)) from read_parquet("
                    f"'{files}/extraction_date=*/[!._]*.parquet', union_by_name = true) "
                    f"where length(trim(cast({column} as varchar))) >= {MIN_VALUE_LENGTH}"
                ).fetchall()
                for (value,) in rows:
                    found.setdefault(value, f"{source['source_name']}.{source['name']}.{column}")
    return sorted(found.items())


#: Relations built from no curated data (the seeds, the calendar): a curated value that is also
#: one of theirs (a surname that is a place, `Sutton`; a first name that is a month, `June`)
#: is not evidence of a leak.
NOT_FROM_CURATED = "schema_name = 'reference' or (schema_name, table_name) = ('common', 'dim_date')"


def _reference_values(database: Path) -> set[str]:
    values: set[str] = set()
    with duckdb.connect(str(database), read_only=True) as con:
        columns = con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            f"where database_name = current_database() and ({NOT_FROM_CURATED}) "
            "and data_type = 'VARCHAR'"
        ).fetchall()
        for schema, table, column in columns:
            rows = con.execute(f'select distinct trim("{column}") from "{schema}"."{table}"')
            values.update(value for (value,) in rows.fetchall() if value is not None)
    return values


def _scan(database: Path, identifiers: list[tuple[str, str]]) -> list[str]:
    """Every (relation, column) of `database` holding one of `identifiers`, with an example."""
    hits = []
    with duckdb.connect(str(database), read_only=True) as con:
        con.execute("create temp table raw_identifiers (value varchar, found_in varchar)")
        con.executemany("insert into raw_identifiers values (?, ?)", identifiers)
        columns = con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where database_name = current_database() and schema_name != 'pg_catalog' "
            "and table_name not in (select view_name from duckdb_views() where internal)"
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
