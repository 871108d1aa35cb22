"""`derived diff`: what a change does to the data, main's warehouse against the change's.

A pull request's slim build (``.ci/slim-build``) rebuilds the changed models and their children
on top of a copy of main's warehouse, on the data main was built on. This module compares the
two warehouses, model by model, and writes a Markdown report (the GitHub job summary in the
pull-request workflow; ``target/diff.md`` and ``make diff`` locally):

- **schema**: columns added, removed, or whose type changed;
- **rows**: the row count on each side;
- **values**, on the model's primary key (its ``unique`` test, or the columns of its
  ``unique_combination_of_columns`` test): keys added and removed, and for every column both
  sides have, the number of matched rows whose value differs (``is distinct from``, so a null
  that becomes a value counts), with a sample of changed rows (both values side by side).

Both files are attached read-only to one in-memory DuckDB. Only tables are compared: a view
(staging, intermediate) names its own warehouse's catalog, so it cannot be read from the
other file; every change to a view reaches the tables built on it, which are compared. A model
without a tested primary key gets schema and row counts only, and the report says why.
Recce was evaluated first (see ``docs/catalogue.md``) and not used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

SAMPLE_ROWS = 5


@dataclass
class ModelDiff:
    name: str
    relation: str
    status: str  # "changed", "unchanged", "added", "removed", "not compared"
    note: str = ""
    added_columns: list[str] = field(default_factory=list)
    removed_columns: list[str] = field(default_factory=list)
    retyped_columns: list[tuple[str, str, str]] = field(default_factory=list)
    base_rows: int | None = None
    head_rows: int | None = None
    key: list[str] = field(default_factory=list)
    keys_added: int = 0
    keys_removed: int = 0
    changed_values: dict[str, int] = field(default_factory=dict)
    sample: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(
            self.added_columns
            or self.removed_columns
            or self.retyped_columns
            or self.base_rows != self.head_rows
            or self.keys_added
            or self.keys_removed
            or any(self.changed_values.values())
        )


def primary_key(manifest: dict[str, Any], unique_id: str) -> list[str]:
    """The model's tested primary key: a `unique` column, else a tested column combination."""
    combination: list[str] = []
    for node in manifest["nodes"].values():
        if node.get("resource_type") != "test" or node.get("attached_node") != unique_id:
            continue
        metadata = node.get("test_metadata") or {}
        name, kwargs = metadata.get("name"), metadata.get("kwargs", {})
        if name == "unique" and node.get("column_name"):
            return [str(node["column_name"])]
        if name == "unique_combination_of_columns" and not combination:
            combination = [str(c) for c in kwargs.get("combination_of_columns", [])]
    return combination


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(con: Any, database: str, schema: str, table: str) -> dict[str, str] | None:
    rows = con.execute(
        "select column_name, data_type from duckdb_columns() "
        "where database_name = ? and schema_name = ? and table_name = ? order by column_index",
        [database, schema, table],
    ).fetchall()
    return {name.lower(): kind for name, kind in rows} or None


def _is_table(con: Any, database: str, schema: str, table: str) -> bool:
    found = con.execute(
        "select count(*) from duckdb_tables() "
        "where database_name = ? and schema_name = ? and table_name = ?",
        [database, schema, table],
    ).fetchone()
    return bool(found and found[0])


