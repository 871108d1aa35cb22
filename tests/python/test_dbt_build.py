"""The whole project builds, tests and documents itself on tiny generated data.

- `dbt build` (seeds, models, data tests, unit tests) succeeds on the session's tiny build:
  every node it ran is `success` or `pass` (no error, fail, warn or skip), nothing of the
  project was left out, and every mart exists in the warehouse and has rows;
- the catalogue: `dbt docs generate` succeeds and every model, and every column each model
  really has in the warehouse, carries a non-empty description;
- without generated data, `dbt build` stops at once with a message telling you to run
  `derived generate`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import TinyDocs, TinyProject

PACKAGE = "derived_tables"

#: The marts of the bus matrix (shared DOMAIN.md): each must be in the project and built.
KEY_MARTS = (
    "dim_date",
    "dim_person",
    "dim_offence",
    "dim_region",
    "dim_court",
    "dim_establishment",
    "dim_probation_unit",
    "fct_court_hearings",
    "fct_case_outcomes",
    "fct_case_timeliness",
    "fct_prison_movements",
    "fct_prison_population_daily",
    "fct_custodial_episodes",
    "fct_probation_supervision",
    "fct_probation_caseload_monthly",
    "fct_lpa_applications",
)

#: What each kind of node reports when all is well.
OK_STATUSES = {
    "model": {"success"},
    "seed": {"success"},
    "snapshot": {"success"},
    "operation": {"success"},
    "test": {"pass"},
    "unit_test": {"pass"},
    # dbt 1.11 lists exposures in a build's results; they have nothing to run.
    "exposure": {"no-op", "success"},
}


def _mart_models(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["package_name"] == PACKAGE
        and node["original_file_path"].startswith("models/marts/")
    }


def _build(tiny_project: TinyProject) -> tuple[dict[str, Any], dict[str, Any]]:
    build = tiny_project.build
    assert build is not None
    assert build.run_results is not None and build.manifest is not None, (
        f"dbt build left no run_results.json/manifest.json: {build.result.describe()}"
    )
    return build.run_results, build.manifest


@pytest.mark.slow
def test_dbt_build_every_node_succeeds(tiny_project: TinyProject) -> None:
    run_results, manifest = _build(tiny_project)
    results = run_results["results"]
    assert results, "dbt build ran nothing"

    failed, skipped = [], []
    for row in results:
        kind = row["unique_id"].split(".", 1)[0]
        if row["status"] in OK_STATUSES.get(kind, {"success", "pass"}):
            continue
        if row["status"] == "skipped":
            skipped.append(row["unique_id"])
            continue
        message = " ".join((row.get("message") or "").split())[:400]
        failures = row.get("failures")
        failed.append(f"{row['unique_id']}: {row['status']} (failures={failures}) {message}")
    # The causes first; what they made dbt skip after.
    assert not failed and not skipped, (
        f"dbt build: {len(failed)} node(s) failed, {len(skipped)} skipped as a consequence.\n"
        + "\n".join(sorted(failed))
        + (f"\nSkipped: {', '.join(sorted(skipped)[:40])}" if skipped else "")
        + (" ..." if len(skipped) > 40 else "")
    )
    assert tiny_project.build is not None
    assert tiny_project.build.result.ok, tiny_project.build.result.describe()

    # Nothing of the project was left out of the build (disabled nodes are not in `nodes`).
    ran = {row["unique_id"] for row in results}
    buildable = {
        unique_id
        for unique_id, node in {**manifest["nodes"], **manifest.get("unit_tests", {})}.items()
        if node["resource_type"] in {"model", "seed", "snapshot", "test", "unit_test"}
        and node["package_name"] == PACKAGE
        and node.get("config", {}).get("materialized") != "ephemeral"
    }
    missing = sorted(buildable - ran)
    assert not missing, f"{len(missing)} node(s) were not built or run:\n" + "\n".join(missing)


@pytest.mark.slow
def test_key_marts_exist_and_have_rows(tiny_project: TinyProject) -> None:
    _, manifest = _build(tiny_project)
    marts = _mart_models(manifest)
    absent = [name for name in KEY_MARTS if name not in marts]
    assert not absent, f"marts of the bus matrix missing from the project: {absent}"

    empty, unbuilt = [], []
    con = tiny_project.connect()
    try:
        tables = {
            (schema, name)
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        for name, node in sorted(marts.items()):
            if (node["schema"], node["alias"]) not in tables:
                unbuilt.append(f"{name} ({node['schema']}.{node['alias']})")
                continue
            relation = f'"{node["schema"]}"."{node["alias"]}"'
            # Default members alone do not make a dimension "non-empty".
            columns = {
                column
                for (column,) in con.execute(
                    "select column_name from information_schema.columns"
                    " where table_schema = ? and table_name = ?",
                    [node["schema"], node["alias"]],
                ).fetchall()
            }
            where = "where not is_default_member" if "is_default_member" in columns else ""
            rows = con.execute(f"select count(*) from {relation} {where}").fetchall()[0][0]
            if rows == 0:
                empty.append(name)
    finally:
        con.close()
    assert not unbuilt, f"marts not in the warehouse: {unbuilt}"
    assert not empty, f"marts without a row (default members aside): {empty}"


@pytest.mark.slow
def test_catalogue_documents_every_model_and_column(tiny_docs: TinyDocs) -> None:
    assert tiny_docs.run.result.ok, tiny_docs.run.result.describe()
    catalog = tiny_docs.catalog
    assert catalog is not None, "dbt docs generate wrote no catalog.json"
    manifest = tiny_docs.manifest

    models = {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["package_name"] == PACKAGE
    }
    assert models
    undocumented: list[str] = []
    not_in_catalog: list[str] = []
    for unique_id, node in sorted(models.items()):
        path = node["original_file_path"]
        if not node.get("description", "").strip():
            undocumented.append(f"model {node['name']} ({path})")
        described = {
            name.lower(): (column.get("description") or "").strip()
            for name, column in node["columns"].items()
        }
        for name, text in sorted(described.items()):
            if not text:
                undocumented.append(f"column {node['name']}.{name} ({path}): empty description")
        entry = catalog["nodes"].get(unique_id)
        if entry is None:
            if node["config"].get("materialized") != "ephemeral":
                not_in_catalog.append(node["name"])
            continue
        for name in sorted(entry["columns"]):
            if name.lower() not in described:
                undocumented.append(f"column {node['name']}.{name} ({path}): not in the YAML")
    assert not undocumented and not not_in_catalog, (
        f"{len(undocumented)} undocumented item(s):\n"
        + "\n".join(undocumented)
        + f"\nmodels missing from the catalogue (not built?): {not_in_catalog}"
    )


@pytest.mark.slow
def test_build_without_data_tells_you_to_run_the_generator(tmp_path: Path) -> None:
    empty = tmp_path / "no_data"
    empty.mkdir()
    warehouse = tmp_path / "warehouse" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    (tmp_path / "duckdb_tmp").mkdir()
    project = TinyProject(
        root=tmp_path,
        data_dir=empty,
        truth_dir=tmp_path / "no_truth",
        warehouse=warehouse,
        target_dir=tmp_path / "target",
        log_dir=tmp_path / "logs",
        env=TinyProject.make_env(empty, warehouse, tmp_path / "duckdb_tmp"),
    )
    run = project.dbt("build")
    assert not run.result.ok, "dbt build succeeded without any curated data"
    assert "derived generate" in run.result.output, (
        "the failure does not tell the user to run the generator:\n" + run.result.tail()
    )
    # It stops before building anything.
    if warehouse.exists():
        con = project.connect()
        try:
            relations = con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        finally:
            con.close()
        assert not relations, f"built without any curated data: {relations}"
