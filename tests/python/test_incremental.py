"""Incremental facts give exactly what a full refresh gives, and a re-run changes nothing.

On a copy of the session's tiny build (data and warehouse):
1. `derived generate --next-day` appends the next daily extract (new events, new versions,
   late-arriving rows for past dates);
2. `dbt run` runs incrementally on the existing warehouse;
3. from the same data, `dbt build --full-refresh` (seeds and models) builds a second
   warehouse, side by side with steps 2 and 4 (separate warehouses, targets and logs);
4. `dbt run` again on a copy of the incremental warehouse, with no new extract.

Data tests are not run again here: the session build ran them, and an incremental table equal
to a full refresh of the same data needs no other proof.

Every incremental model of the manifest (`config.materialized == 'incremental'`) must then have
exactly the same rows, duplicates included (EXCEPT ALL both ways, the second warehouse
attached in DuckDB), in the incremental warehouse and the full refresh; and the re-run must not
change any of them. A difference names the model and shows the differing rows.

Two models differ from a full refresh by design, and are held to a stated rule instead
(docs/linkage.md):
- `int_person_linkage_parameters` keeps the parameters of the last full build (an incremental
  run learns nothing), while a full refresh learns them again from the grown data: it must
  equal the session build's table, not the full refresh.
- `int_person_records_linked` scores the day's records with those stored parameters, the full
  refresh with the re-learnt ones: every column must be equal except `match_probability`,
  which may differ by at most LINKAGE_PROBABILITY_TOLERANCE (measured at this scale after one
  day: 5e-8; the people, ids and sizes must be identical). The person models' copies of it
  (`int_person_record_keys.match_probability`, `linkage_match_probability` of
  `int_person_versions` and `dim_person`) are held to the same tolerance.

The next-day extract must also change existing people (new versions of their records), not
only add new ones, so that the equality covers a person model patching a person it holds.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from conftest import DbtRun, TinyProject

#: The lead's decision (COMMON.md): large transaction facts and periodic snapshots are incremental.
EXPECTED_INCREMENTAL = (
    "fct_court_hearings",
    "fct_case_outcomes",
    "fct_prison_movements",
    "fct_prison_population_daily",
    "fct_probation_caseload_monthly",
    # accumulating snapshots reloaded by case / application (issue 9)
    "fct_case_timeliness",
    "fct_lpa_applications",
)
#: Differing rows shown per model and direction.
SHOWN_ROWS = 10
#: Models whose incremental run keeps what the last full build learnt (see the docstring).
KEEPS_FULL_BUILD = ("int_person_linkage_parameters",)
#: Columns that may differ from a full refresh by at most a tolerance, by model: the match
#: probability of the linkage, and the person models' copies of it (a person's weakest link).
TOLERATED = {
    "int_person_records_linked": {"match_probability": 1e-4},
    "int_person_record_keys": {"match_probability": 1e-4},
    "int_person_versions": {"linkage_match_probability": 1e-4},
    "dim_person": {"linkage_match_probability": 1e-4},
}
LINKAGE_PROBABILITY_TOLERANCE = TOLERATED["int_person_records_linked"]["match_probability"]
#: The columns rows are matched on to compare a tolerated column, where not the unique key
#: (the person models are patched by person, one row per person version).
MATCHED_ON = {
    "int_person_versions": ["person_id", "valid_from"],
    "dim_person": ["person_id", "valid_from"],
}
#: Existing defendants of linked people the next-day extract moves (_move_existing_defendants).
MOVED_DEFENDANTS = 3
#: The person models downstream of the linkage (docs/linkage.md, the person chain).
PERSON_MODELS = ("int_person_states_derived", "int_person_versions", "dim_person")
#: The courts intermediates patched by case (macros/courts/court_chain.sql).
COURT_CHAIN_MODELS = (
    "int_case_offences_ranked",
    "int_hearings_enriched",
    "int_case_outcomes_enriched",
    "int_case_milestones_aggregated",
)
#: The OPG models patched by application and donor (macros/opg/opg_chain.sql).
OPG_CHAIN_MODELS = ("int_lpa_applications_enriched", "int_donors_deduplicated", "dim_donor")
#: The late offence _correct_old_cases delivers (the most serious offence of the seed).
LATE_CASE_OFFENCE_ID = "CAOLATE0000001"
#: How much _correct_old_cases raises the corrected fine.
FINE_CORRECTION = 1000


@dataclass(frozen=True)
class OldCaseCorrections:
    """What _correct_old_cases delivered: the hearing moved from `moved_from` to `moved_to`,
    the case given a late principal offence, and the outcome whose fine was corrected."""

    hearing_id: str
    moved_from: str
    moved_to: str
    late_offence_case: str
    outcome_id: str


def _redelivered(table: str, where: str, replace: str, extraction_date: str) -> str:
    """The query re-delivering the latest delivery of the row of `table` where `where`, with
    the columns of `replace` (`expression as column, ...`) replaced, extracted on the morning
    of `extraction_date`."""
    extracted_at = f"cast(date '{extraction_date}' as timestamp) + interval 5 hour"
    return f"""
        select * exclude (extraction_date) replace (
            {replace}, {extracted_at} as _extracted_at
        )
        from {table}
        where {where}
        qualify row_number() over (order by extraction_date desc) = 1
    """


def _deliver_corrections(
    con: duckdb.DuckDBPyConnection, root: Path, extraction_date: str, deliveries: dict[str, str]
) -> None:
    """Write each query of `deliveries` (by table of the system folder `root`) as one extra
    file of the next-day partition: exactly one row each."""
    for table, query in deliveries.items():
        partition = root / table / f"extraction_date={extraction_date}"
        partition.mkdir(exist_ok=True)
        target = partition / "part-corrected.parquet"
        con.execute(f"copy ({query}) to '{target}' (format parquet)")
        written = con.execute(f"select count(*) from read_parquet('{target}')")
        assert written.fetchall()[0][0] == 1, f"no correction written for {table}"


def _correct_old_cases(project: TinyProject, extraction_date: str) -> OldCaseCorrections:
    """Deliver, in the next-day partition, late and corrected rows for old cases that the
    day touches in no other way, as a curated extract does: a hearing re-delivered under
    another case (the case it left is renumbered and recounted), a late offence more serious
    than any (it becomes its case's principal offence, so the case's other offences and
    their outcomes change), and an outcome re-delivered with a corrected fine."""
    root = project.data_dir / "common_platform"
    seed = Path(__file__).resolve().parents[2] / "seeds" / "ref_offences.csv"
    con = duckdb.connect()
    try:
        for table in ("cases", "case_offences", "hearings", "outcomes"):
            con.execute(
                f"create view {table} as select * from read_parquet("
                f"'{root / table}/*/*.parquet', hive_partitioning = true)"
            )
        # old cases: no row of them (or of their offences' outcomes) in the new partition
        con.execute(
            f"""
            create table quiet_cases as
            select case_id from cases
            except
            select case_id from cases where extraction_date = date '{extraction_date}'
            except
            select case_id from case_offences
            where extraction_date = date '{extraction_date}'
            except
            select case_id from hearings where extraction_date = date '{extraction_date}'
            except
            select case_offences.case_id from outcomes
            inner join case_offences
                on outcomes.case_offence_id = case_offences.case_offence_id
            where outcomes.extraction_date = date '{extraction_date}'
            """
        )
        hearing_cases = con.execute(
            """
            select case_id from hearings
            where case_id in (select case_id from quiet_cases)
            group by case_id having count(distinct hearing_id) >= 2
            order by case_id limit 2
            """
        ).fetchall()
        moved_from, moved_to = (row[0] for row in hearing_cases)
        hearing_id = con.execute(
            f"select min(hearing_id) from hearings where case_id = '{moved_from}'"
        ).fetchall()[0][0]
        con.execute(f"create table ref_offences as select * from read_csv('{seed}')")
        most_serious = con.execute(
            "select offence_code from ref_offences"
            " order by max_custody_days desc, offence_code limit 1"
        ).fetchall()[0][0]
        late_offence_case = con.execute(
            f"""
            select min(case_id) from case_offences
            where
                case_id in (select case_id from quiet_cases)
                and case_id not in ('{moved_from}', '{moved_to}')
                and case_offence_id in (select case_offence_id from outcomes)
                and case_id not in (
                    select case_offences.case_id from case_offences
                    inner join ref_offences
                        on case_offences.offence_code = ref_offences.offence_code
                    where ref_offences.max_custody_days = (
                        select max(max_custody_days) from ref_offences
                    )
                )
            """
        ).fetchall()[0][0]
        outcome_id = con.execute(
            f"""
            select min(outcomes.outcome_id) from outcomes
            inner join case_offences
                on outcomes.case_offence_id = case_offences.case_offence_id
            where
                case_offences.case_id in (select case_id from quiet_cases)
                and case_offences.case_id
                not in ('{moved_from}', '{moved_to}', '{late_offence_case}')
                and outcomes.verdict_code = 'GUILTY'
                and outcomes.disposal_code = 'FINE'
                and outcomes.fine_amount is not null
            """
        ).fetchall()[0][0]
        extracted_at = f"cast(date '{extraction_date}' as timestamp) + interval 5 hour"
        deliveries = {
            "hearings": _redelivered(
                "hearings",
                f"hearing_id = '{hearing_id}'",
                f"'{moved_to}' as case_id",
                extraction_date,
            ),
            "case_offences": f"""
                select * exclude (extraction_date) replace (
                    '{LATE_CASE_OFFENCE_ID}' as case_offence_id,
                    '{most_serious}' as offence_code,
                    99 as offence_sequence,
                    {extracted_at} as _extracted_at
                )
                from case_offences
                where case_id = '{late_offence_case}'
                qualify row_number() over (
                    order by extraction_date desc, case_offence_id
                ) = 1
            """,
            "outcomes": _redelivered(
                "outcomes",
                f"outcome_id = '{outcome_id}'",
                f"fine_amount + {FINE_CORRECTION} as fine_amount",
                extraction_date,
            ),
        }
        _deliver_corrections(con, root, extraction_date, deliveries)
    finally:
        con.close()
    return OldCaseCorrections(
        hearing_id=hearing_id,
        moved_from=moved_from,
        moved_to=moved_to,
        late_offence_case=late_offence_case,
        outcome_id=outcome_id,
    )


def _move_existing_defendants(project: TinyProject, extraction_date: str) -> None:
    """Deliver, in the next-day partition, a new version (a move to a Truro postcode) of
    MOVED_DEFENDANTS existing defendants whose person has several records, with their
    superseded versions re-delivered closed, as a curated extract does: the generator's next
    day at this scale adds people but may give no existing record a new version."""
    table = project.data_dir / "common_platform" / "defendants"
    partition = table / f"extraction_date={extraction_date}"
    partition.mkdir(exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute(f"attach '{project.warehouse}' as built (read_only)")
        con.execute(
            f"""
            copy (
                with
                delivered as (
                    select * from read_parquet(
                        '{table}/*/*.parquet', hive_partitioning = true
                    )
                ),
                moved as (
                    select delivered.* exclude (extraction_date)
                    from delivered
                    inner join built.intermediate.int_person_records_linked as linked
                        on linked.record_key = 'common_platform:' || delivered.defendant_id
                    where
                        delivered._is_current
                        and linked.cluster_size > 1
                        and delivered.postcode not like 'TR%'
                        and delivered.defendant_id not in (
                            select defendant_id from delivered
                            where extraction_date = date '{extraction_date}'
                        )
                    order by delivered.defendant_id
                    limit {MOVED_DEFENDANTS}
                ),
                moved_at as (
                    select
                        cast(date '{extraction_date}' as timestamp)
                        - interval 12 hour as valid_from,
                        cast(date '{extraction_date}' as timestamp)
                        + interval 5 hour as extracted_at
                )
                select moved.* replace (
                    moved_at.valid_from as _valid_to,
                    false as _is_current,
                    moved_at.extracted_at as _extracted_at
                )
                from moved cross join moved_at
                union all
                select moved.* replace (
                    'TR1 ' || right(moved.defendant_id, 1) || 'AB' as postcode,
                    moved_at.valid_from as _valid_from,
                    cast(null as timestamp) as _valid_to,
                    true as _is_current,
                    moved_at.extracted_at as _extracted_at
                )
                from moved cross join moved_at
            ) to '{partition / "part-moved.parquet"}' (format parquet)
            """
        )
        written = con.execute(
            f"select count(*) from read_parquet('{partition / 'part-moved.parquet'}')"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert written == 2 * MOVED_DEFENDANTS, (
        f"moved {written // 2} defendants, not {MOVED_DEFENDANTS}"
    )


@dataclass(frozen=True)
class OldApplicationCorrections:
    """What _correct_old_applications delivered: the application `lpa_id` re-delivered under
    the donor `donor_to` (its only other donor, `donor_from`, then has no application), and
    the attorney `attorney_id` re-delivered from application `attorney_from` to
    `attorney_to`."""

    lpa_id: str
    donor_from: str
    donor_to: str
    attorney_id: str
    attorney_from: str
    attorney_to: str


def _correct_old_applications(
    project: TinyProject, extraction_date: str
) -> OldApplicationCorrections:
    """Deliver, in the next-day partition, corrections to old LPA applications that the day
    touches in no other way (the OPG chain, macros/opg/opg_chain.sql): an application's
    current version re-delivered under another existing donor (its donor, who had no other
    application, leaves int_donors_deduplicated and dim_donor; the other donor's row is
    recomputed), and an attorney re-delivered under another application (the one it left
    is recounted)."""
    root = project.data_dir / "sirius"
    con = duckdb.connect()
    try:
        for table in ("lpa_applications", "attorneys"):
            con.execute(
                f"create view {table} as select * from read_parquet("
                f"'{root / table}/*/*.parquet', hive_partitioning = true)"
            )
        # old applications: no row of them, or of their attorneys, in the new partition
        con.execute(
            f"""
            create table quiet as
            select lpa_id, donor_id from lpa_applications
            where lpa_id not in (
                select lpa_id from lpa_applications
                where extraction_date = date '{extraction_date}'
                union all
                select lpa_id from attorneys
                where extraction_date = date '{extraction_date}'
            )
            """
        )
        # donors of one application only, which no new row names
        lpa_id, donor_from = con.execute(
            f"""
            select min(lpa_id), min(donor_id) from quiet
            where donor_id in (
                select donor_id from lpa_applications
                group by donor_id having count(distinct lpa_id) = 1
            )
            and donor_id not in (
                select donor_id from lpa_applications
                where extraction_date = date '{extraction_date}'
            )
            group by donor_id order by donor_id limit 1
            """
        ).fetchall()[0]
        donor_to = con.execute(
            f"""
            select min(donor_id) from quiet
            where donor_id != '{donor_from}'
            and donor_id not in (
                select donor_id from lpa_applications
                where extraction_date = date '{extraction_date}'
            )
            """
        ).fetchall()[0][0]
        attorney_id, attorney_from, attorney_to = con.execute(
            f"""
            with candidates as (
                select distinct lpa_id from quiet
                where lpa_id != '{lpa_id}'
                and lpa_id in (select lpa_id from attorneys)
                order by lpa_id limit 2
            )
            select min(attorneys.attorney_id), min(attorneys.lpa_id),
                (select max(lpa_id) from candidates)
            from attorneys
            where attorneys.lpa_id = (select min(lpa_id) from candidates)
            """
        ).fetchall()[0]
        deliveries = {
            "lpa_applications": _redelivered(
                "lpa_applications",
                f"lpa_id = '{lpa_id}' and _is_current",
                f"'{donor_to}' as donor_id",
                extraction_date,
            ),
            "attorneys": _redelivered(
                "attorneys",
                f"attorney_id = '{attorney_id}'",
                f"'{attorney_to}' as lpa_id",
                extraction_date,
            ),
        }
        _deliver_corrections(con, root, extraction_date, deliveries)
    finally:
        con.close()
    assert attorney_from != attorney_to, "no second old application to move an attorney to"
    return OldApplicationCorrections(
        lpa_id=lpa_id,
        donor_from=donor_from,
        donor_to=donor_to,
        attorney_id=attorney_id,
        attorney_from=attorney_from,
        attorney_to=attorney_to,
    )


@dataclass(frozen=True)
class IncrementalRuns:
    original: TinyProject
    incremental: TinyProject
    full_refresh: TinyProject
    rerun: TinyProject
    next_day_extraction_date: str
    corrections: OldCaseCorrections
    opg_corrections: OldApplicationCorrections
    incremental_run: DbtRun
    full_refresh_run: DbtRun
    rerun_run: DbtRun

    def relation(self, catalog: str, name: str) -> str:
        """The quoted relation of model `name` in the attached warehouse `catalog`."""
        node = self.incremental_run.manifest["nodes"][f"model.derived_tables.{name}"]  # type: ignore[index]
        return f'{catalog}."{node["schema"]}"."{node["alias"]}"'

    def assert_incremental(self, names: tuple[str, ...], what: str) -> None:
        """Each of the models `names` (`what`, for the message) is incremental."""
        models = self.incremental_models()
        missing = [name for name in names if name not in models]
        assert not missing, f"{what} that are not incremental: {missing}"

    def connect_after_and_before(self) -> duckdb.DuckDBPyConnection:
        """The incremental warehouse (catalog `warehouse`), read-only, with the session
        build's attached as `before`."""
        con = duckdb.connect(str(self.incremental.warehouse), read_only=True)
        con.execute(f"attach '{self.original.warehouse}' as before (read_only)")
        return con

    def incremental_models(self) -> dict[str, dict[str, Any]]:
        manifest = self.incremental_run.manifest
        assert manifest is not None, self.incremental_run.result.describe()
        return {
            node["name"]: node
            for node in manifest["nodes"].values()
            if node["resource_type"] == "model"
            and node["config"].get("materialized") == "incremental"
        }


