"""`derived floor`: the model floor of a build, its compiled models run straight in DuckDB.

The floor is what the models alone cost: the compiled SQL that the last ``dbt build`` ran, read
from its ``manifest.json``, executed in DAG order in ONE DuckDB connection on a new database
file, with no dbt, no tests, no hooks and no seeds to load (the seeds are copied from the built
warehouse before the clock starts). ``derived bench`` runs it right after the full build, so
``full build / floor`` says what dbt and the tests add on top of the models themselves.

How each node is run (and timed):

* ``view`` models: ``create view <relation> as <compiled SQL>`` (cheap: a view computes
  nothing until read, exactly as in the build).
* ``table`` and ``incremental`` models: ``create table <relation> as <compiled SQL>``; the
  manifest of a full build holds the full-refresh SQL of incremental models (that is the floor
  of a full build; dbt's contract check and column typing are not repeated).
* Python models (person linkage): run **in-process**: the compiled Python code of the node
  (dbt's own ``dbtObj`` shim included) is executed, its ``model(dbt, session)`` called with
  ``dbt.ref``/``dbt.source`` reading from this connection, and the frame it returns is written
  with ``create table ... as``. So linkage is timed for real, in the same process, not taken
  from dbt's log.
* ``ephemeral`` models are inlined by dbt into the SQL of the nodes that read them.

The DuckDB settings are the profile's: ``DUCKDB_THREADS`` (default 2), ``DUCKDB_MEMORY_LIMIT``
(default two thirds of ``DERIVED_MEMORY_BUDGET_MB``, ``derived_tables.memory``),
``DUCKDB_TEMP_DIRECTORY`` and ``preserve_insertion_order = false``. The database
file is named after the build's catalog (``<database>.duckdb``) so that the compiled SQL's
three-part names resolve, in a folder of its own that is deleted afterwards unless ``--keep``.

Memory: while a Python model runs, nothing else runs in the floor (in the build, dbt runs other
models beside the linkage), so the two shares of ``DERIVED_MEMORY_BUDGET_MB`` are swapped for its
duration: the linkage's own DuckDB gets the larger share (dbt's) and the floor's connection the
smaller, so the total stays the budget; unless ``DUCKDB_MEMORY_LIMIT`` or
``DERIVED_LINKAGE_MEMORY_LIMIT`` is set, which then hold as set (:func:`python_model_limits`).
That is the floor's best case, as it should be; at scale 100 it also keeps the linkage's spill
(tens of GB under its build share) within the disk the floor has left.

Disk: the floor's file holds every table of the build at once, about the size of the private
build file, while that file, the published one and the curated data stay on the same disk, and
the linkage spills beside them. With ``--drop-after-use`` (chosen automatically when the free
space is less than twice the private build file's size: room for the floor's file and as much
again for spills; and said so) each table is dropped as soon as the last model reading it (directly,
or through views) has run, outside the timed part, so the file holds only what is still to be
read; DuckDB reuses the freed blocks. The result says which (``dropped_after_use``).
"""

from __future__ import annotations

import heapq
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click

from derived_tables import memory

RUNNABLE = ("view", "table", "incremental")


class FloorError(click.ClickException):
    """A node of the manifest could not be run as the build ran it."""


@dataclass(frozen=True)
class ModelNode:
    unique_id: str
    name: str
    database: str
    schema: str
    alias: str
    materialized: str
    language: str
    compiled_code: str
    depends_on: tuple[str, ...]

    @property
    def relation(self) -> str:
        return f'"{self.database}"."{self.schema}"."{self.alias}"'


@dataclass
class NodeTiming:
    unique_id: str
    materialized: str
    language: str
    seconds: float
    rows: int | None = None


@dataclass
class FloorResult:
    database: str
    threads: str
    memory_limit: str
    #: While a Python model runs: "<floor connection>/<linkage>" limits (python_model_limits),
    #: empty when they are set on their own and kept as set.
    python_model_memory: str = ""
    seed_seconds: float = 0.0  # copying the seeds from the built warehouse (not in the floor)
    floor_seconds: float = 0.0  # every model, SQL and Python
    sql_seconds: float = 0.0
    python_seconds: float = 0.0
    dropped_after_use: bool = False
    models: list[NodeTiming] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# The manifest
# --------------------------------------------------------------------------------------------


