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
import os
import re
from pathlib import Path
from types import SimpleNamespace
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


def _built_with_a_seed(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A built warehouse holding one seed (ref.seed: n = 41), and the seed's manifest node."""
    built = tmp_path / "built" / "db.duckdb"
    built.parent.mkdir()
    with duckdb.connect(str(built)) as con:
        con.execute("create schema ref; create table ref.seed as select 41 as n")
    return built, {"resource_type": "seed", "name": "seed", "schema": "ref", "alias": "seed"}


def test_floor_runs_models_and_python_in_dag_order(tmp_path: Path) -> None:
    built, seed = _built_with_a_seed(tmp_path)
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


def test_each_table_is_dropped_after_its_last_reader_through_views() -> None:
    manifest = {
        "nodes": {
            "model.p.a": _model("a", [], "table"),
            "model.p.v": _model("v", ["model.p.a"]),
            "model.p.b": _model("b", ["model.p.v"], "table"),
            "model.p.c": _model("c", ["model.p.a"], "incremental"),
            "model.p.z": _model("z", ["model.p.b"], "table"),
        }
    }
    ordered = floor.dag_order(floor.model_nodes(manifest))
    assert [n.name for n in ordered] == ["a", "c", "v", "b", "z"]
    drops = floor.last_readers(ordered)
    # a is read by c directly and by b through the view v: b runs last of them
    assert {uid: [n.name for n in found] for uid, found in drops.items() if found} == {
        "model.p.c": ["c"],
        "model.p.b": ["a"],
        "model.p.z": ["b", "z"],
    }


def test_drop_after_use_gives_the_same_models_and_leaves_no_model_table(tmp_path: Path) -> None:
    built, seed = _built_with_a_seed(tmp_path)
    manifest = {
        "nodes": {
            "seed.p.seed": seed,
            "model.p.t": _model("t", ["seed.p.seed"], "table")
            | {"compiled_code": 'select n + 1 as n from "db"."ref"."seed"'},
            "model.p.v": _model("v", ["model.p.t"])
            | {"compiled_code": 'select n * 2 as n from "db"."s"."t"'},
            "model.p.u": _model("u", ["model.p.v"], "table")
            | {"compiled_code": 'select n + 1 as n from "db"."s"."v"'},
        }
    }
    settings = floor.profile_settings({}, tmp_path)
    result = floor.run_floor(manifest, built, tmp_path / "floor", settings, drop_after_use=True)
    assert result.dropped_after_use
    assert [(m.unique_id, m.rows) for m in result.models] == [
        ("model.p.t", 1),
        ("model.p.v", None),
        ("model.p.u", 1),
    ]
    with duckdb.connect(str(tmp_path / "floor" / "db.duckdb"), read_only=True) as con:
        tables = con.sql("select schema_name, table_name from duckdb_tables()").fetchall()
    assert tables == [("ref", "seed")]


def test_drop_after_use_is_chosen_when_the_disk_is_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = tmp_path / "warehouse" / "db.duckdb"
    (tmp_path / "warehouse" / "private").mkdir(parents=True)
    published.write_bytes(b"x" * 10)
    (published.parent / "private" / "db.duckdb").write_bytes(b"x" * 1000)
    free = {"bytes": 1999}  # the floor wants twice the private file: its own file, spills
    monkeypatch.setattr(
        floor.shutil, "disk_usage", lambda path: SimpleNamespace(free=free["bytes"])
    )
    short, reason = floor.disk_is_short(published, tmp_path / "floor")
    assert short and "private" in reason
    free["bytes"] = 2000
    assert floor.disk_is_short(published, tmp_path / "floor")[0] is False


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

    # --drop-after-use: every model runs (none reads a dropped table) with the same row counts,
    # and no model's table is left in the file
    dropped = tmp_path / "floor-dropped"
    args = [*args[:4], "--work-dir", str(dropped), "--keep", "--drop-after-use"]
    args += ["--json-out", str(tmp_path / "dropped.json")]
    result = CliRunner().invoke(floor.floor, args, env=env)
    assert result.exit_code == 0, result.output
    again = json.loads((tmp_path / "dropped.json").read_text(encoding="utf-8"))
    assert again["dropped_after_use"] is True
    rows = {m["unique_id"]: m["rows"] for m in timings["models"]}
    assert {m["unique_id"]: m["rows"] for m in again["models"]} == rows
    with duckdb.connect(str(dropped / f"{database}.duckdb"), read_only=True) as con:
        left = con.execute(
            "select schema_name || '.' || table_name from duckdb_tables()"
        ).fetchall()
    model_tables = {f"{n['schema']}.{n['alias']}" for n in tables}
    assert not model_tables & {name for (name,) in left}


def test_a_python_model_gets_the_larger_share_of_the_budget_while_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the floor nothing runs beside a Python model: the budget's two shares are swapped
    for its duration (the linkage's DuckDB the larger), then restored; a limit set on its own
    is kept as set."""
    for name in ("DUCKDB_MEMORY_LIMIT", "DERIVED_LINKAGE_MEMORY_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DERIVED_MEMORY_BUDGET_MB", "16000")
    assert floor.python_model_limits({"DERIVED_MEMORY_BUDGET_MB": "16000"}) == (
        "4000MB",
        "12000MB",
    )
    assert floor.python_model_limits({"DERIVED_LINKAGE_MEMORY_LIMIT": "2GB"}) is None
    assert floor.python_model_limits({"DUCKDB_MEMORY_LIMIT": "2GB"}) is None
    built = tmp_path / "db.duckdb"
    duckdb.connect(str(built)).close()
    seen = tmp_path / "seen.txt"
    code = (
        "import os\n"
        "def model(dbt, session):\n"
        "    limit = session.sql(\"select current_setting('memory_limit')\").fetchall()[0][0]\n"
        f"    open({str(seen)!r}, 'w').write(\n"
        "        os.environ['DERIVED_LINKAGE_MEMORY_LIMIT'] + ' ' + limit)\n"
        "    return session.sql('select 1 as n').to_arrow_table()\n"
        "class dbtObj:\n"
        "    def __init__(self, load_df_function):\n"
        "        pass\n"
    )
    manifest = {
        "nodes": {
            "model.p.py": _model("py", [], "table") | {"language": "python", "compiled_code": code},
        }
    }
    settings = floor.profile_settings(dict(os.environ), tmp_path)
    assert settings["memory_limit"] == "12000MB"
    result = floor.run_floor(manifest, built, tmp_path / "floor", settings)
    linkage_limit, floor_limit = seen.read_text().split(" ", 1)
    assert linkage_limit == "12000MB"
    assert floor_limit.replace(" ", "").startswith(("3.7GiB", "4.0GB", "3814.6MiB"))
    assert result.python_model_memory == "4000MB/12000MB"
    assert "DERIVED_LINKAGE_MEMORY_LIMIT" not in os.environ