@pytest.fixture(scope="module")
def runs(tiny_project: TinyProject, tmp_path_factory: pytest.TempPathFactory) -> IncrementalRuns:
    root = tmp_path_factory.mktemp("incremental")
    incremental = tiny_project.copy_to(root / "incremental")

    next_day = incremental.derived(
        "generate",
        "--next-day",
        "--out",
        str(incremental.data_dir),
        "--truth-out",
        str(incremental.truth_dir),
    )
    if not next_day.ok:
        pytest.fail(f"derived generate --next-day failed: {next_day.describe()}", pytrace=False)
    dates = sorted(
        path.name.split("=", 1)[1]
        for path in incremental.data_dir.glob("*/*/extraction_date=*")
        if path.is_dir()
    )
    next_extraction_date = dates[-1]
    _move_existing_defendants(incremental, next_extraction_date)
    corrections = _correct_old_cases(incremental, next_extraction_date)
    opg_corrections = _correct_old_applications(incremental, next_extraction_date)
    # The full refresh reads the very same data (the copy with the next day appended).
    full_refresh_wh = root / "full_refresh" / "warehouse.duckdb"
    full_refresh_wh.parent.mkdir()
    full_refresh = incremental.with_warehouse(full_refresh_wh, "full_refresh")
    # The re-run starts from the incremental warehouse as step 2 leaves it.
    rerun_wh = root / "rerun" / "warehouse.duckdb"
    rerun_wh.parent.mkdir()
    rerun = incremental.with_warehouse(rerun_wh, "rerun")

    def incremental_then_rerun() -> tuple[DbtRun, DbtRun]:
        run = incremental.dbt("run")
        shutil.copy2(incremental.warehouse, rerun_wh)
        return run, rerun.dbt("run")

    def full_refresh_build() -> DbtRun:
        return full_refresh.dbt(
            "build", "--full-refresh", "--resource-type", "seed", "--resource-type", "model"
        )

    # Two separate warehouses, target and log paths: the two chains run side by side.
    with ThreadPoolExecutor(max_workers=2) as pool:
        first_chain = pool.submit(incremental_then_rerun)
        second_chain = pool.submit(full_refresh_build)
        incremental_run, rerun_run = first_chain.result()
        full_refresh_run = second_chain.result()

    for name, run in (
        ("incremental dbt run", incremental_run),
        ("full-refresh dbt build (seeds, models)", full_refresh_run),
        ("re-run dbt run", rerun_run),
    ):
        print(f"\n{name}: {run.result.seconds:.0f} s, exit {run.result.returncode}")
    return IncrementalRuns(
        original=tiny_project,
        incremental=incremental,
        full_refresh=full_refresh,
        rerun=rerun,
        next_day_extraction_date=next_extraction_date,
        corrections=corrections,
        opg_corrections=opg_corrections,
        incremental_run=incremental_run,
        full_refresh_run=full_refresh_run,
        rerun_run=rerun_run,
    )


