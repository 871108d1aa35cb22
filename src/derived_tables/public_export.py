"""The public candidate of `derived build`: the published relations, written anew or patched.

`derived build` (publish.py) publishes a *public candidate* holding only the relations marked
``meta: {published: true}``. It is written one of two ways (:func:`write_public`):

- **fresh**: a new DuckDB file receives every published relation from the build (DDL,
  rows, comments). Being new, it holds nothing else, not even in freed blocks;
- **patched** (the daily build): a byte copy of the published file, made equal to the
  build relation by relation using what the build itself recorded, without comparing the
  two sides:

  - a published incremental model that dbt wrote by ``delete+insert`` on one key column
    in this dbt invocation (it recorded the keys of its batch in ``_touched_keys``, with a
    mark ``touched keys`` in ``_staging_watermarks``: macros/staging/touched_rows.sql) is
    patched by key: the public rows of those keys are deleted and the build's rows of those
    keys inserted. When one of its hooks deletes rows too (``delete_vanished_persons`` on
    ``dim_person``, ``delete_touched_donors`` on ``dim_donor``: :data:`DELETING_HOOKS`), the
    public rows whose key no longer exists in the build are deleted as well;
  - every other relation (tables and seeds, which dbt rebuilds on every run, incremental
    models rebuilt in full, a model with a hook the export does not know, any relation
    whose DDL or comments changed) is replaced whole; views are created again.

  After the patch each patched table must have the build's row count, else it is replaced
  whole (a hook that deleted some rows of a key the build kept would leave public rows
  behind: the count is what shows it).

The patch is right only if the published file is the export of the private build file's
state before this build. That is proved, never assumed: each export records, *in the private
build file* (``main._public_export``), the SHA-256 of the public file it wrote and an export
id; after the publish, the private folder's ``.public-export.json`` holds that export id and
the digest of the private build file's headers (which every checkpoint changes). The next
build patches only when the private build file's headers are those (nothing wrote the
private file since), the record in it names that export, and the published file's SHA-256
(computed while copying it) is the recorded one. Anything else, and anything uncertain,
writes the file fresh, saying why in one line: a full refresh, ``--fresh-export``, the first
build, the build after ``derived rollback``, a ``--select``/``--exclude`` build, a published
node that did not run, a change in the set of published relations, a missing or stale
record, and a patched file with more than :data:`FRESH_EXPORT_FREE_SHARE` of its blocks free
(``DERIVED_EXPORT_MAX_FREE``; the rows a patch deletes stay in freed blocks, so what lingers
there is only data published before; a fresh file bounds how much and how long).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import duckdb

from derived_tables.publish import (
    HOLD_THRESHOLD,
    Relation,
    _build_relations,
    _copy_comments,
    _create_views,
    _publish_config,
    is_published,
    literal,
    quote,
    wal,
)

#: A patched public file with more than this share of its blocks free is written fresh
#: instead: it bounds the file's growth and how long deleted published rows linger.
#: ``DERIVED_EXPORT_MAX_FREE`` (a fraction) overrides it.
FRESH_EXPORT_FREE_SHARE = 0.25
MAX_FREE_ENV = "DERIVED_EXPORT_MAX_FREE"
#: In the private build file: the record of the export written from its state.
RECORD = Relation("main", "_public_export")
#: In the private folder, written after a publish: the last export's id and the digest of
#: the private build file's headers then.
STATE_NAME = ".public-export.json"
#: The mark of a model that recorded its keys (macros/staging/touched_rows.sql).
TOUCHED_MARK = "touched keys"
TOUCHED_KEYS = "_touched_keys"
MARKS = "_staging_watermarks"
#: Macros that, as a hook of a published incremental model, only delete rows of whole keys
#: of the model (macros/people/person_chain.sql, macros/opg/opg_chain.sql): the patch then
#: also deletes the public rows whose key the build no longer has. A model with any other
#: hook is replaced whole (the export cannot see what such a hook changed).
DELETING_HOOKS = ("delete_vanished_persons", "delete_touched_donors")
_CHUNK = 8 * 2**20


@dataclass(frozen=True)
class KeyedModel:
    """A published incremental model dbt writes by `delete+insert` on the column `key`."""

    key: str
    #: A hook deletes rows too: sweep the public keys the build no longer has.
    sweep: bool = False


@dataclass(frozen=True)
class PatchPlan:
    """What a build may patch the published file `base` with (see :func:`patch_plan`)."""

    base: Path
    #: The export id the private folder's record names (the last export's).
    export_id: str
    #: The dbt invocation of the build, whose recorded keys are read.
    invocation_id: str
    keyed: Mapping[tuple[str, str], KeyedModel]


@dataclass
class PublicExport:
    """What :func:`write_public` did."""

    relations: int = 0
    mode: str = "fresh"
    #: Why the file was written fresh (when a patch was possible or asked), or "".
    fresh_reason: str = ""
    #: Relation -> number of keys patched.
    patched: dict[str, int] = field(default_factory=dict)
    #: Relation -> public rows deleted because their key left the build.
    swept: dict[str, int] = field(default_factory=dict)
    #: Relation -> why it was replaced whole.
    replaced: dict[str, str] = field(default_factory=dict)
    free_share: float = 0.0
    #: SHA-256 of the public file written, and the id recorded with it.
    digest: str = ""
    export_id: str = ""
    seconds: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            elapsed = time.monotonic() - started
            self.seconds[name] = round(self.seconds.get(name, 0.0) + elapsed, 2)

    def describe(self) -> str:
        """One line: what was written and how long each step took."""
        times = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in self.seconds.items())
        if self.mode == "fresh":
            why = f" because {self.fresh_reason}" if self.fresh_reason else ""
            return f"{self.relations} published relation(s) written to a new file{why} ({times})"
        keys = sum(self.patched.values())
        whole: dict[str, int] = {}
        for why in self.replaced.values():
            whole[why] = whole.get(why, 0) + 1
        reasons = "; ".join(f"{n} {why}" for why, n in sorted(whole.items()))
        swept = sum(self.swept.values())
        return (
            f"{self.relations} published relation(s) patched on a copy of the published file: "
            f"{len(self.patched)} patched by key ({keys:,} key(s)"
            + (f", {swept:,} row(s) of vanished keys deleted" if swept else "")
            + f"), {len(self.replaced)} replaced whole ({reasons}); "
            f"{self.free_share:.0%} of its blocks free ({times})"
        )


# --------------------------------------------------------------------------------------------
# The proof that the published file is the export of the private state
# --------------------------------------------------------------------------------------------


def state_path(private: Path) -> Path:
    """The record, in the private folder, of the last export (see the module docstring)."""
    return private.parent / STATE_NAME


def read_state(private: Path) -> dict[str, str] | None:
    try:
        data = json.loads(state_path(private).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_state(private: Path, export_id: str, private_headers: str) -> None:
    """After a publish: the export id and the private build file's header digest."""
    path = state_path(private)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(
        json.dumps({"export_id": export_id, "private_headers": private_headers}) + "\n",
        encoding="utf-8",
    )
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def hook_macros(node: Mapping[str, Any]) -> list[str]:
    """The SQL of every pre- and post-hook of a manifest node."""
    config = node.get("config") or {}
    hooks = [*(config.get("pre-hook") or []), *(config.get("post-hook") or [])]
    return [str(hook.get("sql", "")) if isinstance(hook, dict) else str(hook) for hook in hooks]