def model_nodes(manifest: Mapping[str, Any]) -> dict[str, ModelNode]:
    """Every enabled model of the manifest; an error names any model without compiled code."""
    nodes: dict[str, ModelNode] = {}
    for unique_id, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") != "model":
            continue
        materialized = str(node.get("config", {}).get("materialized", ""))
        code = node.get("compiled_code")
        if materialized != "ephemeral" and not code:
            raise FloorError(
                f"{unique_id} has no compiled code in the manifest: run the floor on the "
                "manifest that `dbt build` wrote (dbt parse and dbt ls compile nothing)"
            )
        nodes[unique_id] = ModelNode(
            unique_id=unique_id,
            name=str(node["name"]),
            database=str(node["database"]),
            schema=str(node["schema"]),
            alias=str(node.get("alias") or node["name"]),
            materialized=materialized,
            language=str(node.get("language", "sql")),
            compiled_code=str(code or ""),
            depends_on=tuple(node.get("depends_on", {}).get("nodes", [])),
        )
    return nodes


def dag_order(nodes: Mapping[str, ModelNode]) -> list[ModelNode]:
    """Models in an order where every model comes after the models it reads (Kahn's
    algorithm, ties broken by unique_id so the order is the same every run)."""
    parents = {uid: {d for d in n.depends_on if d in nodes} for uid, n in nodes.items()}
    children: dict[str, list[str]] = {uid: [] for uid in nodes}
    for uid, ups in parents.items():
        for up in ups:
            children[up].append(uid)
    waiting = {uid: len(ups) for uid, ups in parents.items()}
    ready = [uid for uid, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    ordered: list[ModelNode] = []
    while ready:
        uid = heapq.heappop(ready)
        ordered.append(nodes[uid])
        for child in children[uid]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, child)
    if len(ordered) != len(nodes):
        cycle = sorted(uid for uid, count in waiting.items() if count > 0)
        raise FloorError(f"the models form a cycle: {', '.join(cycle)}")
    return ordered


def last_readers(ordered: list[ModelNode]) -> dict[str, list[ModelNode]]:
    """For `--drop-after-use`: the tables each model (unique_id) may drop once it has run,
    i.e. whose last reader it is in `ordered` (a DAG order). A model reading a view reads what
    the view reads, so a table read through a view is dropped only after the view's readers
    ran; views and ephemeral models are never dropped. A table no model reads is dropped
    right after it is built."""
    by_id = {n.unique_id: n for n in ordered}
    position = {n.unique_id: i for i, n in enumerate(ordered)}
    readers: dict[str, set[str]] = {uid: set() for uid in by_id}
    for node in ordered:
        for parent in node.depends_on:
            if parent in readers:
                readers[parent].add(node.unique_id)

    def effective(uid: str, seen: frozenset[str] = frozenset()) -> set[str]:
        found: set[str] = set()
        for reader in readers[uid]:
            found.add(reader)
            if by_id[reader].materialized in ("view", "ephemeral") and reader not in seen:
                found |= effective(reader, seen | {uid})
        return found

    drops: dict[str, list[ModelNode]] = {uid: [] for uid in by_id}
    for node in ordered:
        if node.materialized in ("view", "ephemeral"):
            continue
        users = effective(node.unique_id)
        last = max(users, key=position.__getitem__) if users else node.unique_id
        drops[last].append(node)
    return drops