def _failed_nodes(run: DbtRun) -> list[str]:
    """Nodes that did not succeed (an exposure has nothing to run: `no-op` is its success)."""
    return sorted(
        f"{unique_id}: {status}"
        for unique_id, status in run.statuses().items()
        if status not in {"success", "pass"}
        and not (unique_id.startswith("exposure.") and status == "no-op")
    )


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list[str]:
    rows = con.execute(
        "select column_name from information_schema.columns"
        " where table_catalog = ? and table_schema = ? and table_name = ?"
        " order by ordinal_position",
        [catalog, schema, table],
    ).fetchall()
    return [name for (name,) in rows]


def _tolerated_differences(
    con: duckdb.DuckDBPyConnection, name: str, node: dict[str, Any], columns: list[str]
) -> list[str]:
    """``name``'s rows matched on its unique key: the tolerated columns' largest differences
    beyond their tolerance."""
    schema, table = node["schema"], node["alias"]
    keys = MATCHED_ON.get(name, node["config"]["unique_key"])
    keys = [keys] if isinstance(keys, str) else keys
    on = " and ".join(f'l."{key}" = r."{key}"' for key in keys)
    report = []
    for column, tolerance in TOLERATED[name].items():
        if column not in columns:
            continue
        count, largest = con.execute(
            f'select count(*), max(abs(l."{column}" - r."{column}"))'
            f' from warehouse."{schema}"."{table}" as l'
            f' inner join other."{schema}"."{table}" as r on {on}'
            f' where (l."{column}" is null) != (r."{column}" is null)'
            f' or abs(l."{column}" - r."{column}") > {tolerance}'
        ).fetchall()[0]
        if count:
            report.append(
                f"{name}: {count} row(s) whose {column} differs by more than {tolerance}"
                f" (largest difference {largest})"
            )
    return report


