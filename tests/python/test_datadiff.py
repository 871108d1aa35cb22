"""`derived diff`: the data diff a pull request's slim build reports against main's warehouse.

Two levels:
- small warehouses written here with DuckDB (no dbt, a second): every kind of difference
  (columns added, removed and retyped; rows added and removed; values changed, nulls
  included) is found and counted exactly, and identical warehouses give none;
- a pull-request-like change on the session's tiny build: a copy of the project whose
  `dim_lpa_attributes` gains a channel and renames another, rebuilt with its child
  `fct_lpa_applications` into a copy of the warehouse (one `dbt run`, about a minute): the
  changed model shows the expected row and value differences, the rebuilt unchanged child
  none, and the Markdown report says so.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from conftest import DBT, PROJECT_ROOT, TinyProject, run_command
from derived_tables.datadiff import diff, diff_warehouses, render_markdown

PACKAGE = "derived_tables"


def _manifest(models: dict[str, list[str]]) -> dict[str, Any]:
    """A manifest of `courts` models, each with a `unique` test on its key column(s)."""
    nodes: dict[str, Any] = {}
    for name, key in models.items():
        uid = f"model.{PACKAGE}.{name}"
        nodes[uid] = {
            "name": name,
            "alias": name,
            "schema": "courts",
            "resource_type": "model",
            "package_name": PACKAGE,
            "config": {"materialized": "table"},
        }
        test = {"resource_type": "test", "attached_node": uid}
        if len(key) == 1:
            test |= {"column_name": key[0], "test_metadata": {"name": "unique", "kwargs": {}}}
        else:
            test |= {
                "test_metadata": {
                    "name": "unique_combination_of_columns",
                    "kwargs": {"combination_of_columns": key},
                }
            }
        nodes[f"test.{PACKAGE}.unique_{name}"] = test
    return {"metadata": {"project_name": PACKAGE}, "nodes": nodes}


def _warehouse(path: Path, *statements: str) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema courts")
        for statement in statements:
            con.execute(statement)
    return path


BASE_HEARINGS = (
    "create table courts.hearings as select * from (values "
    "('H1', 10, 'MAGS'), ('H2', 20, 'MAGS'), ('H3', 30, 'CROWN'), ('H4', null, 'MAGS')) "
    "as t(hearing_id, listed_minutes, court_type)"
)
OUTCOMES = (
    "create table courts.outcomes as select * from (values "
    "('C1', 1, 'GUILTY'), ('C1', 2, 'NOT_GUILTY')) as t(case_id, offence_number, verdict)"
)


def test_identical_warehouses_have_no_difference(tmp_path: Path) -> None:
    base = _warehouse(tmp_path / "base.duckdb", BASE_HEARINGS, OUTCOMES)
    head = _warehouse(tmp_path / "head.duckdb", BASE_HEARINGS, OUTCOMES)
    manifest = _manifest({"hearings": ["hearing_id"], "outcomes": ["case_id", "offence_number"]})
    diffs = diff_warehouses(base, head, manifest)
    assert [(d.name, d.status, d.has_changes) for d in diffs] == [
        ("hearings", "unchanged", False),
        ("outcomes", "unchanged", False),
    ]
    assert diffs[0].changed_values == {"listed_minutes": 0, "court_type": 0}
    assert "0 with differences" in render_markdown(diffs)


def test_schema_rows_and_values_are_counted_on_the_primary_key(tmp_path: Path) -> None:
    base = _warehouse(tmp_path / "base.duckdb", BASE_HEARINGS, OUTCOMES)
    head = _warehouse(
        tmp_path / "head.duckdb",
        # H1 unchanged; H2 minutes changed; H3 removed; H4 null -> 45; H5 added;
        # court_type removed, is_effective added; listed_minutes retyped to bigint.
        "create table courts.hearings as select * from (values "
        "('H1', 10::bigint, true), ('H2', 25::bigint, true), ('H4', 45::bigint, false), "
        "('H5', 5::bigint, true)) as t(hearing_id, listed_minutes, is_effective)",
        # a composite key: one verdict changed
        "create table courts.outcomes as select * from (values "
        "('C1', 1, 'GUILTY'), ('C1', 2, 'GUILTY')) as t(case_id, offence_number, verdict)",
    )
    manifest = _manifest({"hearings": ["hearing_id"], "outcomes": ["case_id", "offence_number"]})
    hearings, outcomes = diff_warehouses(base, head, manifest)

    assert hearings.status == "changed"
    assert hearings.added_columns == ["is_effective"]
    assert hearings.removed_columns == ["court_type"]
    assert hearings.retyped_columns == [("listed_minutes", "INTEGER", "BIGINT")]
    assert (hearings.base_rows, hearings.head_rows) == (4, 4)
    assert (hearings.keys_added, hearings.keys_removed) == (1, 1)
    assert hearings.changed_values == {"listed_minutes": 2}  # H2, and H4's null
    assert [row["hearing_id"] for row in hearings.sample] == ["H2", "H4"]
    assert hearings.sample[1] == {
        "hearing_id": "H4",
        "base.listed_minutes": None,
        "head.listed_minutes": 45,
    }

    assert outcomes.key == ["case_id", "offence_number"]
    assert outcomes.changed_values == {"verdict": 1}
    assert outcomes.sample == [
        {
            "case_id": "C1",
            "offence_number": 2,
            "base.verdict": "NOT_GUILTY",
            "head.verdict": "GUILTY",
        }
    ]

    report = render_markdown([hearings, outcomes])
    assert "| `hearings` | changed | 4 → 4 | +is_effective, -court_type, " in report
    assert "keys +1 -1; listed_minutes: 2" in report
    assert "| C1 | 2 | NOT_GUILTY | GUILTY |" in report


def test_added_removed_and_keyless_models(tmp_path: Path) -> None:
    base = _warehouse(tmp_path / "base.duckdb", BASE_HEARINGS)
    head = _warehouse(tmp_path / "head.duckdb", OUTCOMES)
    manifest = _manifest({"hearings": ["hearing_id"], "outcomes": ["case_id", "offence_number"]})
    # no primary key test: schema and rows only, and the report says why
    del manifest["nodes"][f"test.{PACKAGE}.unique_outcomes"]
    hearings, outcomes = diff_warehouses(base, head, manifest)
    assert (hearings.status, hearings.base_rows, hearings.head_rows) == ("removed", 4, None)
    assert (outcomes.status, outcomes.base_rows, outcomes.head_rows) == ("added", None, 2)


def test_unknown_model_is_an_error_naming_it(tmp_path: Path) -> None:
    base = _warehouse(tmp_path / "base.duckdb", BASE_HEARINGS)
    manifest_path = tmp_path / "manifest.json"
    manifest_path.write_text(json.dumps(_manifest({"hearings": ["hearing_id"]})))
    result = CliRunner().invoke(
        diff,
        [
            *("--base", str(base), "--head", str(base)),
            *("--manifest", str(manifest_path), "--model", "fct_nothing"),
        ],
    )
    assert result.exit_code != 0
    assert "not models of derived_tables: fct_nothing" in result.output


# --- a pull-request-like change on the tiny build ------------------------------------------------

PROJECT_FILES = ("dbt_project.yml", "profiles.yml")
PROJECT_DIRS = ("models", "macros", "seeds", "tests", "analyses", "docs")


@pytest.mark.slow
def test_a_changed_model_against_the_tiny_build(tiny_project: TinyProject, tmp_path: Path) -> None:
    # The pull request: a copy of the project where dim_lpa_attributes gains a channel
    # (two more rows, one per LPA type) and renames the paper channel (two changed values).
    project = tmp_path / "project"
    project.mkdir()
    for name in PROJECT_FILES:
        shutil.copy2(PROJECT_ROOT / name, project / name)
    for name in PROJECT_DIRS:
        shutil.copytree(PROJECT_ROOT / name, project / name)
    sql = project / "models" / "marts" / "opg" / "dim_lpa_attributes.sql"
    text = sql.read_text(encoding="utf-8")
    old_channel = "'Paper' as channel_name\n"
    assert old_channel in text
    text = text.replace(
        old_channel,
        "'Paper form' as channel_name\n    union all\n    select\n"
        "        'PHONE' as channel_code,\n        'Telephone' as channel_name\n",
    )
    sql.write_text(text, encoding="utf-8")

    # Its slim build: the change and its child, rebuilt on a copy of main's warehouse.
    head = tiny_project.copy_to(tmp_path / "head", data=False)
    run = run_command(
        [
            str(DBT),
            "run",
            "--select",
            "dim_lpa_attributes",
            "fct_lpa_applications",
            "--project-dir",
            str(project),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        head.env,
    )
    assert run.ok, run.describe()

    report_file = tmp_path / "diff.md"
    result = CliRunner().invoke(
        diff,
        [
            "--base",
            str(tiny_project.warehouse),
            "--head",
            str(head.warehouse),
            "--manifest",
            str(tmp_path / "target" / "manifest.json"),
            "--model",
            "dim_lpa_attributes",
            "--model",
            "fct_lpa_applications",
            "--out",
            str(report_file),
        ],
    )
    assert result.exit_code == 0, result.output
    report = report_file.read_text(encoding="utf-8")

    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text(encoding="utf-8"))
    models = ["dim_lpa_attributes", "fct_lpa_applications"]
    changed, child = diff_warehouses(tiny_project.warehouse, head.warehouse, manifest, models)
    assert changed.status == "changed"
    assert changed.key == ["lpa_attributes_key"]
    assert changed.head_rows == (changed.base_rows or 0) + 2
    assert (changed.keys_added, changed.keys_removed) == (2, 0)
    assert {c: n for c, n in changed.changed_values.items() if n} == {"channel_name": 2}
    assert {row["head.channel_name"] for row in changed.sample} == {"Paper form"}
    assert not (changed.added_columns or changed.removed_columns or changed.retyped_columns)
    # the child was rebuilt from the changed dimension, and its data did not change
    assert child.status == "unchanged" and not child.has_changes, child
    assert child.key, "fct_lpa_applications has a tested primary key"

    assert "2 model(s) compared, 1 with differences" in report
    assert "| `dim_lpa_attributes` | changed |" in report
    assert "keys +2 -0; channel_name: 2" in report
    assert "| `fct_lpa_applications` | unchanged |" in report
    assert "Paper form" in report