def seed_relations(manifest: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(schema, alias) of every seed, which the models read and the floor copies."""
    return sorted(
        (str(n["schema"]), str(n.get("alias") or n["name"]))
        for n in manifest.get("nodes", {}).values()
        if n.get("resource_type") == "seed"
    )


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def run_python_model(con: Any, node: ModelNode) -> Any:
    """Execute a dbt Python model's compiled code in-process; returns what `model()` returns.

    dbt compiles a Python model into the model's source followed by its `dbtObj` shim, whose
    `ref`/`source` call a `load_df_function` with the relation name: here, a read from `con`.
    """
    namespace: dict[str, Any] = {"__name__": f"dbt_python_model_{node.name}"}
    exec(compile(node.compiled_code, f"<{node.unique_id}>", "exec"), namespace)
    model: Callable[..., Any] | None = namespace.get("model")
    dbt_obj: Callable[..., Any] | None = namespace.get("dbtObj")
    if model is None or dbt_obj is None:
        raise FloorError(f"{node.unique_id}: compiled Python has no model() or dbtObj")
    return model(dbt_obj(lambda relation: con.sql(f"select * from {relation}")), con)


def _write_frame(con: Any, node: ModelNode, frame: Any) -> None:
    if hasattr(frame, "read_all"):  # a streaming Arrow reader, maybe on this very connection
        frame = frame.read_all()
    con.register("__floor_python_result", frame)
    try:
        con.execute(f"create table {node.relation} as select * from __floor_python_result")
    finally:
        con.unregister("__floor_python_result")


def run_floor(
    manifest: Mapping[str, Any],
    built_warehouse: Path,
    work_dir: Path,
    settings: Mapping[str, str],
    on_node: Callable[[ModelNode], Any] | None = None,
    drop_after_use: bool = False,
) -> FloorResult:
    """Run every model of `manifest` in DAG order on a new database in `work_dir` (with
    `drop_after_use`, dropping each table once its last reader ran: `last_readers`)."""
    import duckdb

    nodes = dag_order(model_nodes(manifest))
    databases = {n.database for n in nodes}
    if len(databases) != 1:
        raise FloorError(f"the models name more than one database: {sorted(databases)}")
    [database] = databases
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / f"{database}.duckdb"
    if path.exists():
        raise FloorError(f"{path} exists: the floor needs a new database file")
    result = FloorResult(
        database=database,
        threads=settings.get("threads", ""),
        memory_limit=settings.get("memory_limit", ""),
        python_model_memory="/".join(python_model_limits(os.environ) or ()),
        dropped_after_use=drop_after_use,
    )
    drops = last_readers(nodes) if drop_after_use else {}
    con = duckdb.connect(str(path))
    try:
        for name, value in settings.items():
            con.execute(f"set {name} = '{value}'")
        started = time.perf_counter()
        _copy_seeds(con, manifest, nodes, built_warehouse)
        result.seed_seconds = round(time.perf_counter() - started, 3)
        for node in nodes:
            if node.materialized == "ephemeral":
                continue
            if node.materialized not in RUNNABLE:
                raise FloorError(f"{node.unique_id}: materialisation {node.materialized!r}")
            if on_node:
                on_node(node)
            result.models.append(_run_node(con, node, settings))
            for done in drops.get(node.unique_id, []):
                con.execute(f"drop table {done.relation}")
    finally:
        con.close()
    result.sql_seconds = round(sum(m.seconds for m in result.models if m.language == "sql"), 3)
    result.python_seconds = round(
        sum(m.seconds for m in result.models if m.language == "python"), 3
    )
    result.floor_seconds = round(result.sql_seconds + result.python_seconds, 3)
    for timing in result.models:
        timing.seconds = round(timing.seconds, 3)
    return result


def _copy_seeds(
    con: Any, manifest: Mapping[str, Any], nodes: list[ModelNode], built_warehouse: Path
) -> None:
    """Create the models' and seeds' schemas, and copy the seeds from the built warehouse
    (the floor times the models only)."""
    con.execute(f"attach '{built_warehouse}' as __built (read_only)")
    schemas = {n.schema for n in nodes} | {s for s, _ in seed_relations(manifest)}
    for schema in sorted(schemas):
        con.execute(f"create schema if not exists {_quote(schema)}")
    for schema, alias in seed_relations(manifest):
        con.execute(
            f"create table {_quote(schema)}.{_quote(alias)} as "
            f"select * from __built.{_quote(schema)}.{_quote(alias)}"
        )
    con.execute("detach __built")


def _run_node(con: Any, node: ModelNode, settings: Mapping[str, str]) -> NodeTiming:
    """Create one model's relation (a view, or a table from its SQL or Python); its time
    and row count (None for a view)."""
    import duckdb

    started = time.perf_counter()
    try:
        if node.language == "python":
            with _python_model_memory(con, settings):
                _write_frame(con, node, run_python_model(con, node))
        elif node.materialized == "view":
            con.execute(f"create view {node.relation} as\n{node.compiled_code}")
        else:
            con.execute(f"create table {node.relation} as\n{node.compiled_code}")
    except duckdb.Error as error:
        raise FloorError(f"{node.unique_id} failed in the floor: {error}") from error
    seconds = time.perf_counter() - started
    rows = None
    if node.materialized != "view":
        rows = con.execute(f"select count(*) from {node.relation}").fetchall()[0][0]
    return NodeTiming(node.unique_id, node.materialized, node.language, seconds, rows)


def profile_settings(environ: Mapping[str, str], work_dir: Path) -> dict[str, str]:
    """The DuckDB settings of profiles.yml's dev target, from the same environment variables."""
    return {
        "threads": environ.get("DUCKDB_THREADS", "2"),
        "memory_limit": memory.dbt_memory_limit(environ),
        "temp_directory": environ.get("DUCKDB_TEMP_DIRECTORY") or str(work_dir / ".tmp"),
        "preserve_insertion_order": "false",
    }


#: The free space the floor wants, in multiples of the private build file, before it keeps every
#: table to the end: its own file (as large) and the linkage's spills (28 GB at scale 100 under
#: a 4000MB limit, about the private file's size).
SPACE_PER_BUILD_FILE = 2


def python_model_limits(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """The memory limits of (the floor's connection, the linkage's DuckDB) while a Python model
    runs in the floor: the budget's two shares swapped (the module's docstring says why), or
    None when either limit is set on its own (``DUCKDB_MEMORY_LIMIT``,
    ``DERIVED_LINKAGE_MEMORY_LIMIT``)."""
    if environ.get(memory.DBT_LIMIT_ENV) or environ.get(memory.LINKAGE_LIMIT_ENV):
        return None
    return f"{memory.linkage_memory_mb(environ)}MB", f"{memory.dbt_memory_mb(environ)}MB"


@contextmanager
def _python_model_memory(con: Any, settings: Mapping[str, str]) -> Iterator[None]:
    """Run a Python model with :func:`python_model_limits`, then restore both limits."""
    limits = python_model_limits(os.environ)
    if limits is None:
        yield
        return
    floor_limit, linkage_limit = limits
    con.execute(f"set memory_limit = '{floor_limit}'")
    os.environ[memory.LINKAGE_LIMIT_ENV] = linkage_limit
    try:
        yield
    finally:
        os.environ.pop(memory.LINKAGE_LIMIT_ENV, None)
        con.execute(f"set memory_limit = '{settings['memory_limit']}'")


def disk_is_short(warehouse: Path, work_dir: Path) -> tuple[bool, str]:
    """Whether the floor's file may not fit beside the build's: the free space of `work_dir`'s
    disk is less than the size of the private build file (``private/<name>`` beside the
    published `warehouse`, or `warehouse` itself), which holds the same tables. With a reason."""
    private = warehouse.parent / "private" / warehouse.name
    built = private if private.exists() else warehouse
    size = built.stat().st_size
    work_dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(work_dir).free
    gib = 1024**3
    reason = (
        f"{free / gib:.1f} GiB free, the build file {built} is {size / gib:.1f} GiB"
        " (the floor keeps twice that free: its file, and the spills of the linkage)"
    )
    return free < SPACE_PER_BUILD_FILE * size, reason


def slowest(models: Iterable[NodeTiming], count: int = 5) -> list[NodeTiming]:
    return sorted(models, key=lambda m: m.seconds, reverse=True)[:count]


# --------------------------------------------------------------------------------------------
# Command
# --------------------------------------------------------------------------------------------


@click.command("floor")
@click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="manifest.json written by the `dbt build` to measure (target/manifest.json).",
)
@click.option(
    "--warehouse",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The warehouse that build wrote (read only: the seeds are copied from it).",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the floor's database (default: a temporary folder).",
)
@click.option("--keep", is_flag=True, help="Keep the floor's database afterwards.")
@click.option(
    "--drop-after-use/--no-drop-after-use",
    default=None,
    help="Drop each table once the last model reading it has run (outside the timing), so "
    "that the floor's file holds only what is still to be read. Default: only when the free "
    "disk is less than twice the private build file's size.",
)
@click.option(
    "--json-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the timings as JSON to this file.",
)
def floor(
    manifest_path: Path,
    warehouse: Path,
    work_dir: Path | None,
    keep: bool,
    drop_after_use: bool | None,
    json_out: Path | None,
) -> None:
    """Run a build's compiled models straight in one DuckDB connection and time them.

    The model floor: no dbt, no tests; the seeds are copied from the built warehouse first.
    Python models run in-process. `derived bench` runs this after its full build.
    """
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    work = work_dir.resolve() if work_dir else Path(tempfile.mkdtemp(prefix="derived-floor-"))
    settings = profile_settings(os.environ, work)
    Path(settings["temp_directory"]).mkdir(parents=True, exist_ok=True)
    if drop_after_use is None:
        drop_after_use, reason = disk_is_short(warehouse.resolve(), work)
        if drop_after_use:
            click.echo(f"[derived floor] dropping each table after its last reader: {reason}")
    try:
        result = run_floor(
            manifest,
            warehouse.resolve(),
            work,
            settings,
            on_node=lambda n: click.echo(f"[derived floor] {n.materialized:<11} {n.name}"),
            drop_after_use=drop_after_use,
        )
    finally:
        if work_dir is None and not keep:
            shutil.rmtree(work, ignore_errors=True)
        elif not keep:
            for leftover in (*work.glob("*.duckdb"), *work.glob("*.duckdb.wal")):
                leftover.unlink(missing_ok=True)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")
    click.echo(
        f"[derived floor] {len(result.models)} models in {result.floor_seconds:.1f} s "
        f"(SQL {result.sql_seconds:.1f} s, Python {result.python_seconds:.1f} s; "
        f"seeds copied in {result.seed_seconds:.1f} s, not counted)"
    )
    for timing in slowest(result.models):
        click.echo(f"[derived floor]   {timing.seconds:7.2f} s  {timing.unique_id}")