def _differences(
    left: Path,
    right: Path,
    models: dict[str, dict[str, Any]],
    labels: tuple[str, str],
    tolerated: bool = False,
) -> list[str]:
    """Per model, the rows in one warehouse and not the other (EXCEPT ALL, both ways); with
    ``tolerated``, the TOLERATED columns are compared within their tolerance instead."""
    con = duckdb.connect(str(left), read_only=True)
    try:
        con.execute(f"attach '{right}' as other (read_only)")
        report = []
        for name, node in sorted(models.items()):
            schema, table = node["schema"], node["alias"]
            left_columns = _columns(con, "warehouse", schema, table)
            right_columns = _columns(con, "other", schema, table)
            if not left_columns or not right_columns:
                report.append(
                    f"{name}: missing in the {labels[0] if not left_columns else labels[1]}"
                    " warehouse"
                )
                continue
            if left_columns != right_columns:
                report.append(
                    f"{name}: columns differ\n  {labels[0]}: {left_columns}\n"
                    f"  {labels[1]}: {right_columns}"
                )
                continue
            compared = left_columns
            if tolerated and name in TOLERATED:
                report.extend(_tolerated_differences(con, name, node, left_columns))
                compared = [c for c in left_columns if c not in TOLERATED[name]]
            column_list = ", ".join(f'"{column}"' for column in compared)
            left_rel = f'warehouse."{schema}"."{table}"'
            right_rel = f'other."{schema}"."{table}"'
            for first, second, label in (
                (left_rel, right_rel, f"only in the {labels[0]}"),
                (right_rel, left_rel, f"only in the {labels[1]}"),
            ):
                query = (
                    f"select {column_list} from {first}"
                    f" except all select {column_list} from {second}"
                )
                count = con.execute(f"select count(*) from ({query})").fetchall()[0][0]
                if count:
                    sample = con.execute(
                        f"select * from ({query}) order by all limit {SHOWN_ROWS}"
                    ).fetchall()
                    lines = "\n".join(f"    {row}" for row in sample)
                    report.append(
                        f"{name}: {count} row(s) {label}; columns {left_columns}; first"
                        f" {min(count, SHOWN_ROWS)}:\n{lines}"
                    )
        return report
    finally:
        con.close()


