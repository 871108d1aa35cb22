"""`derived floor`: the build's compiled models, run straight in DuckDB, give the same tables.

The DAG ordering and manifest checks are tested on small hand-made manifests (milliseconds).
Then the floor runs on the manifest of the session's tiny build (a few seconds: the data is
tiny; linkage, a Python model, runs in-process): every model must be timed, and every table it
writes (tables, incremental facts, the Python linkage model) must hold exactly the rows the
build wrote, EXCEPT ALL both ways, column by column. A floor that ran other SQL than the build,
skipped a model or ran it out of order fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from conftest import TinyProject
from derived_tables import floor
from derived_tables.floor import FloorError


def _model(name: str, depends_on: list[str], materialized: str = "view") -> dict[str, Any]:
    return {
        "resource_type": "model",
        "name": name,
        "database": "db",
        "schema": "s",
        "alias": name,
        "config": {"materialized": materialized},
        "language": "sql",
        "compiled_code": f"select 1 as {name}",
        "depends_on": {"nodes": depends_on},
    }


def test_dag_order_puts_every_model_after_what_it_reads() -> None:
    manifest = {
        "nodes": {
            "model.p.c": _model("c", ["model.p.a", "model.p.b"]),
            "model.p.b": _model("b", ["model.p.a", "seed.p.s"]),
            "model.p.a": _model("a", ["source.p.x.y"]),
            "model.p.d": _model("d", []),
            "test.p.t": {"resource_type": "test", "depends_on": {"nodes": ["model.p.c"]}},
        }
    }
    order = [n.unique_id for n in floor.dag_order(floor.model_nodes(manifest))]
    assert order == ["model.p.a", "model.p.b", "model.p.c", "model.p.d"]


def test_a_cycle_is_named() -> None:
    manifest = {
        "nodes": {
            "model.p.a": _model("a", ["model.p.b"]),
            "model.p.b": _model("b", ["model.p.a"]),
        }
    }
    with pytest.raises(FloorError, match=re.escape("cycle: model.p.a, model.p.b")):
        floor.dag_order(floor.model_nodes(manifest))


def test_a_manifest_without_compiled_code_is_refused() -> None:
    node = _model("a", [])
    del node["compiled_code"]
    with pytest.raises(FloorError, match=re.escape("model.p.a has no compiled code")):
        floor.model_nodes({"nodes": {"model.p.a": node}})


def test_floor_runs_models_and_python_in_dag_order(tmp_path: Path) -> None:
    built = tmp_path / "built" / "db.duckdb"
    built.parent.mkdir()
    with duckdb.connect(str(built)) as con:
        con.execute("create schema ref; create table ref.seed as select 41 as n")
    seed = {"resource_type": "seed", "name": "seed", "schema": "ref", "alias": "seed"}
    python_code = (
        "def model(dbt, session):\n"
        "    return dbt.ref('t').arrow()\n\n"
        "class dbtObj:\n"
        "    def __init__(self, load_df_function):\n"
        '        self.ref = lambda name: load_df_function(\'"db"."s"."\' + name + \'"\')\n'
    )
    python = _model("p", ["model.p.t"], "table") | {"language": "python"}
    python["compiled_code"] = python_code
    manifest = {
        "nodes": {
            "seed.p.seed": seed,
            "model.p.v": _model("v", ["seed.p.seed"])
            | {"compiled_code": 'select n + 1 as n from "db"."ref"."seed"'},
            "model.p.t": _model("t", ["model.p.v"], "incremental")
            | {"compiled_code": 'select n * 2 as n from "db"."s"."v"'},
            "model.p.p": python,
        }
    }
    settings = floor.profile_settings({}, tmp_path)
    result = floor.run_floor(manifest, built, tmp_path / "floor", settings)
    assert [(m.unique_id, m.rows) for m in result.models] == [
        ("model.p.v", None),
        ("model.p.t", 1),
        ("model.p.p", 1),
    ]
    assert result.floor_seconds == pytest.approx(result.sql_seconds + result.python_seconds)
    with duckdb.connect(str(tmp_path / "floor" / "db.duckdb"), read_only=True) as con:
        assert con.sql('select n from "s"."p"').fetchall() == [(84,)]


def test_a_failing_model_is_named(tmp_path: Path) -> None:
    built = tmp_path / "db.duckdb"
    duckdb.connect(str(built)).close()
    manifest = {"nodes": {"model.p.a": _model("a", []) | {"compiled_code": "select nope"}}}
    with pytest.raises(FloorError, match=re.escape("model.p.a failed in the floor")):
        floor.run_floor(manifest, built, tmp_path / "floor", floor.profile_settings({}, tmp_path))


@pytest.mark.slow
def test_floor_of_the_tiny_build_writes_the_same_tables(
    tiny_project: TinyProject, tmp_path: Path
) -> None:
    assert tiny_project.build is not None and tiny_project.build.manifest is not None
    manifest_path = tiny_project.root / "build_artifacts" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    work = tmp_path / "floor"
    out = tmp_path / "floor.json"
    env = {"DUCKDB_MEMORY_LIMIT": "2GB", "DUCKDB_TEMP_DIRECTORY": str(tmp_path / "tmp")}
    args = [
        "--manifest",
        str(manifest_path),
        "--warehouse",
        str(tiny_project.warehouse),
        "--work-dir",
        str(work),
        "--keep",
        "--json-out",
        str(out),
    ]
    result = CliRunner().invoke(floor.floor, args, env=env)
    assert result.exit_code == 0, result.output
    timings = json.loads(out.read_text(encoding="utf-8"))
    models = {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["config"]["materialized"] != "ephemeral"
    }
    assert {m["unique_id"] for m in timings["models"]} == set(models)
    assert timings["python_seconds"] > 0  # linkage ran, in-process
    assert timings["floor_seconds"] == pytest.approx(
        timings["sql_seconds"] + timings["python_seconds"], abs=0.01
    )

    tables = [n for n in models.values() if n["config"]["materialized"] != "view"]
    assert any(n["language"] == "python" for n in tables)
    [database] = {n["database"] for n in tables}
    with duckdb.connect(str(work / f"{database}.duckdb"), read_only=True) as con:
        con.execute(f"attach '{tiny_project.warehouse}' as built (read_only)")
        differences = {}
        for node in tables:
            name = f'"{node["schema"]}"."{node["alias"]}"'
            columns = ", ".join(
                f'"{c}"'
                for (c,) in con.execute(
                    "select column_name from duckdb_columns() "
                    "where database_name = 'built' and schema_name = ? and table_name = ? "
                    "order by column_index",
                    [node["schema"], node["alias"]],
                ).fetchall()
            )
            assert columns, f"{name} is not in the build"
            floor_rows = f"select {columns} from {database}.{name}"
            built_rows = f"select {columns} from built.{name}"
            counts = tuple(
                con.execute(f"select count(*) from ({a} except all {b})").fetchall()[0][0]
                for a, b in ((floor_rows, built_rows), (built_rows, floor_rows))
            )
            if counts != (0, 0):
                differences[name] = counts
    assert not differences, f"floor tables differ from the build (extra, missing): {differences}"
