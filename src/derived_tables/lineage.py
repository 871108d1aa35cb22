"""Column-level lineage of the dbt project, from its compiled SQL (sqlglot), never a parser of ours.

For every SQL model, the compiled SQL that `dbt docs generate` leaves in ``manifest.json`` is
parsed with sqlglot (DuckDB dialect), qualified against the warehouse's own schema
(``catalog.json``: every column of every model and seed) and traced with
``sqlglot.lineage``: through CTEs, joins, ``case``, aggregates, window functions and the
project's macros as compiled. The result is, for each column of each model, its *direct*
upstream columns (in the models, seeds and sources it reads). Following those edges
transitively gives a mart column's chain back to the curated source columns, and the reverse.

Curated sources are read in place by dbt-duckdb (``read_parquet('...')``, the source's
``relation_name``): before parsing, each source's relation is replaced by a plain table name
so that sqlglot sees a table whose columns are the source's declared columns (its YAML, which
the ``columns_all_declared`` source test keeps equal to the Parquet files).

Python models have no SQL to trace: their lineage is declared beside their code
(:data:`DECLARED_LINEAGE`, e.g. :func:`derived_tables.linkage.column_lineage`) and checked
against the warehouse's columns. A model whose lineage cannot be traced is reported, never
silently left out: see :attr:`ColumnLineage.problems`.

Why sqlglot and not a dbt column-lineage package: see ``docs/catalogue.md``.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.lineage import Node, lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import build_scope
from sqlglot.schema import MappingSchema

DIALECT = "duckdb"
#: The catalog (database) name sources are given in the rewritten SQL.
SOURCE_CATALOG = "__source__"


def _linkage_lineage() -> dict[str, list[str]]:
    from derived_tables.linkage import column_lineage

    return column_lineage()


def _linkage_parameters_lineage() -> dict[str, list[str]]:
    from derived_tables.linkage_incremental import parameters_lineage

    return parameters_lineage()


#: Python models' declared lineage: model name -> function returning {column: [upstream
#: "model.column", ...]} (an upstream model by name, as the Python model's `dbt.ref` names it).
DECLARED_LINEAGE: dict[str, Callable[[], dict[str, list[str]]]] = {
    "int_person_records_linked": _linkage_lineage,
    "int_person_linkage_parameters": _linkage_parameters_lineage,
}


@dataclass(frozen=True, order=True)
class ColumnRef:
    """One column of one node (model, seed, snapshot or source), by the node's unique id."""

    node: str
    column: str

    def __str__(self) -> str:
        return f"{self.node}.{self.column}"


@dataclass
class ColumnLineage:
    """The project's column lineage: every traced column and its direct upstream columns."""

    nodes: dict[str, dict[str, Any]]
    #: column -> its direct upstream columns (empty: a constant or generated value).
    upstream: dict[ColumnRef, set[ColumnRef]] = field(default_factory=dict)
    #: node unique id -> how its lineage was obtained ("sql", "declared") .
    method: dict[str, str] = field(default_factory=dict)
    #: what could not be traced, each naming the model (and column) and why.
    problems: list[str] = field(default_factory=list)

    @property
    def downstream(self) -> dict[ColumnRef, set[ColumnRef]]:
        reverse: dict[ColumnRef, set[ColumnRef]] = {}
        for column, parents in self.upstream.items():
            for parent in parents:
                reverse.setdefault(parent, set()).add(column)
        return reverse

    def origins(self, column: ColumnRef) -> set[ColumnRef]:
        """The columns of sources and seeds `column` is computed from, transitively."""
        return {c for c in self.ancestors(column) if c.node.split(".")[0] in ("source", "seed")}

    def ancestors(self, column: ColumnRef) -> set[ColumnRef]:
        return _closure(column, self.upstream)

    def descendants(self, column: ColumnRef) -> set[ColumnRef]:
        return _closure(column, self.downstream)

    def to_json(self) -> dict[str, Any]:
        """{node: {column: ["<node>.<column>", ...]}} plus methods and problems."""
        columns: dict[str, dict[str, list[str]]] = {}
        for column, parents in sorted(self.upstream.items()):
            columns.setdefault(column.node, {})[column.column] = sorted(map(str, parents))
        return {"columns": columns, "method": self.method, "problems": self.problems}