@pytest.mark.slow
def test_expected_facts_are_incremental(runs: IncrementalRuns) -> None:
    incremental = runs.incremental_models()
    missing = [name for name in EXPECTED_INCREMENTAL if name not in incremental]
    assert not missing, (
        f"facts that should be incremental (COMMON.md) but are not: {missing}; "
        f"incremental models: {sorted(incremental)}"
    )


@pytest.mark.slow
def test_incremental_run_after_next_day_succeeds(runs: IncrementalRuns) -> None:
    run = runs.incremental_run
    failed = _failed_nodes(run)
    assert not failed, "incremental dbt run, failed nodes:\n" + "\n".join(failed)
    assert run.result.ok, run.result.describe()
    assert run.run_results is not None
    assert not run.run_results["args"].get("full_refresh")
    statuses = run.statuses()
    ran = [
        node["name"] for node in runs.incremental_models().values() if node["unique_id"] in statuses
    ]
    assert ran, "the incremental run ran no incremental model"


@pytest.mark.slow
def test_next_day_changed_the_incremental_facts(runs: IncrementalRuns) -> None:
    """Otherwise the equality below would prove nothing."""
    models = runs.incremental_models()
    assert models, "no incremental model in the project"
    changed = _differences(
        runs.original.warehouse,
        runs.incremental.warehouse,
        models,
        ("first build", "incremental build"),
    )
    assert changed, (
        f"the next-day extract ({runs.next_day_extraction_date}) changed no incremental model"
    )


