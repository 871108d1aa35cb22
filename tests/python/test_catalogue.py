"""Column lineage and trust pages (`derived catalogue`) on the session's tiny build.

The lineage is read from the compiled SQL by sqlglot (derived_tables.lineage): these tests check
what it says against what the models do (known chains through staging, intermediate, joins,
macros and the Python linkage model), that nothing is left untraced, and that a broken input
is reported, not silently dropped. The trust pages are checked against the warehouse (row
counts) and the build's run results (every test's status). The browser checks are in
test_catalogue_browser.py.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from conftest import TinyCatalogue, TinyDocs, TinyProject
from derived_tables.catalogue import collect_trust, generate
from derived_tables.lineage import ColumnRef, build_lineage, page_name

PACKAGE = "derived_tables"


def model(name: str) -> str:
    return f"model.{PACKAGE}.{name}"


def source(name: str) -> str:
    return f"source.{PACKAGE}.{name}"


def seed(name: str) -> str:
    return f"seed.{PACKAGE}.{name}"


def belongs_to(test: dict[str, Any], uid: str) -> bool:
    """A generic test tests the node it is attached to; a singular test every node it reads."""
    attached = test.get("attached_node")
    return attached == uid if attached else uid in test["depends_on"]["nodes"]


def not_null_columns(node: dict[str, Any]) -> list[str]:
    """The columns of a model that declare a `not_null` constraint."""
    return [
        name
        for name, column in node["columns"].items()
        if any(c.get("type") == "not_null" for c in column.get("constraints") or [])
    ]


def check_constraints(node: dict[str, Any]) -> list[tuple[str, str]]:
    """The `check` constraints of a model: (column, expression)."""
    return [
        (name, " ".join(c["expression"].split()))
        for name, column in node["columns"].items()
        for c in column.get("constraints") or []
        if c.get("type") == "check"
    ]


def shown_rows(test: dict[str, Any], tested: dict[str, Any]) -> int:
    """How many rows of a trust panel one test gives: one per constraint for
    `column_constraints` (all of a model's `not_null` constraints and checks in one query),
    else one."""
    if (test.get("test_metadata") or {}).get("name") == "column_constraints":
        return len(not_null_columns(tested)) + len(check_constraints(tested))
    return 1


def marts(manifest: dict[str, Any]) -> list[str]:
    return sorted(
        uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and "marts" in node["fqn"]
    )


#: Chains an analyst would draw by reading the SQL: mart column -> curated columns it must reach.
KNOWN_ORIGINS = [
    (
        "fct_court_hearings",
        "hearing_id",
        {ColumnRef(source("common_platform.hearings"), "hearing_id")},
    ),
    (
        "fct_court_hearings",
        "listed_minutes",
        {ColumnRef(source("common_platform.hearings"), "listed_minutes")},
    ),
    # a foreign key: the fact's court code, looked up in the dimension built from the seed
    (
        "fct_court_hearings",
        "court_key",
        {
            ColumnRef(source("common_platform.hearings"), "court_code"),
            ColumnRef(seed("ref_courts"), "court_code"),
        },
    ),
    # a measure computed from two sources joined in intermediate
    (
        "fct_court_hearings",
        "days_since_charge",
        {
            ColumnRef(source("common_platform.cases"), "charge_date"),
            ColumnRef(source("common_platform.hearings"), "hearing_date"),
        },
    ),
    # the person: through the Python linkage model's declared lineage, to all three systems
    (
        "fct_court_hearings",
        "person_key",
        {
            ColumnRef(source("common_platform.defendants"), "defendant_id"),
            ColumnRef(source("nomis.offenders"), "prison_number"),
            ColumnRef(source("delius.offenders"), "crn"),
            ColumnRef(source("delius.offenders"), "date_of_birth"),
        },
    ),
    (
        "fct_prison_movements",
        "movement_reason_key",
        {ColumnRef(source("nomis.movements"), "movement_reason_code")},
    ),
]


@pytest.mark.slow
def test_every_mart_column_is_traced(tiny_catalogue: TinyCatalogue, tiny_docs: TinyDocs) -> None:
    lineage = tiny_catalogue.lineage
    assert not lineage.problems, "not traced:\n" + "\n".join(lineage.problems)
    catalog = tiny_docs.catalog
    assert catalog is not None
    missing = [
        f"{uid}.{column}"
        for uid in marts(tiny_docs.manifest)
        for column in (c.lower() for c in catalog["nodes"][uid]["columns"])
        if ColumnRef(uid, column) not in lineage.upstream
    ]
    assert not missing, f"mart columns with no lineage: {missing}"
    # Most mart columns come from a curated or reference column: only constants (every
    # dimension's is_default_member, the junk dimensions' literal code lists), row counts and
    # generated dates (dim_date's spine) do not: 279 of 334 when this was written.
    columns = [c for c in lineage.upstream if c.node in marts(tiny_docs.manifest)]
    sourced = [c for c in columns if lineage.origins(c)]
    assert len(sourced) > 0.8 * len(columns), f"{len(sourced)} of {len(columns)} sourced"
    assert not any(c.column.endswith("_id") and c not in sourced for c in columns), [
        str(c) for c in columns if c.column.endswith("_id") and c not in sourced
    ]


@pytest.mark.slow
@pytest.mark.parametrize(("mart", "column", "expected"), KNOWN_ORIGINS)
def test_known_chains_reach_their_curated_columns(
    tiny_catalogue: TinyCatalogue, mart: str, column: str, expected: set[ColumnRef]
) -> None:
    origins = tiny_catalogue.lineage.origins(ColumnRef(model(mart), column))
    missing = sorted(map(str, expected - origins))
    assert not missing, f"{mart}.{column} does not reach {missing}; it reaches {origins}"


@pytest.mark.slow
def test_chain_goes_through_staging_and_the_reverse_reaches_the_mart(
    tiny_catalogue: TinyCatalogue,
) -> None:
    lineage = tiny_catalogue.lineage
    mart_column = ColumnRef(model("fct_court_hearings"), "listed_minutes")
    ancestors = lineage.ancestors(mart_column)
    assert ColumnRef(model("stg_common_platform__hearings"), "listed_minutes") in ancestors
    assert ColumnRef(model("int_hearings_enriched"), "listed_minutes") in ancestors
    curated = ColumnRef(source("common_platform.hearings"), "listed_minutes")
    assert mart_column in lineage.descendants(curated)
    # and a column that feeds nothing of the sort does not claim to
    assert mart_column not in lineage.descendants(
        ColumnRef(source("common_platform.hearings"), "court_code")
    )


@pytest.mark.slow
def test_untraceable_models_are_reported_not_dropped(tiny_docs: TinyDocs) -> None:
    manifest = copy.deepcopy(tiny_docs.manifest)
    catalog = tiny_docs.catalog
    assert catalog is not None
    broken = manifest["nodes"][model("dim_court")]
    broken["compiled_code"] = "select from where ((("
    manifest["nodes"][model("int_person_records_linked")]["name"] = "int_undeclared_python"
    lineage = build_lineage(manifest, catalog)
    text = "\n".join(lineage.problems)
    assert "dim_court: sqlglot could not parse" in text
    assert "int_undeclared_python: a Python model with no declared column lineage" in text


@pytest.mark.slow
def test_every_mart_description_links_to_its_lineage_page(
    tiny_catalogue: TinyCatalogue, tiny_docs: TinyDocs
) -> None:
    overview = tiny_docs.manifest["docs"][f"doc.{PACKAGE}.__overview__"]["block_contents"]
    assert "(lineage/index.html)" in overview
    unlinked = []
    for uid in marts(tiny_docs.manifest):
        page = page_name(uid)
        if f"(lineage/{page})" not in tiny_docs.manifest["nodes"][uid]["description"]:
            unlinked.append(uid)
        assert (tiny_catalogue.folder / page).is_file(), f"no page {page}"
    assert not unlinked, f"mart descriptions without a link to their lineage page: {unlinked}"


@pytest.mark.slow
def test_trust_signals_match_the_warehouse_and_the_build(
    tiny_project: TinyProject, tiny_catalogue: TinyCatalogue, tiny_docs: TinyDocs
) -> None:
    trust = json.loads((tiny_catalogue.folder / "trust.json").read_text(encoding="utf-8"))
    results = json.loads(tiny_catalogue.build_results.read_text(encoding="utf-8"))
    statuses = {r["unique_id"]: r["status"] for r in results["results"]}
    manifest = tiny_docs.manifest
    with tiny_project.connect() as con:
        for uid in marts(manifest):
            item = trust[uid]
            node = manifest["nodes"][uid]
            row = con.execute(f"select count(*) from {node['relation_name']}").fetchone()
            assert row is not None and item["rows"] == row[0], f"{uid}: rows {item['rows']}"
            assert item["owner"] and item["access"] == "public", f"{uid}: {item}"
            assert item["built_at"], f"{uid}: no built-at"
            expected = sorted(
                status
                for t, test in manifest["nodes"].items()
                if test["resource_type"] == "test" and belongs_to(test, uid)
                for status in [statuses[t]] * shown_rows(test, node)
            )
            assert expected, f"{uid} has no test in the build"
            assert sorted(t["status"] for t in item["tests"]) == expected, uid
    sources = [uid for uid, item in trust.items() if item["kind"] == "source"]
    assert len(sources) == len(manifest["sources"])
    assert all(trust[uid]["rows"] for uid in sources), "a source with no rows counted"


def test_trust_shows_each_constrained_column_and_which_failed(
    tiny_project: TinyProject, tiny_docs: TinyDocs
) -> None:
    """One `column_constraints` test checks every `not_null` and `check` constraint of a
    model in one query; the trust panel still lists each constrained column and each check
    (with its expression), and a failure marks the columns and checks its message names,
    with their failing rows, and only those."""
    results = json.loads(
        (tiny_project.root / "build_artifacts" / "run_results.json").read_text(encoding="utf-8")
    )
    uid = model("fct_court_hearings")
    node = tiny_docs.manifest["nodes"][uid]
    columns = not_null_columns(node)
    assert len(columns) >= 3, columns
    test = next(
        t
        for t, test in tiny_docs.manifest["nodes"].items()
        if test["resource_type"] == "test"
        and test.get("attached_node") == uid
        and test["test_metadata"]["name"] == "column_constraints"
    )
    checks = check_constraints(node)
    assert len(checks) >= 2, checks
    trust = collect_trust(tiny_docs.manifest, results, None, None)
    shown = {t.column: t.status for t in trust[uid].tests if t.name.endswith(" (not_null)")}
    assert shown == dict.fromkeys(columns, "pass")
    shown_checks = {
        t.name.split(" (check: ", 1)[1][:-1]: t.status
        for t in trust[uid].tests
        if " (check: " in t.name
    }
    assert shown_checks == {expression: "pass" for _, expression in checks}
    failed = copy.deepcopy(results)
    (check_column, check_expression) = checks[1]
    for row in failed["results"]:
        if row["unique_id"] == test:
            row.update(
                status="error",
                failures=None,
                message=f"Runtime Error Invalid Input Error: fct_court_hearings: not_null "
                f"constraint fails on {columns[0]} (2 rows), {columns[2]} (1 rows); "
                f"check constraint fails on {check_column} (4 rows): {check_expression}",
            )
    trust = collect_trust(tiny_docs.manifest, failed, None, None)
    shown_failed = {
        t.column: (t.status, t.failures) for t in trust[uid].tests if t.name.endswith(" (not_null)")
    }
    assert shown_failed == {
        **dict.fromkeys(columns, ("pass", 0)),
        columns[0]: ("error", 2),
        columns[2]: ("error", 1),
    }
    checks_failed = {
        t.name.split(" (check: ", 1)[1][:-1]: (t.status, t.failures)
        for t in trust[uid].tests
        if " (check: " in t.name
    }
    assert checks_failed == {
        **{expression: ("pass", 0) for _, expression in checks},
        check_expression: ("error", 4),
    }
    assert trust[uid].verdict == "fail"


@pytest.mark.slow
def test_trust_shows_a_warning_and_its_flagged_rows(
    tiny_project: TinyProject, tiny_docs: TinyDocs, tmp_path: Path
) -> None:
    results = json.loads(
        (tiny_project.root / "build_artifacts" / "run_results.json").read_text(encoding="utf-8")
    )
    uid = model("fct_court_hearings")
    test = next(
        t
        for t, node in tiny_docs.manifest["nodes"].items()
        if node["resource_type"] == "test"
        and node.get("attached_node") == uid
        and node["test_metadata"]["name"] != "column_constraints"
    )
    failed = next(
        t
        for t, node in tiny_docs.manifest["nodes"].items()
        if node["resource_type"] == "test" and node.get("attached_node") == model("dim_court")
    )
    for row in results["results"]:
        if row["unique_id"] == test:
            row.update(status="warn", failures=17, message="Got 17 results, configured to warn")
        if row["unique_id"] == failed:
            row.update(status="fail", failures=3, message="Got 3 results")
    trust = collect_trust(tiny_docs.manifest, results, None, None)
    assert trust[uid].verdict == "warn"
    warned = [t for t in trust[uid].tests if t.status == "warn"]
    assert [(t.failures, t.message) for t in warned] == [(17, "Got 17 results, configured to warn")]
    assert trust[model("dim_court")].verdict == "fail"
    # and the page says so, with the count
    site = tmp_path / "target"
    site.mkdir()
    for name in ("manifest.json", "catalog.json"):
        (site / name).write_bytes((tiny_docs.target_dir / name).read_bytes())
    build = tmp_path / "results.json"
    build.write_text(json.dumps(results), encoding="utf-8")
    folder, _ = generate(site, build_results=build)
    page = (folder / page_name(uid)).read_text(encoding="utf-8")
    assert re.search(r'data-status="warn">.*?<td>17</td>', page), "warn row with 17 not shown"


def test_index_links_the_person_linkage_report(tmp_path: Path) -> None:
    from derived_tables.catalogue import LINKAGE_REPORT, _linkage_section

    missing = _linkage_section(tmp_path)
    assert f'href="../{LINKAGE_REPORT}"' in missing
    assert "not written yet" in missing and "derived linkage report" in missing
    report = tmp_path / LINKAGE_REPORT
    report.parent.mkdir()
    report.write_text("<html></html>", encoding="utf-8")
    summary = {
        "model": {"source": "trained"},
        "threshold": 0.9,
        "clustered": {"precision": 0.99871, "recall": 0.99312, "records": 180922},
    }
    report.with_suffix(".json").write_text(json.dumps(summary), encoding="utf-8")
    present = _linkage_section(tmp_path)
    assert f'href="../{LINKAGE_REPORT}"' in present
    assert "trained parameters" in present and "threshold 0.9" in present
    assert "precision 0.9987, recall 0.9931 over 180,922 records" in present