def _closure(start: ColumnRef, edges: Mapping[ColumnRef, Iterable[ColumnRef]]) -> set[ColumnRef]:
    seen: set[ColumnRef] = set()
    todo = deque(edges.get(start, ()))
    while todo:
        column = todo.popleft()
        if column not in seen:
            seen.add(column)
            todo.extend(edges.get(column, ()))
    return seen


# --- building it ---------------------------------------------------------------------------------


def _unquote(name: str) -> str:
    return name.strip().strip('"').lower()


def _node_columns(node: dict[str, Any], catalog_entry: dict[str, Any] | None) -> list[str]:
    """A node's columns: from the warehouse (catalog.json), else its YAML."""
    if catalog_entry and catalog_entry.get("columns"):
        ordered = sorted(catalog_entry["columns"].values(), key=lambda c: c.get("index", 0))
        return [c["name"].lower() for c in ordered]
    return [name.lower() for name in node.get("columns", {})]


def build_lineage(manifest: dict[str, Any], catalog: dict[str, Any]) -> ColumnLineage:
    """Trace every model of the manifest's own package (see the module docstring)."""
    package = manifest["metadata"].get("project_name") or ""
    nodes: dict[str, dict[str, Any]] = {
        uid: node
        for uid, node in {**manifest["nodes"], **manifest["sources"]}.items()
        if uid.split(".")[0] in ("model", "seed", "snapshot", "source")
    }
    result = ColumnLineage(nodes=nodes)
    catalog_nodes = {**catalog.get("nodes", {}), **catalog.get("sources", {})}

    # Schema for sqlglot: catalog -> schema -> table -> column -> type; and the way back.
    schema: dict[str, dict[str, dict[str, dict[str, str]]]] = {}
    by_relation: dict[tuple[str, str, str], str] = {}
    source_relations: list[tuple[str, str]] = []  # (relation_name as compiled, stand-in)
    for uid, node in nodes.items():
        entry = catalog_nodes.get(uid)
        columns = _node_columns(node, entry)
        types = {}
        if entry:
            types = {c["name"].lower(): c["type"] for c in entry.get("columns", {}).values()}
        if uid.startswith("source.") and not entry:
            database, schema_name, name = SOURCE_CATALOG, node["source_name"], node["name"]
            if node.get("relation_name"):
                stand_in = f'"{database}"."{schema_name}"."{name}"'
                source_relations.append((node["relation_name"], stand_in))
        else:
            database = (node.get("database") or "").lower()
            schema_name = (node.get("schema") or "").lower()
            name = (node.get("alias") or node.get("identifier") or node["name"]).lower()
        table = schema.setdefault(database, {}).setdefault(schema_name, {})
        table[name] = {column: types.get(column, "unknown") for column in columns}
        by_relation[(database, schema_name, name)] = uid
    # Longest first, so that no relation name is replaced inside a longer one.
    source_relations.sort(key=lambda pair: -len(pair[0]))
    # Normalised once: sqlglot would otherwise rebuild it for every column it traces.
    mapping = MappingSchema(schema, dialect=DIALECT)

    for uid, node in sorted(nodes.items()):
        if not uid.startswith("model.") or node.get("package_name") != package:
            continue
        if node.get("language") == "python":
            _declared(result, uid, node, catalog_nodes.get(uid))
            continue
        sql = node.get("compiled_code")
        if not sql:
            result.problems.append(
                f"{node['name']}: no compiled SQL in manifest.json (run `dbt docs generate` "
                "or `dbt compile` first)"
            )
            continue
        for relation, stand_in in source_relations:
            sql = sql.replace(relation, stand_in)
        _traced(result, uid, node, sql, mapping, by_relation, catalog_nodes.get(uid))
    return result