def _tables(warehouse: Path) -> set[tuple[str, str]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute("select table_schema, table_name from information_schema.tables")
        return {(schema, name) for schema, name in rows.fetchall()}
    finally:
        con.close()


@pytest.mark.slow
def test_incremental_models_existed_before_the_incremental_run(runs: IncrementalRuns) -> None:
    """A model the session build did not build ran as a first build, not as an increment: the
    equality below would then prove nothing about it."""
    built = _tables(runs.original.warehouse)
    not_built = sorted(
        name
        for name, node in runs.incremental_models().items()
        if (node["schema"], node["alias"]) not in built
    )
    assert not not_built, (
        f"incremental models absent from the session build, so not tested incrementally:"
        f" {not_built} (see test_dbt_build.py for why they were not built)"
    )


@pytest.mark.slow
def test_incremental_equals_full_refresh(runs: IncrementalRuns) -> None:
    run = runs.full_refresh_run
    failed = _failed_nodes(run)
    assert run.result.ok and not failed, (
        "full-refresh dbt build failed:\n" + "\n".join(failed) + "\n" + run.result.describe()
    )
    models = runs.incremental_models()
    assert models, "no incremental model in the project"
    differences = _differences(
        runs.incremental.warehouse,
        runs.full_refresh.warehouse,
        {name: node for name, node in models.items() if name not in KEEPS_FULL_BUILD},
        ("incremental", "full refresh"),
        tolerated=True,
    )
    assert not differences, (
        f"incremental models differ from a full refresh after the next-day extract"
        f" ({runs.next_day_extraction_date}):\n" + "\n".join(differences)
    )


@pytest.mark.slow
def test_incremental_run_keeps_what_the_full_build_learnt(runs: IncrementalRuns) -> None:
    """The linkage parameters of the session's full build, unchanged by the incremental run."""
    models = runs.incremental_models()
    kept = {name: models[name] for name in KEEPS_FULL_BUILD}
    assert len(kept) == len(KEEPS_FULL_BUILD), f"not incremental: {KEEPS_FULL_BUILD}"
    differences = _differences(
        runs.original.warehouse, runs.incremental.warehouse, kept, ("full build", "incremental")
    )
    assert not differences, "the incremental run changed what the full build learnt:\n" + (
        "\n".join(differences)
    )


@pytest.mark.slow
def test_incremental_rerun_without_new_extract_changes_nothing(runs: IncrementalRuns) -> None:
    run = runs.rerun_run
    failed = _failed_nodes(run)
    assert run.result.ok and not failed, (
        "re-run failed:\n" + "\n".join(failed) + "\n" + run.result.describe()
    )
    models = runs.incremental_models()
    assert models, "no incremental model in the project"
    differences = _differences(
        runs.incremental.warehouse,
        runs.rerun.warehouse,
        models,
        ("first incremental run", "re-run"),
    )
    assert not differences, "a re-run with no new extract changed incremental models:\n" + (
        "\n".join(differences)
    )


@pytest.mark.slow
def test_next_day_changed_existing_people(runs: IncrementalRuns) -> None:
    """The next day gives records of existing people a new version, and the person models
    patched those people: otherwise the equality above would prove only that new people
    are added."""
    models = runs.incremental_models()
    missing = [name for name in PERSON_MODELS if name not in models]
    assert not missing, f"person models that are not incremental: {missing}"
    unioned = models["int_person_records_unioned"]
    versions = models["int_person_versions"]
    con = duckdb.connect(str(runs.incremental.warehouse), read_only=True)
    try:
        con.execute(f"attach '{runs.original.warehouse}' as before (read_only)")
        changed_records = con.execute(
            f"""
            select count(*)
            from warehouse.{unioned["schema"]}.{unioned["alias"]} as now
            inner join before.{unioned["schema"]}.{unioned["alias"]} as was
                on now.record_key = was.record_key
            where now.record_updated_at != was.record_updated_at
            """
        ).fetchall()[0][0]
        changed_people = con.execute(
            f"""
            with
            now as (
                select * from warehouse.{versions["schema"]}.{versions["alias"]}
                where person_id in (
                    select person_id from before.{versions["schema"]}.{versions["alias"]}
                )
            ),
            was as (
                select * from before.{versions["schema"]}.{versions["alias"]}
            ),
            differing as (
                (select * from now except all select * from was)
                union all
                (select * from was except all select * from now)
            )
            select count(distinct person_id) from differing
            """
        ).fetchall()[0][0]
    finally:
        con.close()
    assert changed_records > 0, "the next-day extract gave no existing person record a new version"
    assert changed_people > 0, "the next-day extract changed no existing person's versions"


@pytest.mark.slow
def test_late_and_corrected_rows_for_old_cases_are_picked_up(runs: IncrementalRuns) -> None:
    """The courts chain patched by case (macros/courts/court_chain.sql) picks up the late and
    corrected rows _correct_old_cases delivered for old cases, down to the facts: the moved
    hearing under its new case, and the case it left recounted; the late offence as its
    case's principal offence, and that case's outcomes re-flagged; the corrected fine. The
    equality with a full refresh is test_incremental_equals_full_refresh."""
    runs.assert_incremental(COURT_CHAIN_MODELS, "courts intermediates")
    fixed = runs.corrections

    relation = runs.relation
    con = runs.connect_after_and_before()
    try:

        def one(query: str) -> tuple[Any, ...]:
            rows = con.execute(query).fetchall()
            assert len(rows) == 1, (query, rows)
            return rows[0]

        for name in ("int_hearings_enriched", "fct_court_hearings"):
            (case_id,) = one(
                f"select case_id from {relation('warehouse', name)}"
                f" where hearing_id = '{fixed.hearing_id}'"
            )
            assert case_id == fixed.moved_to, f"{name}: the moved hearing is still in {case_id}"
        for case_id, change in ((fixed.moved_from, -1), (fixed.moved_to, 1)):
            for name in ("int_case_milestones_aggregated", "fct_case_timeliness"):
                query = "select number_of_hearings from {} where case_id = '" + case_id + "'"
                (now,) = one(query.format(relation("warehouse", name)))
                (was,) = one(query.format(relation("before", name)))
                assert now == was + change, (
                    f"{name}: case {case_id} has {now} hearings, {was} before the hearing moved"
                )
        (principal,) = one(
            f"select is_principal_offence from {relation('warehouse', 'int_case_offences_ranked')}"
            f" where case_offence_id = '{LATE_CASE_OFFENCE_ID}'"
        )
        assert principal, "the late, most serious offence is not its case's principal offence"
        for name in ("int_case_outcomes_enriched", "fct_case_outcomes"):
            (principal_outcomes, outcomes) = one(
                f"select count(*) filter (where is_principal_offence), count(*)"
                f" from {relation('warehouse', name)}"
                f" where case_id = '{fixed.late_offence_case}'"
            )
            assert outcomes > 0 and principal_outcomes == 0, (
                f"{name}: {principal_outcomes} of the {outcomes} outcome(s) of case"
                f" {fixed.late_offence_case} still on the principal offence, which a late"
                " offence (without an outcome) replaced"
            )
        for name in ("int_case_outcomes_enriched", "fct_case_outcomes"):
            query = "select fine_amount from {} where outcome_id = '" + fixed.outcome_id + "'"
            (now,) = one(query.format(relation("warehouse", name)))
            (was,) = one(query.format(relation("before", name)))
            assert now == was + FINE_CORRECTION, f"{name}: the corrected fine is {now}, was {was}"
    finally:
        con.close()


def test_corrections_to_old_applications_are_picked_up(runs: IncrementalRuns) -> None:
    """The OPG chain patched by key (macros/opg/opg_chain.sql) picks up the corrections
    _correct_old_applications delivered for old applications, down to the mart: the
    application under its new donor, the donor it left (no other application) gone from
    int_donors_deduplicated and dim_donor, and the attorney counted on its new application
    and no longer on the one it left. The equality with a full refresh is
    test_incremental_equals_full_refresh."""
    runs.assert_incremental(OPG_CHAIN_MODELS, "OPG chain models")
    fixed = runs.opg_corrections

    relation = runs.relation
    con = runs.connect_after_and_before()
    try:

        def scalar(query: str) -> Any:
            rows = con.execute(query).fetchall()
            assert len(rows) == 1, (query, rows)
            return rows[0][0]

        enriched = relation("warehouse", "int_lpa_applications_enriched")
        donor = scalar(f"select donor_id from {enriched} where lpa_id = '{fixed.lpa_id}'")
        assert donor == fixed.donor_to, f"application {fixed.lpa_id} still has donor {donor}"
        donors = relation("warehouse", "int_donors_deduplicated")
        for donor_id, expected in ((fixed.donor_from, 0), (fixed.donor_to, 1)):
            found = scalar(f"select count(*) from {donors} where donor_id = '{donor_id}'")
            assert found == expected, f"int_donors_deduplicated: {found} row(s) of {donor_id}"
        pseudonym = scalar(
            f"select pseudonymised_donor_id from before.{donors.split('.', 1)[1]}"
            f" where donor_id = '{fixed.donor_from}'"
        )
        dim = relation("warehouse", "dim_donor")
        found = scalar(f"select count(*) from {dim} where donor_id = '{pseudonym}'")
        assert found == 0, f"dim_donor still holds the donor {fixed.donor_from} left without"
        fact = relation("warehouse", "fct_lpa_applications")
        moved_key = scalar(f"select donor_key from {fact} where lpa_id = '{fixed.lpa_id}'")
        new_key = scalar(
            f"select dim.donor_key from {dim} as dim inner join {donors} as donors"
            f" on dim.donor_id = donors.pseudonymised_donor_id"
            f" where donors.donor_id = '{fixed.donor_to}'"
        )
        assert moved_key == new_key, "fct_lpa_applications: the moved application's donor key"
        for lpa_id, change in ((fixed.attorney_from, -1), (fixed.attorney_to, 1)):
            for name in ("int_lpa_applications_enriched", "fct_lpa_applications"):
                query = "select number_of_attorneys from {} where lpa_id = '" + lpa_id + "'"
                now = scalar(query.format(relation("warehouse", name)))
                was = scalar(query.format(relation("before", name)))
                assert now == was + change, (
                    f"{name}: application {lpa_id} has {now} attorneys, {was} before"
                    f" attorney {fixed.attorney_id} moved"
                )
    finally:
        con.close()


def _rewrite_latest_partition(work: TinyProject, system: str, table: str) -> None:
    """Deliver one row of the latest partition of `system`.`table` again, in an extra file of
    that partition: a partition rewritten in place, which rebuilds its staging model in
    full."""
    partition = max((work.data_dir / system / table).glob("extraction_date=*"))
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * from read_parquet('{partition}/*.parquet') limit 1)"
            f" to '{partition / 'part-rewritten.parquet'}' (format parquet)"
        )