def keyed_model(node: Mapping[str, Any]) -> KeyedModel | None:
    """The key a published node is patched by, or None (replaced whole): an incremental
    model, `delete+insert` on one column, whose hooks (if any) are all :data:`DELETING_HOOKS`."""
    config = node.get("config") or {}
    key = config.get("unique_key")
    if (
        node.get("resource_type") != "model"
        or config.get("materialized") != "incremental"
        or config.get("incremental_strategy") != "delete+insert"
        or not isinstance(key, str)
        or not key.isidentifier()
    ):
        return None
    hooks = hook_macros(node)
    for hook in hooks:
        text = "".join(hook.split())
        if not any(text.startswith("{{" + name + "(") for name in DELETING_HOOKS):
            return None
    return KeyedModel(key, sweep=bool(hooks))


def patch_plan(
    published: Path,
    private: Path,
    private_headers: str | None,
    manifest_path: Path,
    invocation_id: str | None,
    statuses: Mapping[str, str],
) -> tuple[PatchPlan | None, str]:
    """The plan to patch `published` with this build, or None and why the public file is
    written fresh. `private_headers`: the private build file's header digest when the build
    started (None: it had a write-ahead log or did not exist); `statuses`: the build's
    dbt node statuses (run_results.json), of the invocation `invocation_id`."""
    max_free_share()  # a wrong setting fails the build before anything is written
    if not published.exists():
        return None, "there is no published file yet"
    if wal(published).exists():
        return None, f"the published file has a write-ahead log ({wal(published)})"
    state = read_state(private)
    if not state or not state.get("export_id"):
        return None, f"there is no record of the last export ({state_path(private)})"
    if private_headers is None or state.get("private_headers") != private_headers:
        return None, "the private build file changed since the last export"
    if not invocation_id:
        return None, "dbt's run results name no invocation"
    try:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, f"the dbt manifest {manifest_path} cannot be read"
    keyed: dict[tuple[str, str], KeyedModel] = {}
    names: dict[str, int] = {}
    for unique_id, node in sorted(manifest.get("nodes", {}).items()):
        if not is_published(node):
            continue
        status = statuses.get(unique_id)
        if status != "success":
            return None, f"{unique_id} did not run in this build ({status or 'not run'})"
        relation = (node["schema"], node.get("alias") or node["name"])
        names[relation[1]] = names.get(relation[1], 0) + 1
        patchable = keyed_model(node)
        if patchable:
            keyed[relation] = patchable
    # The keys are recorded by relation name alone: a name in two schemas is ambiguous.
    keyed = {relation: model for relation, model in keyed.items() if names[relation[1]] == 1}
    return PatchPlan(published, state["export_id"], invocation_id, keyed), ""