def _declared(
    result: ColumnLineage, uid: str, node: dict[str, Any], entry: dict[str, Any] | None
) -> None:
    declare = DECLARED_LINEAGE.get(node["name"])
    if declare is None:
        result.problems.append(
            f"{node['name']}: a Python model with no declared column lineage "
            "(add it to derived_tables.lineage.DECLARED_LINEAGE)"
        )
        return
    by_name = {n["name"]: u for u, n in result.nodes.items() if u in node["depends_on"]["nodes"]}
    declared = declare()
    actual = _node_columns(node, entry)
    for column in sorted(set(actual) - set(declared)):
        result.problems.append(f"{node['name']}.{column}: no declared lineage for this column")
    for column in sorted(set(declared) - set(actual)):
        result.problems.append(f"{node['name']}.{column}: declared but not in the warehouse")
    for column, parents in declared.items():
        refs = set()
        for parent in parents:
            model, _, parent_column = parent.rpartition(".")
            if model not in by_name:
                result.problems.append(
                    f"{node['name']}.{column}: declared upstream {parent} is not a model it reads"
                )
                continue
            refs.add(ColumnRef(by_name[model], parent_column.lower()))
        result.upstream[ColumnRef(uid, column.lower())] = refs
    result.method[uid] = "declared"


def _traced(
    result: ColumnLineage,
    uid: str,
    node: dict[str, Any],
    sql: str,
    schema: MappingSchema,
    by_relation: dict[tuple[str, str, str], str],
    entry: dict[str, Any] | None,
) -> None:
    name = node["name"]
    try:
        expression = sqlglot.parse_one(sql, dialect=DIALECT)
        qualified = qualify(
            expression,
            schema=schema,
            dialect=DIALECT,
            validate_qualify_columns=False,
            identify=False,
        )
        scope = build_scope(qualified)
    except Exception as error:  # reported, never fatal
        result.problems.append(f"{name}: sqlglot could not parse or qualify it: {error}")
        return
    if scope is None:
        result.problems.append(f"{name}: not a query sqlglot can trace")
        return
    result.method[uid] = "sql"
    for column in _node_columns(node, entry):
        try:
            root = lineage(
                column,
                qualified,
                schema=schema,
                dialect=DIALECT,
                scope=scope,
                copy=False,
                # Untrimmed: trimming copies each CTE's select for every column (slow), and
                # the leaves (the upstream columns) are the same.
                trim_selects=False,
            )
        except Exception as error:  # reported, never fatal
            result.problems.append(f"{name}.{column}: not traced: {type(error).__name__}: {error}")
            continue
        result.upstream[ColumnRef(uid, column)] = set(_leaves(root, by_relation))


def _leaves(root: Node, by_relation: dict[tuple[str, str, str], str]) -> Iterable[ColumnRef]:
    """The warehouse columns at the ends of a sqlglot lineage tree."""
    for node in root.walk():
        if node.downstream or not isinstance(node.source, exp.Table):
            continue
        table = node.source
        key = (_unquote(table.catalog), _unquote(table.db), _unquote(table.name))
        uid = by_relation.get(key)
        if uid is None:
            continue  # a table function (range, unnest) or a literal: nothing upstream
        column = node.name.rsplit(".", 1)[-1]
        if column == "*":
            continue
        yield ColumnRef(uid, _unquote(column))


def display_name(uid: str) -> str:
    """`delius.requirements` for a source, the node name otherwise."""
    parts = uid.split(".")
    if parts[0] == "source" and len(parts) >= 4:
        return f"{parts[2]}.{parts[3]}"
    return parts[2] if len(parts) >= 3 else uid


_SAFE = re.compile(r"[^a-z0-9_]+")


def page_name(uid: str) -> str:
    """The lineage page of a node: `<name>.html`, `source__<source>__<table>.html`."""
    parts = uid.split(".")
    if parts[0] == "source" and len(parts) >= 4:
        stem = f"source__{parts[2]}__{parts[3]}"
    else:
        stem = parts[2] if len(parts) >= 3 else uid
    return _SAFE.sub("_", stem.lower()) + ".html"