def _assert_chain_rebuilt_in_full(run: DbtRun, staging: str, models: tuple[str, ...]) -> None:
    """`run` succeeded, rebuilt the staging model `staging` in full, and so each of the
    chain's `models`, with that reason in the log."""
    assert run.result.ok, run.result.describe()
    output = " ".join(run.result.output.split())
    assert f"{staging}: rebuilt in full" in output, output[-3000:]
    for model in models:
        expected = f"{model}: rebuilt in full: {staging} was rebuilt in full"
        assert expected in output, f"{model} was not rebuilt in full: {output[-3000:]}"


@pytest.mark.slow
def test_courts_chain_rebuilds_in_full_when_a_person_history_is_rebuilt(
    tiny_project: TinyProject, tmp_path: Path
) -> None:
    """A prison offender partition rewritten in place (one row delivered again in an extra
    file) rebuilds stg_nomis__offender_history in full: a person's versions can then change
    without a changed record, which the touched persons would miss, so the courts chain
    rebuilds in full (and the courts facts compare every row) instead of patching by case
    (macros/courts/court_chain.sql)."""
    work = tiny_project.copy_to(tmp_path / "work")
    _rewrite_latest_partition(work, "nomis", "offenders")
    _assert_chain_rebuilt_in_full(
        work.dbt("run"), "stg_nomis__offender_history", COURT_CHAIN_MODELS
    )