def max_free_share() -> float:
    """The largest share of free blocks a patched public file may keep: ``DERIVED_EXPORT_MAX_FREE``
    (0 to 1), else :data:`FRESH_EXPORT_FREE_SHARE`."""
    raw = os.environ.get(MAX_FREE_ENV)
    if not raw:
        return FRESH_EXPORT_FREE_SHARE
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise click.ClickException(
            f"{MAX_FREE_ENV}={raw!r}: give a share of the public file's blocks, from 0 to 1"
        )
    return value


def file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def copy_with_sha256(source: Path, target: Path) -> str:
    """Copy `source` to `target` (a new file); the SHA-256 of what was copied."""
    digest = hashlib.sha256()
    with open(source, "rb") as reader, open(target, "xb") as writer:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            writer.write(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Writing the public file
# --------------------------------------------------------------------------------------------


def write_public(
    build_file: Path,
    public_file: Path,
    relations: Sequence[Relation],
    fold_build: bool = False,
    plan: PatchPlan | None = None,
    fresh_reason: str = "",
    invocation_id: str = "",
) -> PublicExport:
    """Write `public_file` holding only `relations` as `build_file` has them: patched on a
    copy of `plan.base` when `plan` is given and the checks pass, else fresh (see the module
    docstring). Relations not built (a `--select` build on a fresh candidate) are skipped;
    a published view that reads an unpublished relation fails, naming it.

    `build_file` is read with its write-ahead log. With `fold_build` (the candidate of a
    build), it is opened for writing with checkpoints held; once the public file is
    complete, the export's record (the public file's SHA-256, a new export id, the dbt
    invocation) is written into it and it is checkpointed: the WAL is replayed once, and a
    failed export checkpoints nothing. Without it, read-only, and nothing is recorded.
    """
    public_file.parent.mkdir(parents=True, exist_ok=True)
    public_file.unlink(missing_ok=True)
    wal(public_file).unlink(missing_ok=True)
    report = PublicExport(fresh_reason=fresh_reason)
    wanted = {(r.schema, r.name) for r in relations}
    config = _publish_config()
    # One checkpoint at the end: the build's (above), and a patched copy's, which would
    # otherwise checkpoint on every table's commit.
    config["checkpoint_threshold"] = HOLD_THRESHOLD
    alias = public_file.stem
    with duckdb.connect(":memory:", config=config) as con:
        if fold_build:
            con.execute("pragma disable_checkpoint_on_shutdown")
        mode = "" if fold_build else " (read_only)"
        with report.step("open the build"):  # replays its write-ahead log
            con.execute(f"attach {literal(str(build_file))} as build{mode}")
        tables = _build_relations(con, "table", wanted)
        views = _build_relations(con, "view", wanted)
        if plan is not None:
            report.fresh_reason = _try_patch(con, alias, public_file, tables, views, plan, report)
        if report.mode == "fresh":
            con.execute(f"attach {literal(str(public_file))} as {quote(alias)}")
            con.execute(f"use {quote(alias)}")
            for schema in sorted({schema for schema, *_ in tables + views}):
                con.execute(f"create schema if not exists {quote(schema)}")
            with report.step("copy tables"):
                for schema, name, sql, _ in tables:
                    _create_table(con, Relation(schema, name), sql)
            with report.step("views and comments"):
                _create_views(con, views)
                _copy_comments(con, tables, views, wanted)
            with report.step("checkpoint"):
                con.execute(f"checkpoint {quote(alias)}")
            report.free_share = _free_share(con, alias)
        con.execute("use memory")
        con.execute(f"detach {quote(alias)}")
        with report.step("digest"):
            report.digest = file_sha256(public_file)
        if fold_build:
            report.export_id = uuid.uuid4().hex
            con.execute(
                f"create or replace table build.{RECORD.sql} as select ? as export_id,"
                " ? as public_sha256, ? as invocation_id, ? as mode,"
                " now()::timestamp as exported_at",
                [report.export_id, report.digest, invocation_id, report.mode],
            )
            with report.step("checkpoint of the build"):
                con.execute("checkpoint build")
        con.execute("detach build")
    report.relations = len(tables) + len(views)
    return report


def _create_table(con: duckdb.DuckDBPyConnection, relation: Relation, sql: str) -> None:
    """Create `relation` in the public file with the build file's DDL and all its rows."""
    con.execute(sql)
    con.execute(f"insert into {relation.sql} select * from build.{relation.sql}")


def _free_share(con: duckdb.DuckDBPyConnection, alias: str) -> float:
    total, free = con.execute(
        "select total_blocks, free_blocks from pragma_database_size() where database_name = ?",
        [alias],
    ).fetchall()[0]
    return free / total if total else 0.0


def _try_patch(
    con: duckdb.DuckDBPyConnection,
    alias: str,
    public_file: Path,
    tables: list[tuple[str, str, str, str | None]],
    views: list[tuple[str, str, str, str | None]],
    plan: PatchPlan,
    report: PublicExport,
) -> str:
    """Patch a copy of the published file into `public_file` (attached as `alias`, left
    checkpointed); "" when done, else why the public file must be written fresh (the copy
    is then removed)."""
    with report.step("copy"):
        base_digest = copy_with_sha256(plan.base, public_file)
    reason = _record_problem(con, plan, base_digest)
    attached = False
    if not reason:
        con.execute(f"attach {literal(str(public_file))} as {quote(alias)}")
        con.execute(f"use {quote(alias)}")
        attached = True
        reason = _patch(con, alias, tables, views, plan, report)
    if not reason:
        with report.step("checkpoint"):
            con.execute(f"checkpoint {quote(alias)}")
        report.free_share = _free_share(con, alias)
        limit = max_free_share()
        if report.free_share > limit:
            reason = (
                f"{report.free_share:.0%} of the patched file's blocks were free, more than "
                f"{limit:.0%} ({MAX_FREE_ENV})"
            )
    if not reason:
        report.mode = "patched"
        return ""
    if attached:
        con.execute("use memory")
        con.execute(f"detach {quote(alias)}")
    public_file.unlink(missing_ok=True)
    wal(public_file).unlink(missing_ok=True)
    report.patched, report.swept, report.replaced = {}, {}, {}
    return reason


def _record_problem(con: duckdb.DuckDBPyConnection, plan: PatchPlan, base_digest: str) -> str:
    """Why the build file's record does not prove the published file is its export, or ""."""
    found = con.execute(
        "select count(*) from duckdb_tables() where database_name = 'build'"
        " and schema_name = ? and table_name = ?",
        [RECORD.schema, RECORD.name],
    ).fetchall()[0][0]
    if not found:
        return "the private build file holds no record of an export"
    rows = con.execute(f"select export_id, public_sha256 from build.{RECORD.sql}").fetchall()
    if len(rows) != 1 or rows[0][0] != plan.export_id:
        return "the private build file's export record is not the last export's"
    if rows[0][1] != base_digest:
        return "the published file is not the one last exported (its SHA-256 differs)"
    return ""


def _catalog(con: duckdb.DuckDBPyConnection, database: str) -> dict[tuple[str, str], Any]:
    """Per relation of `database`: kind, SQL, comment and its columns' comments."""
    found: dict[tuple[str, str], Any] = {}
    for schema, name, kind, sql, comment in con.execute(
        "select schema_name, table_name, 'table', sql, comment from duckdb_tables()"
        " where database_name = ? union all select schema_name, view_name, 'view', sql,"
        " comment from duckdb_views() where database_name = ? and not internal",
        [database, database],
    ).fetchall():
        found[(schema, name)] = [kind, sql, comment, {}]
    for schema, name, column, comment in con.execute(
        "select schema_name, table_name, column_name, comment from duckdb_columns()"
        " where database_name = ?",
        [database],
    ).fetchall():
        if (schema, name) in found:
            found[(schema, name)][3][column] = comment
    return found


def _touched_schema(con: duckdb.DuckDBPyConnection) -> str | None:
    """The schema of the build file holding both `_touched_keys` and the marks, if one."""
    schemas = con.execute(
        "select schema_name from duckdb_tables() where database_name = 'build'"
        " and table_name in (?, ?) group by schema_name having count(*) = 2",
        [TOUCHED_KEYS, MARKS],
    ).fetchall()
    return schemas[0][0] if len(schemas) == 1 else None


def _patch(
    con: duckdb.DuckDBPyConnection,
    alias: str,
    tables: list[tuple[str, str, str, str | None]],
    views: list[tuple[str, str, str, str | None]],
    plan: PatchPlan,
    report: PublicExport,
) -> str:
    """Make the attached copy equal to the build (see the module docstring); "" when done,
    else why the file must be written fresh."""
    build_catalog = _catalog(con, "build")
    public_catalog = _catalog(con, alias)
    wanted = {
        (schema, name): kind
        for kind, rows in (("table", tables), ("view", views))
        for schema, name, *_ in rows
    }
    public_kinds = {relation: entry[0] for relation, entry in public_catalog.items()}
    if public_kinds != wanted:
        gone = sorted(f"{s}.{n}" for s, n in set(public_kinds) - set(wanted))
        new = sorted(f"{s}.{n}" for s, n in set(wanted) - set(public_kinds))
        return (
            f"the published relations changed (new: {', '.join(new) or 'none'}; no longer "
            f"published: {', '.join(gone) or 'none'}; or a table became a view)"
        )
    touched = _touched_schema(con)
    marked: set[str] = set()
    if touched is not None:
        marked = {
            row[0]
            for row in con.execute(
                f"select distinct model_name from build.{quote(touched)}.{MARKS}"
                " where invocation_id = ? and watermark = ?",
                [plan.invocation_id, TOUCHED_MARK],
            ).fetchall()
        }
    for schema, name, *_ in views:
        con.execute(f"drop view {Relation(schema, name).sql}")
    replaced: list[tuple[str, str, str, str | None]] = []
    for table in tables:
        schema, name, sql, _ = table
        relation = Relation(schema, name)
        model = plan.keyed.get((schema, name))
        if build_catalog[(schema, name)] != public_catalog[(schema, name)]:
            why = "DDL or comments changed"
        elif model is None:
            why = "tables, seeds and models not written by key"
        elif touched is None or name not in marked:
            why = "incremental models rebuilt in full"
        else:
            assert touched is not None
            why = _patch_table(con, relation, model, touched, plan.invocation_id, report)
            if not why:
                continue
        with report.step("replace whole"):
            if why == "DDL or comments changed":
                con.execute(f"drop table {relation.sql}")
                _create_table(con, relation, sql)
                replaced.append(table)  # its comments are set below
            else:  # the same DDL and comments: keep them, replace the rows
                con.execute(f"delete from {relation.sql}")
                con.execute(f"insert into {relation.sql} select * from build.{relation.sql}")
        report.replaced[str(relation)] = why
        report.patched.pop(str(relation), None)
        report.swept.pop(str(relation), None)
    with report.step("views and comments"):
        _create_views(con, views)
        names = {(schema, name) for schema, name, *_ in replaced + views}
        _copy_comments(con, replaced, views, names)
    return ""


def _patch_table(
    con: duckdb.DuckDBPyConnection,
    relation: Relation,
    model: KeyedModel,
    touched: str,
    invocation_id: str,
    report: PublicExport,
) -> str:
    """Patch one table by the keys its model recorded; "" when its row count is then the
    build's, else why it must be replaced whole."""
    key = quote(model.key)
    public, build = relation.sql, f"build.{relation.sql}"
    with report.step("patch by key"):
        con.execute(
            "create or replace temp table _public_keys as select distinct key_value as k"
            f" from build.{quote(touched)}.{TOUCHED_KEYS}"
            " where model_name = ? and invocation_id = ?",
            [relation.name, invocation_id],
        )
        keys = con.execute("select count(*) from temp._public_keys").fetchall()[0][0]
        matching = f"cast({{}}.{key} as varchar) in (select k from temp._public_keys)"
        con.execute(f"delete from {public} as p where {matching.format('p')}")
        con.execute(f"insert into {public} select * from {build} as b where {matching.format('b')}")
        con.execute("drop table temp._public_keys")
    report.patched[str(relation)] = int(keys)
    if model.sweep:
        with report.step("vanished keys"):
            swept = con.execute(
                f"delete from {public} as p where not exists (select 1 from {build} as b"
                f" where b.{key} is not distinct from p.{key})"
            ).fetchall()[0][0]
        report.swept[str(relation)] = int(swept)
    with report.step("row counts"):
        built, patched = con.execute(
            f"select (select count(*) from {build}), (select count(*) from {public})"
        ).fetchall()[0]
    if built != patched:
        return f"patched row count {patched:,} not the build's {built:,}"
    return ""