def diff_model(con: Any, manifest: dict[str, Any], unique_id: str) -> ModelDiff:
    """Compare one model's relation in the attached `base` and `head` warehouses: presence,
    columns, row counts and, on its tested primary key, values."""
    node = manifest["nodes"][unique_id]
    schema, table = node["schema"], node.get("alias") or node["name"]
    result = ModelDiff(node["name"], f"{schema}.{table}", "unchanged")
    base_cols = _columns(con, "base", schema, table)
    head_cols = _columns(con, "head", schema, table)
    if base_cols is None and head_cols is None:
        result.status, result.note = "not compared", "in neither warehouse"
        return result
    if base_cols is None or head_cols is None:
        _diff_presence(con, result, schema, table, added=base_cols is None)
        return result
    result.added_columns = [c for c in head_cols if c not in base_cols]
    result.removed_columns = [c for c in base_cols if c not in head_cols]
    result.retyped_columns = [
        (c, base_cols[c], head_cols[c])
        for c in head_cols
        if c in base_cols and base_cols[c] != head_cols[c]
    ]
    if not (_is_table(con, "base", schema, table) and _is_table(con, "head", schema, table)):
        result.status = "changed" if result.has_changes else "not compared"
        result.note = "a view: compared by schema only (the tables built on it are compared)"
        return result
    base_rel = f"base.{_q(schema)}.{_q(table)}"
    head_rel = f"head.{_q(schema)}.{_q(table)}"
    (result.base_rows,) = con.execute(f"select count(*) from {base_rel}").fetchone()
    (result.head_rows,) = con.execute(f"select count(*) from {head_rel}").fetchone()
    key = [k.lower() for k in primary_key(manifest, unique_id)]
    if not key or any(k not in base_cols or k not in head_cols for k in key):
        result.note = "no tested primary key on both sides: schema and row counts only"
    else:
        result.key = key
        common = [c for c in head_cols if c in base_cols and c not in key]
        _diff_values(con, result, base_rel, head_rel, common)
    result.status = "changed" if result.has_changes else "unchanged"
    return result


def _diff_presence(con: Any, result: ModelDiff, schema: str, table: str, *, added: bool) -> None:
    """A model in one warehouse only: added (head only) or removed, with its row count there
    when it is a table."""
    result.status = "added" if added else "removed"
    side = "head" if added else "base"
    if _is_table(con, side, schema, table):
        count = con.execute(f"select count(*) from {side}.{_q(schema)}.{_q(table)}").fetchone()
        rows = int(count[0]) if count else None
        result.head_rows, result.base_rows = (rows, None) if added else (None, rows)


def _diff_values(
    con: Any, result: ModelDiff, base_rel: str, head_rel: str, common: list[str]
) -> None:
    """Join both sides on `result.key`: the keys only in head, only in base, the rows whose
    value of each `common` column differs, and a sample of those rows."""
    key = result.key
    on = " and ".join(f"b.{_q(k)} is not distinct from h.{_q(k)}" for k in key)
    joined = f"{base_rel} as b full outer join {head_rel} as h on {on}"
    only_base = " and ".join(f"h.{_q(k)} is null" for k in key)
    only_head = " and ".join(f"b.{_q(k)} is null" for k in key)
    matched = f"not ({only_base}) and not ({only_head})"
    # Values are compared as text too when a column's type changed (a cast is not a change
    # of value); otherwise as they are.
    retyped = {c for c, _, _ in result.retyped_columns}

    def differs(c: str) -> str:
        if c in retyped:
            return f"b.{_q(c)}::varchar is distinct from h.{_q(c)}::varchar"
        return f"b.{_q(c)} is distinct from h.{_q(c)}"

    measures = [
        f"count(*) filter (where {only_head})",
        f"count(*) filter (where {only_base})",
        *(f"count(*) filter (where {matched} and {differs(c)})" for c in common),
    ]
    row = con.execute(f"select {', '.join(measures)} from {joined}").fetchone()
    assert row is not None
    result.keys_added, result.keys_removed = int(row[0]), int(row[1])
    result.changed_values = {c: int(n) for c, n in zip(common, row[2:], strict=True)}
    changed = [c for c, n in result.changed_values.items() if n]
    if not changed:
        return
    any_change = " or ".join(differs(c) for c in changed)
    select = ", ".join(
        [f"h.{_q(k)} as {_q(k)}" for k in key]
        + [f"b.{_q(c)} as {_q('base.' + c)}, h.{_q(c)} as {_q('head.' + c)}" for c in changed]
    )
    order = ", ".join(f"h.{_q(k)}" for k in key)
    cursor = con.execute(
        f"select {select} from {joined} where {matched} and ({any_change}) "
        f"order by {order} limit {SAMPLE_ROWS}"
    )
    names = [d[0] for d in cursor.description]
    result.sample = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def diff_warehouses(
    base: Path, head: Path, manifest: dict[str, Any], models: list[str] | None = None
) -> list[ModelDiff]:
    """Compare every model of the manifest's package (or `models`, by name) in two warehouses."""
    import duckdb

    package = manifest["metadata"].get("project_name")
    by_name = {
        node["name"]: uid
        for uid, node in manifest["nodes"].items()
        if node.get("resource_type") in ("model", "seed", "snapshot")
        and node.get("package_name") == package
        and node.get("config", {}).get("materialized") != "ephemeral"
    }
    wanted = sorted(by_name) if models is None else models
    unknown = [m for m in wanted if m not in by_name]
    if unknown:
        raise click.ClickException(f"not models of {package}: {', '.join(unknown)}")
    with duckdb.connect() as con:
        con.execute(f"attach '{base}' as base (read_only)")
        con.execute(f"attach '{head}' as head (read_only)")
        return [diff_model(con, manifest, by_name[name]) for name in wanted]