@pytest.mark.slow
def test_opg_chain_rebuilds_in_full_when_a_sirius_staging_model_is_rebuilt(
    tiny_project: TinyProject, tmp_path: Path
) -> None:
    """A Sirius attorneys partition rewritten in place (one row delivered again in an extra
    file) rebuilds stg_sirius__attorneys in full: rows can then change or vanish without a
    newer extraction date, which int_lpa_applications_touched would miss, so the OPG chain
    rebuilds in full instead of patching by key (macros/opg/opg_chain.sql); and so does a
    model of the chain selected without int_lpa_applications_touched."""
    work = tiny_project.copy_to(tmp_path / "work")
    _rewrite_latest_partition(work, "sirius", "attorneys")
    _assert_chain_rebuilt_in_full(
        work.dbt("run", "--select", "+dim_donor", "+int_lpa_applications_enriched"),
        "stg_sirius__attorneys",
        OPG_CHAIN_MODELS,
    )
    # a selection without the touched table: its rows are an earlier run's
    alone = work.dbt("run", "--select", "int_donors_deduplicated")
    assert alone.result.ok, alone.result.describe()
    output = " ".join(alone.result.output.split())
    expected = (
        "int_donors_deduplicated: rebuilt in full:"
        " int_lpa_applications_touched did not run in this invocation"
    )
    assert expected in output, output[-3000:]
