"""Every analysis compiles, reads marts only, runs on the tiny warehouse and answers plausibly.

`dbt docs generate` on the session's tiny build compiles the analyses (fixture `tiny_docs`);
each compiled query then runs (read-only) on the tiny warehouse and must return rows
that pass generic checks (no negative measure, shares between 0 and 1, the columns documented
in analyses/_analyses.yml) and the analysis's own plausibility checks below. A new analysis
needs a header (the question and how to read it), YAML documentation and an entry in CHECKS.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import yaml

from conftest import PROJECT_ROOT, TINY_AS_OF, TinyDocs, TinyProject

ANALYSES_DIR = PROJECT_ROOT / "analyses"
ANALYSIS_FILES = {path.stem: path for path in sorted(ANALYSES_DIR.rglob("*.sql"))}
Row = dict[str, Any]

#: Shares that may exceed 1: occupancy is population over capacity.
UNBOUNDED_RATES = {"occupancy_rate", "peak_occupancy_rate"}


# --- per-analysis plausibility ---------------------------------------------------------------


def _total(rows: list[Row], column: str) -> float:
    return sum(row[column] or 0 for row in rows)


def _check_case_duration(rows: list[Row]) -> None:
    for row in rows:
        assert row["completed_cases"] > 0, row
        low, median, high = (
            row["lower_quartile_days"],
            row["median_days_offence_to_completion"],
            row["upper_quartile_days"],
        )
        assert 0 <= low <= median <= high, row
        assert 0 < median < 10 * 365, f"implausible median case duration: {row}"
        assert row["mean_days_offence_to_completion"] > 0, row
    assert len({row["region_name"] for row in rows}) > 1, "cases completed in one region only"


def _check_custody_rate(rows: list[Row]) -> None:
    for row in rows:
        assert row["sentences"] > 0, row
        assert row["immediate_custodial_sentences"] <= row["sentences"], row
        assert row["custody_rate"] + row["suspended_rate"] <= 1 + 1e-9, row
        assert math.isclose(
            row["custody_rate"], row["immediate_custodial_sentences"] / row["sentences"]
        ), row
        if row["immediate_custodial_sentences"]:
            assert row["median_custodial_sentence_days"] > 0, row
        else:
            assert row["median_custodial_sentence_days"] is None, row
    overall = _total(rows, "immediate_custodial_sentences") / _total(rows, "sentences")
    assert 0.01 < overall < 0.9, f"overall custody rate {overall:.3f} is implausible"


def _check_hearing_effectiveness(rows: list[Row]) -> None:
    for row in rows:
        assert row["listed_hearings"] > 0, row
        shares = row["effective_rate"] + row["adjourned_rate"] + row["vacated_rate"]
        assert math.isclose(shares, 1.0, abs_tol=1e-9), f"shares add up to {shares}: {row}"
    court_types = {row["court_type_description"] for row in rows}
    assert {"Magistrates' court", "Crown Court"} <= court_types, court_types
    effective = sum(row["effective_rate"] * row["listed_hearings"] for row in rows)
    overall = effective / _total(rows, "listed_hearings")
    assert 0.2 < overall < 1, f"overall effective hearing rate {overall:.3f} is implausible"


def _check_occupancy(rows: list[Row]) -> None:
    for row in rows:
        assert 1 <= row["days_in_month_observed"] <= 31, row
        assert row["days_over_capacity"] <= row["days_in_month_observed"], row
        if row["occupancy_rate"] is not None:
            # Tiny scales floor capacities at a few places: allow some overcrowding, not more.
            assert row["occupancy_rate"] <= 3, f"population far above capacity: {row}"
            assert row["average_operational_capacity"] > 0, row
    assert _total(rows, "average_population") > 0, "every prison is empty every month"
    assert any(row["month_end_population"] for row in rows), "no month-end population"


def _check_remand_share(rows: list[Row]) -> None:
    for row in rows:
        assert row["receptions"] > 0, row
        assert (
            row["remand_receptions"] + row["sentenced_receptions"] + row["recall_receptions"]
            == row["receptions"]
        ), f"receptions by reason do not add up: {row}"
    overall = _total(rows, "remand_receptions") / _total(rows, "receptions")
    assert 0.05 < overall < 0.9, f"overall remand share {overall:.3f} is implausible"


def _check_lpa_registration(rows: list[Row]) -> None:
    for row in rows:
        outcomes = row["registered"] + row["rejected"] + row["withdrawn"] + row["pending"]
        assert outcomes == row["applications_received"], f"outcomes do not add up: {row}"
        if row["registered"]:
            assert 0 < row["median_days_to_register"] < 5 * 365, row
        else:
            assert row["median_days_to_register"] is None, row
    assert {row["channel_name"] for row in rows} >= {"Digital (online)", "Paper"}
    overall = _total(rows, "registered") / (
        _total(rows, "applications_received") - _total(rows, "pending")
    )
    assert overall > 0.5, f"only {overall:.3f} of decided applications registered"


def _check_custodial_sentences_received(rows: list[Row]) -> None:
    for row in rows:
        assert row["received_within_7_days"] <= row["immediate_custodial_sentences"], row
    overall = _total(rows, "received_within_7_days") / _total(rows, "immediate_custodial_sentences")
    # Synthetic truth: every custodial sentence is received into prison. Linkage and the facts'
    # person keys must let us follow the large majority of people across the two systems.
    assert overall >= 0.8, f"only {overall:.3f} of custodial sentences followed into prison"


def _check_proven_reoffending(rows: list[Row]) -> None:
    as_of = date.fromisoformat(TINY_AS_OF)
    for row in rows:
        assert row["releases"] > 0, row
        assert row["releases_followed_by_proven_reoffence"] <= row["releases"], row
        assert row["proven_reoffences"] >= row["releases_followed_by_proven_reoffence"], row
        if row["releases_followed_by_proven_reoffence"]:
            assert row["reoffences_per_reoffender"] >= 1, row
        else:
            assert row["reoffences_per_reoffender"] is None, row
        # Releases younger than 18 months are left out, not counted as not reoffending.
        assert row["release_year"] <= as_of.year, row
    overall = _total(rows, "releases_followed_by_proven_reoffence") / _total(rows, "releases")
    assert 0 < overall < 0.9, f"proven reoffending rate {overall:.3f} is implausible"


def _check_probation_caseload(rows: list[Row]) -> None:
    for row in rows:
        split = (row["court_order_caseload"] or 0) + (row["post_release_caseload"] or 0)
        assert split <= row["caseload"], f"caseload split exceeds the caseload: {row}"
        if row["order_terminations"]:
            assert row["successful_termination_share"] is not None, row
        else:
            assert row["successful_termination_share"] is None, row
    assert _total(rows, "caseload") > 0, "no probation caseload at all"
    assert _total(rows, "order_starts") > 0, "no probation order ever started"
    incomplete = [row for row in rows if not row["is_month_complete"]]
    months = {row["month_start_date"] for row in incomplete}
    assert len(months) <= 1, f"more than one month in progress: {sorted(months)}"
    units = {row["pdu_name"] for row in rows}
    assert len(units) > 1, "caseload in one probation delivery unit only"


def _check_releases_followed_by_probation(rows: list[Row]) -> None:
    for row in rows:
        assert row["followed_within_30_days"] <= row["releases"], row
        assert row["licence_within_30_days"] <= row["followed_within_30_days"], row
    by_reason: dict[str, list[Row]] = {}
    for row in rows:
        by_reason.setdefault(row["release_reason"], []).append(row)

    def share(reason_rows: list[Row], column: str) -> float:
        return _total(reason_rows, column) / _total(reason_rows, "releases")

    on_licence = [
        row
        for reason, reason_rows in by_reason.items()
        if "licence" in reason.lower() or "curfew" in reason.lower()
        for row in reason_rows
    ]
    assert on_licence, f"no release on licence or curfew: {sorted(by_reason)}"
    # Most releases on licence are followed by a licence (not all: some never arrive).
    assert share(on_licence, "licence_within_30_days") > 0.5, (
        f"only {share(on_licence, 'licence_within_30_days'):.3f} of releases on licence are"
        " followed by a licence"
    )
    expiry = [
        row
        for reason, reason_rows in by_reason.items()
        if "expiry" in reason.lower()
        for row in reason_rows
    ]
    if expiry:
        # Released at sentence expiry: nothing to supervise; a licence would be a linkage error.
        assert share(expiry, "licence_within_30_days") < 0.2, (
            f"{share(expiry, 'licence_within_30_days'):.3f} of releases at sentence expiry"
            " followed by a licence"
        )


CHECKS: dict[str, Callable[[list[Row]], None]] = {
    "courts_case_duration_by_region_and_year": _check_case_duration,
    "courts_custody_rate_by_offence_category": _check_custody_rate,
    "courts_hearing_effectiveness_by_court_type": _check_hearing_effectiveness,
    "prisons_occupancy_by_establishment_and_month": _check_occupancy,
    "prisons_remand_share_of_receptions": _check_remand_share,
    "opg_lpa_registration_times_by_channel_and_year": _check_lpa_registration,
    "journeys_custodial_sentences_received_into_prison": _check_custodial_sentences_received,
    "journeys_proven_reoffending_after_release": _check_proven_reoffending,
    "journeys_releases_followed_by_probation": _check_releases_followed_by_probation,
    "probation_caseload_by_unit_and_month": _check_probation_caseload,
}


# --- compile once, run each ------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledAnalyses:
    nodes: dict[str, dict[str, Any]]  # analysis name -> manifest node (with compiled_code)
    models: dict[str, dict[str, Any]]  # unique_id -> manifest node of every model


@pytest.fixture(scope="module")
def compiled(tiny_docs: TinyDocs) -> CompiledAnalyses:
    """The analyses as `dbt docs generate` compiled them on the tiny build (it compiles every
    node, analyses included), so no separate `dbt compile` is needed."""
    assert tiny_docs.run.result.ok, tiny_docs.run.result.describe()
    manifest = tiny_docs.manifest
    nodes = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "analysis"
    }
    models = {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
    }
    return CompiledAnalyses(nodes=nodes, models=models)


def _documented() -> dict[str, dict[str, Any]]:
    properties = yaml.safe_load((ANALYSES_DIR / "_analyses.yml").read_text(encoding="utf-8"))
    return {entry["name"]: entry for entry in properties.get("analyses", [])}


def test_every_analysis_is_documented_and_checked() -> None:
    assert len(ANALYSIS_FILES) >= 8, f"expected at least eight analyses: {sorted(ANALYSIS_FILES)}"
    documented = _documented()
    assert set(documented) == set(ANALYSIS_FILES), (
        f"analyses/_analyses.yml and the .sql files disagree: only documented"
        f" {sorted(set(documented) - set(ANALYSIS_FILES))}, only files"
        f" {sorted(set(ANALYSIS_FILES) - set(documented))}"
    )
    for name, entry in documented.items():
        assert (entry.get("description") or "").strip(), f"{name}: no description"
        assert entry.get("columns"), f"{name}: no columns documented"
        for column in entry["columns"]:
            assert (column.get("description") or "").strip(), f"{name}.{column['name']}"
    assert set(CHECKS) == set(ANALYSIS_FILES), (
        f"plausibility checks missing for {sorted(set(ANALYSIS_FILES) - set(CHECKS))},"
        f" or checks for no analysis: {sorted(set(CHECKS) - set(ANALYSIS_FILES))}"
    )


@pytest.mark.parametrize("name", sorted(ANALYSIS_FILES))
def test_analysis_header_states_the_question(name: str) -> None:
    text = ANALYSIS_FILES[name].read_text(encoding="utf-8")
    header = re.match(r"((?:--[^\n]*\n)+)", text)
    assert header, f"{name}: no header comment"
    assert header.group(1).startswith("-- Question:"), f"{name}: header must open with the question"
    assert "How to read it:" in header.group(1), f"{name}: header must say how to read the answer"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ANALYSIS_FILES))
def test_analysis_reads_marts_only(name: str, compiled: CompiledAnalyses) -> None:
    node = compiled.nodes.get(name)
    assert node is not None, f"{name} is not an analysis of the manifest"
    parents = node["depends_on"]["nodes"]
    assert parents, f"{name} reads no model"
    not_marts = [
        parent
        for parent in parents
        if parent not in compiled.models
        or not compiled.models[parent]["original_file_path"].startswith("models/marts/")
    ]
    assert not not_marts, f"{name} reads more than marts: {not_marts}"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ANALYSIS_FILES))
def test_analysis_runs_and_is_plausible(
    name: str, compiled: CompiledAnalyses, tiny_project: TinyProject
) -> None:
    node = compiled.nodes.get(name)
    assert node is not None, f"{name} is not an analysis of the manifest"
    sql = node.get("compiled_code")
    assert sql, f"{name} did not compile"

    con = tiny_project.connect()
    try:
        cursor = con.execute(sql)
        columns = [description[0] for description in cursor.description]
        rows = [
            {
                column: float(value) if isinstance(value, Decimal) else value
                for column, value in zip(columns, values, strict=True)
            }
            for values in cursor.fetchall()
        ]
    finally:
        con.close()
    assert rows, f"{name} returned no row on the tiny warehouse"

    documented = [column["name"] for column in _documented()[name]["columns"]]
    assert sorted(columns) == sorted(documented), (
        f"{name}: result columns {columns} are not the documented ones {documented}"
    )

    for row in rows:
        for column, value in row.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            assert not (isinstance(value, float) and math.isnan(value)), f"{column} NaN: {row}"
            assert value >= 0, f"{name}: negative {column}: {row}"
            if column.endswith(("_rate", "_share")) and column not in UNBOUNDED_RATES:
                assert value <= 1, f"{name}: {column} above 1: {row}"

    CHECKS[name](rows)