def _cell(value: Any) -> str:
    text = "null" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _count(rows: int | None) -> str:
    return "-" if rows is None else f"{rows:,}"


def render_markdown(diffs: list[ModelDiff], title: str = "Data diff against main") -> str:
    changed = [d for d in diffs if d.status in ("changed", "added", "removed")]
    lines = [f"## {title}", ""]
    if not diffs:
        lines.append("No model was rebuilt: nothing to compare.")
        return "\n".join(lines) + "\n"
    lines.append(
        f"{len(diffs)} model(s) compared, {len(changed)} with differences "
        "(schema, row count or values on the primary key)."
    )
    lines += ["", "| model | status | rows (main → PR) | schema | values |"]
    lines += ["|---|---|---|---|---|"]
    for d in diffs:
        schema_bits = (
            [f"+{c}" for c in d.added_columns]
            + [f"-{c}" for c in d.removed_columns]
            + [f"{c}: {a} → {b}" for c, a, b in d.retyped_columns]
        )
        values = ", ".join(f"{c}: {n}" for c, n in d.changed_values.items() if n)
        if d.keys_added or d.keys_removed:
            values = f"keys +{d.keys_added} -{d.keys_removed}" + (f"; {values}" if values else "")
        if not d.key and d.status not in ("added", "removed"):
            values = d.note or "-"
        rows = f"{_count(d.base_rows)} → {_count(d.head_rows)}"
        lines.append(
            f"| `{d.name}` | {d.status} | {rows} | {_cell(', '.join(schema_bits) or '-')} "
            f"| {_cell(values or '-')} |"
        )
    for d in changed:
        if not d.sample:
            continue
        lines += ["", f"### `{d.name}`: sample of changed rows (key {', '.join(d.key)})", ""]
        header = list(d.sample[0])
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for row in d.sample:
            lines.append("| " + " | ".join(_cell(row[h]) for h in header) + " |")
    return "\n".join(lines) + "\n"


@click.command("diff")
@click.option(
    "--base",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="Main's warehouse (the state the change is compared with).",
)
@click.option(
    "--head",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The warehouse with the change built into it.",
)
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=Path("target/manifest.json"),
    show_default=True,
    help="The change's manifest.json (models, their relations and primary-key tests).",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    help="Compare only these models (by name; repeatable). Default: every model.",
)
@click.option(
    "--models-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Compare only the models named in this file, one per line (e.g. `dbt ls` output).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the Markdown report here too (it is always printed).",
)
def diff(
    base: Path,
    head: Path,
    manifest: Path,
    models: tuple[str, ...],
    models_file: Path | None,
    out: Path | None,
) -> None:
    """Compare two warehouses model by model: schema, rows, values on the primary key."""
    names = list(models)
    if models_file is not None:
        names += [
            line.strip()
            for line in models_file.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    parsed = json.loads(manifest.read_text(encoding="utf-8"))
    diffs = diff_warehouses(base, head, parsed, names if (models or models_file) else None)
    report = render_markdown(diffs)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report, encoding="utf-8")
    click.echo(report)
