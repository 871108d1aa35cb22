"""`derived catalogue`: column lineage and trust signals, as static pages beside dbt docs.

dbt docs is one static page (index.html reading manifest.json and catalog.json): it draws
model-level lineage and lists which tests exist. This module adds, in ``<target>/lineage/``
(served beside index.html by ``make docs-serve``):

- ``index.html``: every mart and source with its trust signals, linked from the ``__overview__``
  doc block;
- one page per mart (``<mart>.html``, linked from the mart's description): its **trust panel**
  (built at, row count, owner, access, every test's result in the published build: pass, warn
  with the number of flagged rows, fail; the freshness of the sources it is built from) and,
  for every column, the curated source columns it comes from and the whole chain through
  staging and intermediate models (:mod:`derived_tables.lineage`);
- one page per source table (``source__<source>__<table>.html``): its trust panel (freshness
  from ``dbt source freshness``, row count, tests, the extraction dates the build read) and,
  for every column, the mart columns it feeds (the reverse lineage);
- ``lineage.json`` and ``trust.json``: the same, for machines.

Inputs: the ``manifest.json`` and ``catalog.json`` of ``dbt docs generate``; the
``run_results.json`` of the ``dbt build`` that built the warehouse (``derived build --docs``
keeps it as ``build_run_results.json``); ``sources.json`` of ``dbt source freshness`` when
it ran; the warehouse itself, opened read-only, for row counts and for the extraction dates
each source was built from (``fct_source_extractions``). Nothing reads the curated folder as it
is now: a source is counted through the manifest's relation, which under ``derived build``
names the snapshot the build pinned (``warehouse/private/curated/``).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from derived_tables.lineage import (
    ColumnLineage,
    ColumnRef,
    build_lineage,
    display_name,
    page_name,
)
from derived_tables.publish import BUILD_RESULTS

PAGES_DIR = "lineage"
#: Where `derived linkage report` writes the person linkage report (beside dbt docs, so that
#: `make docs-serve` serves it); the catalogue's index links to it.
LINKAGE_REPORT_DIR = "linkage"
LINKAGE_REPORT = f"{LINKAGE_REPORT_DIR}/linkage_report.html"
FRESHNESS_RESULTS = "sources.json"
#: Test statuses in the order a reader should see them (worst first).
STATUS_ORDER = ("error", "fail", "warn", "skipped", "not run", "pass")


def is_mart(node: dict[str, Any]) -> bool:
    return node.get("resource_type") == "model" and "marts" in node.get("fqn", [])


# --- trust signals -----------------------------------------------------------------------------


@dataclass
class TestResult:
    name: str
    column: str | None
    status: str
    failures: int | None
    message: str


@dataclass
class Trust:
    """What an analyst needs to trust one mart or source table of the published build."""

    unique_id: str
    name: str
    kind: str
    relation: str
    owner: str | None
    access: str | None
    built_at: str | None
    rows: int | None
    tests: list[TestResult] = field(default_factory=list)
    #: source name -> (status, max loaded at, snapshotted at) of `dbt source freshness`.
    freshness: dict[str, tuple[str, str | None, str | None]] = field(default_factory=dict)
    #: A source's extraction dates the build read (`fct_source_extractions`), oldest first.
    extraction_dates: list[str] = field(default_factory=list)

    @property
    def test_counts(self) -> Counter[str]:
        return Counter(test.status for test in self.tests)

    @property
    def verdict(self) -> str:
        """`fail` if any test failed or errored, `warn` if any warned, else `pass`."""
        counts = self.test_counts
        if counts["fail"] or counts["error"]:
            return "fail"
        if counts["warn"] or any(s[0] in ("warn", "error") for s in self.freshness.values()):
            return "warn"
        return "pass" if self.tests else "untested"

    def to_json(self) -> dict[str, Any]:
        return {
            "unique_id": self.unique_id,
            "name": self.name,
            "kind": self.kind,
            "relation": self.relation,
            "owner": self.owner,
            "access": self.access,
            "built_at": self.built_at,
            "rows": self.rows,
            "extraction_dates": self.extraction_dates,
            "verdict": self.verdict,
            "tests": [test.__dict__ for test in self.tests],
            "freshness": {
                name: {"status": s, "max_loaded_at": m, "snapshotted_at": t}
                for name, (s, m, t) in self.freshness.items()
            },
        }


def _read_json(path: Path | None) -> dict[str, Any] | None:
    if path is None or not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _count_rows(warehouse: Path | None, relations: dict[str, str]) -> dict[str, int | None]:
    """Row count of each relation (read-only; a relation that cannot be read counts None)."""
    if warehouse is None or not warehouse.exists():
        return dict.fromkeys(relations)
    import duckdb

    counts: dict[str, int | None] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for uid, relation in relations.items():
            try:
                row = con.execute(f"select count(*) from {relation}").fetchone()
                counts[uid] = int(row[0]) if row else None
            except duckdb.Error:
                counts[uid] = None
    return counts


#: The mart that records which curated partitions the build read (snapshot.py pins them).
EXTRACTIONS_RELATION = "common.fct_source_extractions"


def _extraction_dates(warehouse: Path | None) -> dict[tuple[str, str], list[str]]:
    """(system, table) -> the extraction dates the build read, from the warehouse's
    fct_source_extractions: what the build pinned, never the curated folder as it is now."""
    if warehouse is None or not warehouse.exists():
        return {}
    import duckdb

    found: dict[tuple[str, str], list[str]] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        try:
            rows = con.execute(
                "select source_system, source_table, cast(extraction_date as varchar) "
                f"from {EXTRACTIONS_RELATION} order by all"
            ).fetchall()
        except duckdb.Error:
            return {}  # a project without it
    for system, table, day in rows:
        found.setdefault((system, table), []).append(day)
    return found


def collect_trust(
    manifest: dict[str, Any],
    build_results: dict[str, Any] | None,
    freshness: dict[str, Any] | None,
    warehouse: Path | None,
) -> dict[str, Trust]:
    """Trust signals of every mart and source (see the module docstring)."""
    package = manifest["metadata"].get("project_name")
    subjects = {
        uid: node
        for uid, node in {**manifest["nodes"], **manifest["sources"]}.items()
        if node.get("package_name") == package
        and (is_mart(node) or node.get("resource_type") == "source")
    }
    results = {r["unique_id"]: r for r in (build_results or {}).get("results", [])}
    generated_at = (build_results or {}).get("metadata", {}).get("generated_at")
    tests = _tests_by_subject(manifest, subjects, results)
    fresh = _freshness_by_source(freshness)
    relations = {uid: node["relation_name"] for uid, node in subjects.items()}
    counts = _count_rows(warehouse, {u: r for u, r in relations.items() if r})
    extractions = _extraction_dates(warehouse)
    parents = manifest.get("parent_map", {})
    order = {status: i for i, status in enumerate(STATUS_ORDER)}

    trust: dict[str, Trust] = {}
    for uid, node in sorted(subjects.items()):
        is_source = uid.startswith("source.")
        config = node.get("config", {})
        meta = {**config.get("meta", {}), **node.get("meta", {})}
        if is_source:  # delivered, not built: its freshness says how old it is
            source_freshness = {display_name(uid): fresh[uid]} if uid in fresh else {}
        else:
            source_freshness = {
                display_name(s): fresh[s] for s in _ancestors(uid, parents) if s in fresh
            }
        trust[uid] = Trust(
            unique_id=uid,
            name=display_name(uid),
            kind="source" if is_source else "mart",
            relation=f"{node['source_name']}.{node['name']}"
            if is_source
            else (node.get("relation_name") or ""),
            owner=meta.get("owner"),
            access=node.get("access"),
            built_at=None if is_source else _built_at(results.get(uid), generated_at),
            rows=counts.get(uid),
            tests=sorted(
                tests[uid], key=lambda t: (order.get(t.status, 0), t.column or "", t.name)
            ),
            freshness=dict(sorted(source_freshness.items())),
            extraction_dates=extractions.get((node.get("schema", ""), node["name"]), [])
            if is_source
            else [],
        )
    return trust


#: The generic test that checks all of a model's `not_null` and `check` constraints in one
#: query (tests/generic/column_constraints.sql); shown as one row per constraint.
CONSTRAINT_TEST = "column_constraints"
#: How its message names a failing column:
#: `<model>: not_null constraint fails on a (2 rows), b (1 rows); check constraint fails on
#: c (3 rows): <expression>; check constraint fails on ...`.
CONSTRAINT_FAILURES = re.compile(r"not_null constraint fails on (.*?)(?:; check constraint |$)")
FAILING_COLUMN = re.compile(r"(\w+) \((\d+) rows\)")
FAILING_CHECK = re.compile(
    r"check constraint fails on (\w+) \((\d+) rows\): (.*?)(?=; check constraint fails on |$)"
)


def _tests_by_subject(
    manifest: dict[str, Any], subjects: dict[str, Any], results: dict[str, Any]
) -> dict[str, list[TestResult]]:
    """Each subject's tests with their results ("not run" when the build ran none)."""
    tests: dict[str, list[TestResult]] = {uid: [] for uid in subjects}
    for uid, test in manifest["nodes"].items():
        if test.get("resource_type") != "test":
            continue
        # A generic test belongs to the node it is attached to; a singular test (attached to
        # none) to every node it reads, e.g. a check across the facts of a domain.
        attached = test.get("attached_node")
        owners = [attached] if attached else list(test["depends_on"]["nodes"])
        result = results.get(uid)
        status = str(result["status"]) if result else "not run"
        failures = result.get("failures") if result else None
        message = " ".join(str((result or {}).get("message") or "").split())
        for owner in owners:
            if owner not in tests:
                continue
            if (test.get("test_metadata") or {}).get("name") == CONSTRAINT_TEST:
                tests[owner] += _constraint_results(
                    test, subjects[owner], status, failures, message
                )
                continue
            tests[owner].append(
                TestResult(
                    name=test["name"],
                    column=test.get("column_name"),
                    status=status,
                    failures=int(failures) if failures is not None else None,
                    message=message,
                )
            )
    return tests


def _constraint_results(
    test: dict[str, Any], owner: dict[str, Any], status: str, failures: Any, message: str
) -> list[TestResult]:
    """One result per constraint a `column_constraints` test checks: each `not_null`
    constrained column, then each `check` (an accepted range or code list, named with its
    expression). A failing test fails the columns and checks its message names (with their
    failing rows) and passes the others; a message naming none (an error of another kind)
    applies to every one."""
    rules: list[tuple[str, str, str]] = []  # (column, rule, normalised check expression)
    for name, column in owner.get("columns", {}).items():
        if any(c.get("type") == "not_null" for c in column.get("constraints") or []):
            rules.append((name, "not_null", ""))
    for name, column in owner.get("columns", {}).items():
        for constraint in column.get("constraints") or []:
            if constraint.get("type") == "check" and constraint.get("expression"):
                expression = " ".join(str(constraint["expression"]).split())
                rules.append((name, f"check: {expression}", expression))
    failing: dict[tuple[str, str], int] = {}
    if status in ("fail", "error", "warn"):
        found = CONSTRAINT_FAILURES.search(message)
        if found:
            failing |= {(c, ""): int(n) for c, n in FAILING_COLUMN.findall(found.group(1))}
        # a check is named by its column and expression (whatever dbt appends after it)
        for column, rows, named in FAILING_CHECK.findall(message):
            for ruled, _, expression in rules:
                if expression and ruled == column and named.startswith(expression):
                    failing[(column, expression)] = int(rows)
    failing = {key: n for key, n in failing.items() if key in {(c, e) for c, _, e in rules}}
    if not failing:
        count = int(failures) if failures is not None else None
        return [
            TestResult(f"{test['name']} ({rule})", column, status, count, message)
            for column, rule, _ in rules
        ]
    results = []
    for column, rule, expression in rules:
        name = f"{test['name']} ({rule})"
        rows = failing.get((column, expression))
        if rows is None:
            results.append(TestResult(name, column, "pass", 0, ""))
        elif expression:
            results.append(TestResult(name, column, status, rows, f"{rows} rows break the rule"))
        else:
            results.append(TestResult(name, column, status, rows, f"null in {rows} rows"))
    return results


def _freshness_by_source(
    freshness: dict[str, Any] | None,
) -> dict[str, tuple[str, str | None, str | None]]:
    """Source unique id -> (status, max loaded at, snapshotted at) of `dbt source freshness`."""
    return {
        row["unique_id"]: (
            str(row.get("status")),
            row.get("max_loaded_at"),
            row.get("snapshotted_at"),
        )
        for row in (freshness or {}).get("results", [])
    }


def _built_at(result: dict[str, Any] | None, generated_at: str | None) -> str | None:
    """When the build finished a node: its execute timing, else the run's time; None when
    the build did not run it."""
    if not result:
        return None
    timings = [t for t in result.get("timing", []) if t.get("name") == "execute"]
    return (timings[0].get("completed_at") if timings else None) or generated_at


def _ancestors(uid: str, parents: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(parents.get(uid, []))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(parents.get(node, []))
    return seen


# --- pages ---------------------------------------------------------------------------------------

STYLE = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#1f2933}
header{background:#0b1f33;color:#fff;padding:12px 24px}
header a{color:#9ad0ff}
main{padding:16px 24px;max-width:1200px}
h1{font-size:22px;margin:4px 0}h2{font-size:18px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #d5dbe1;padding:4px 8px;
text-align:left;vertical-align:top;font-size:14px}th{background:#eef2f5}
code{font-size:13px}.muted{color:#6b7785}
.status{font-weight:600;padding:1px 6px;border-radius:3px}
.status-pass{background:#d9f2de;color:#1d6b2f}.status-warn{background:#fff1c2;color:#7a5a00}
.status-fail,.status-error{background:#fbd5d5;color:#8a1c1c}
.status-untested,.status-skipped,.status-not-run{background:#e5e8eb;color:#4a5561}
#trust dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px;margin:8px 0}
#trust dt{font-weight:600}#trust dd{margin:0}
section.column{border-top:1px solid #e3e7eb;padding:6px 0}
section.column:target{background:#fffbe6}
ul.tree{margin:2px 0 2px 18px;padding:0}ul.tree li{list-style:disc}
"""


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _status(status: str) -> str:
    css = status.replace(" ", "-")
    return f'<span class="status status-{css}">{_esc(status)}</span>'


def _docs_link(uid: str) -> str:
    kind = uid.split(".")[0]
    return f"../index.html#!/{kind}/{uid}"


def _column_anchor(column: str) -> str:
    return f"column-{column}"


def _page(title: str, body: str, docs_uid: str | None = None) -> str:
    back = '<a href="index.html">all marts and sources</a>'
    if docs_uid:
        back += f' &middot; <a href="{_esc(_docs_link(docs_uid))}">catalogue page</a>'
    return (
        '<!doctype html>\n<html lang=en><head><meta charset=utf-8><link rel=icon href="data:,">'
        f"<title>{_esc(title)}</title><style>{STYLE}</style></head><body>"
        f'<header><a href="../index.html">derived-tables catalogue</a> &middot; {back}</header>'
        f"<main>{body}</main></body></html>\n"
    )


def _trust_panel(trust: Trust, generated_at: str) -> str:
    counts = trust.test_counts
    summary = ", ".join(f"{counts[s]} {s}" for s in STATUS_ORDER if counts[s]) or "no tests"
    rows = "unknown (not in the warehouse)" if trust.rows is None else f"{trust.rows:,}"
    if trust.kind == "source":
        rows = rows + " (every version delivered)"
    items = [
        ("Verdict", _status(trust.verdict)),
        ("Relation", f"<code>{_esc(trust.relation)}</code>"),
        ("Owner", _esc(trust.owner or "none declared")),
        ("Access", _esc(trust.access or "-")),
        ("Built at", _esc(trust.built_at or ("delivered" if trust.kind == "source" else "-"))),
        ("Row count", f'<span id="row-count">{_esc(rows)}</span>'),
        ("Tests", f'<span id="test-summary">{_esc(summary)}</span>'),
    ]
    if trust.kind == "source":
        dates = trust.extraction_dates
        built_from = (
            f"{len(dates)} extraction(s), {dates[0]} to {dates[-1]}: {', '.join(dates)}"
            if dates
            else "not recorded (no fct_source_extractions in the warehouse)"
        )
        items.append(("Built from", f'<span id="extraction-dates">{_esc(built_from)}</span>'))
    dl = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in items)
    fresh_rows = "".join(
        f"<tr><td>{_esc(name)}</td><td>{_status(status)}</td>"
        f"<td>{_esc(loaded or '-')}</td><td>{_esc(checked or '-')}</td></tr>"
        for name, (status, loaded, checked) in trust.freshness.items()
    )
    freshness = (
        "<h3>Source freshness</h3><table id=freshness><tr><th>source</th><th>status</th>"
        f"<th>latest extract</th><th>checked at</th></tr>{fresh_rows}</table>"
        if fresh_rows
        else '<p class="muted">Source freshness was not measured in this build.</p>'
    )
    test_rows = "".join(
        f'<tr class="test" data-status="{_esc(t.status)}"><td>{_status(t.status)}</td>'
        f"<td>{_esc(t.column or '(table)')}</td><td><code>{_esc(t.name)}</code></td>"
        f"<td>{'' if t.failures is None else _esc(t.failures)}</td>"
        f"<td class=muted>{_esc(t.message if t.status != 'pass' else '')}</td></tr>"
        for t in trust.tests
    )
    tests = (
        "<h3>Tests in the published build</h3><table id=tests><tr><th>result</th>"
        "<th>column</th><th>test</th><th>flagged rows</th><th>message</th></tr>"
        f"{test_rows}</table>"
    )
    return (
        f'<section id="trust"><h2>Trust</h2><p class="muted">From the published build '
        f"(catalogue generated {_esc(generated_at)}).</p><dl>{dl}</dl>{freshness}{tests}"
        "</section>"
    )


def _column_link(column: ColumnRef, css: str) -> str:
    """A link to a column: a source's lineage page (its column), else the node's dbt docs page."""
    if column.node.startswith("source."):
        href = f"{page_name(column.node)}#{_column_anchor(column.column)}"
    else:
        href = _docs_link(column.node)
    label = f"{display_name(column.node)}.{column.column}"
    return f'<a class="{css}" data-column="{_esc(label)}" href="{_esc(href)}">{_esc(label)}</a>'


def _chain(
    column: ColumnRef, lineage: ColumnLineage, seen: frozenset[ColumnRef], budget: list[int]
) -> str:
    """Nested list of the upstream chain of `column` (each node linked to its page)."""
    parents = sorted(lineage.upstream.get(column, ()))
    if not parents:
        return ""
    items = []
    for parent in parents:
        budget[0] -= 1
        if budget[0] < 0:
            items.append('<li class="muted">(chain cut: see the upstream models)</li>')
            break
        kind = parent.node.split(".")[0]
        link = _column_link(parent, "origin" if kind in ("source", "seed") else "step")
        inner = "" if parent in seen else _chain(parent, lineage, seen | {parent}, budget)
        items.append(f"<li>{link}{inner}</li>")
    return f'<ul class="tree">{"".join(items)}</ul>'


def _mart_page(
    uid: str, node: dict[str, Any], trust: Trust, lineage: ColumnLineage, generated_at: str
) -> str:
    columns = sorted(
        (c for c in lineage.upstream if c.node == uid),
        key=lambda c: (
            list(node.get("columns", {})).index(c.column)
            if c.column in node.get("columns", {})
            else 10_000
        ),
    )
    sections = []
    for column in columns:
        origins = sorted(lineage.origins(column))
        origin_items = "".join(f"<li>{_column_link(o, 'origin')}</li>" for o in origins)
        description = node.get("columns", {}).get(column.column, {}).get("description", "")
        chain = _chain(column, lineage, frozenset({column}), [400])
        sections.append(
            f'<section class="column" id="{_column_anchor(column.column)}">'
            f"<h3><code>{_esc(column.column)}</code></h3>"
            f'<p class="muted">{_esc(description)}</p>'
            + (
                f"<p>Curated source and reference columns:</p><ul class=origins>{origin_items}</ul>"
                if origins
                else "<p class=muted>Computed in the model (a constant or generated value): "
                "no upstream column.</p>"
            )
            + (f"<details><summary>Full chain</summary>{chain}</details>" if chain else "")
            + "</section>"
        )
    index = " ".join(f'<a href="#{_column_anchor(c.column)}">{_esc(c.column)}</a>' for c in columns)
    method = lineage.method.get(uid, "not traced")
    body = (
        f"<h1>{_esc(node['name'])}</h1><p>{_esc(_first_paragraph(node))}</p>"
        f"{_trust_panel(trust, generated_at)}"
        f'<h2 id="columns">Column lineage</h2><p class="muted">Traced from the compiled SQL '
        f"({_esc(method)}). Columns: {index}</p>{''.join(sections)}"
    )
    return _page(f"{node['name']}: lineage and trust", body, uid)


def _source_page(
    uid: str,
    node: dict[str, Any],
    trust: Trust,
    lineage: ColumnLineage,
    marts: set[str],
    generated_at: str,
) -> str:
    downstream = lineage.downstream
    sections = []
    for column in node.get("columns", {}):
        ref = ColumnRef(uid, column.lower())
        feeds = (
            sorted(c for c in lineage.descendants(ref) if c.node in marts and c != ref)
            if ref in downstream
            else []
        )
        items = "".join(
            f'<li><a class="feeds" href="{_esc(page_name(c.node))}#{_column_anchor(c.column)}">'
            f"{_esc(display_name(c.node))}.{_esc(c.column)}</a></li>"
            for c in feeds
        )
        description = node["columns"][column].get("description", "")
        sections.append(
            f'<section class="column" id="{_column_anchor(column.lower())}">'
            f"<h3><code>{_esc(column)}</code></h3><p class=muted>{_esc(description)}</p>"
            + (
                f"<p>Feeds these mart columns:</p><ul>{items}</ul>"
                if items
                else "<p class=muted>Feeds no mart column.</p>"
            )
            + "</section>"
        )
    body = (
        f"<h1>{_esc(display_name(uid))}</h1><p>{_esc(_first_paragraph(node))}</p>"
        f"{_trust_panel(trust, generated_at)}<h2>Where its columns go</h2>{''.join(sections)}"
    )
    return _page(f"{display_name(uid)}: lineage and trust", body, uid)


def _first_paragraph(node: dict[str, Any]) -> str:
    return " ".join((node.get("description") or "").strip().split("\n\n")[0].split())


def _linkage_section(target: Path) -> str:
    """The index's link to the person linkage report, with its headline figures when the
    report is there (`derived linkage report` writes it; `make build` runs it after a build)."""
    link = f'<a href="../{LINKAGE_REPORT}">person linkage report</a>'
    summary = _read_json(target / LINKAGE_REPORT_DIR / "linkage_report.json")
    if summary is None:
        text = (
            f"The {link} (match weights per comparison level, precision and recall against "
            "the threshold) is not written yet: <code>derived linkage report --warehouse "
            "&lt;private build file&gt; --truth &lt;person_truth.parquet&gt;</code> writes it "
            f"to <code>target/{LINKAGE_REPORT_DIR}/</code>."
        )
    else:
        model, clustered = summary.get("model", {}), summary.get("clustered", {})
        written = dt.datetime.fromtimestamp(
            (target / LINKAGE_REPORT).stat().st_mtime, dt.UTC
        ).strftime("%Y-%m-%d %H:%M:%S UTC")
        text = (
            f"The {link}: the match weight of every comparison level and precision and recall "
            f"against the threshold on the last evaluation (written {_esc(written)}): "
            f"{_esc(model.get('source', '?'))} parameters; at threshold "
            f"{_esc(summary.get('threshold', '?'))}, pairwise precision "
            f"{float(clustered.get('precision', 0.0)):.4f}, recall "
            f"{float(clustered.get('recall', 0.0)):.4f} over "
            f"{int(clustered.get('records', 0)):,} records."
        )
    return f"<h2>Person linkage</h2><p id=linkage>{text}</p>"


def _index_page(
    trust: dict[str, Trust], lineage: ColumnLineage, generated_at: str, linkage: str = ""
) -> str:
    def rows(kind: str) -> str:
        out = []
        for t in trust.values():
            if t.kind != kind:
                continue
            counts = t.test_counts
            tests = ", ".join(f"{counts[s]} {s}" for s in STATUS_ORDER if counts[s]) or "none"
            out.append(
                f'<tr><td><a href="{_esc(page_name(t.unique_id))}">{_esc(t.name)}</a></td>'
                f"<td>{_status(t.verdict)}</td><td>{_esc(t.owner or '-')}</td>"
                f"<td>{'-' if t.rows is None else f'{t.rows:,}'}</td><td>{_esc(tests)}</td>"
                f"<td>{_esc(t.built_at or '-')}</td></tr>"
            )
        return "".join(out)

    head = (
        "<tr><th>table</th><th>verdict</th><th>owner</th><th>rows</th><th>tests</th>"
        "<th>built at</th></tr>"
    )
    problems = "".join(f"<li>{_esc(p)}</li>" for p in lineage.problems)
    body = (
        "<h1>Column lineage and trust</h1>"
        f'<p class="muted">Generated {_esc(generated_at)} from the published build. A mart\'s '
        "page traces each column back to the curated source columns; a source's page lists "
        "the mart columns each of its columns feeds.</p>"
        f"<h2>Marts</h2><table id=marts>{head}{rows('mart')}</table>"
        f"<h2>Sources</h2><table id=sources>{head}{rows('source')}</table>"
        + linkage
        + (f"<h2>Not traced</h2><ul id=problems>{problems}</ul>" if problems else "")
    )
    return _page("Column lineage and trust", body)


def generate(
    target: Path,
    *,
    build_results: Path | None = None,
    freshness: Path | None = None,
    warehouse: Path | None = None,
) -> tuple[Path, ColumnLineage]:
    """Write the lineage pages into ``<target>/lineage/``; return the folder and the lineage."""
    manifest = _read_json(target / "manifest.json")
    catalog = _read_json(target / "catalog.json")
    if manifest is None or catalog is None:
        raise click.ClickException(
            f"{target} has no manifest.json or catalog.json: run `dbt docs generate` first"
        )
    results = _read_json(build_results or target / BUILD_RESULTS)
    fresh = _read_json(freshness or target / FRESHNESS_RESULTS)
    lineage = build_lineage(manifest, catalog)
    trust = collect_trust(manifest, results, fresh, warehouse)
    generated_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    out = target / PAGES_DIR
    staging = target / f".{PAGES_DIR}.new"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    nodes = {**manifest["nodes"], **manifest["sources"]}
    marts = {uid for uid, t in trust.items() if t.kind == "mart"}
    for uid, item in trust.items():
        node = nodes[uid]
        if item.kind == "mart":
            text = _mart_page(uid, node, item, lineage, generated_at)
        else:
            text = _source_page(uid, node, item, lineage, marts, generated_at)
        (staging / page_name(uid)).write_text(text, encoding="utf-8")
    (staging / "index.html").write_text(
        _index_page(trust, lineage, generated_at, _linkage_section(target)), encoding="utf-8"
    )
    (staging / "lineage.json").write_text(
        json.dumps(lineage.to_json(), indent=1, sort_keys=True), encoding="utf-8"
    )
    (staging / "trust.json").write_text(
        json.dumps({uid: t.to_json() for uid, t in trust.items()}, indent=1), encoding="utf-8"
    )
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    return out, lineage


@click.command("catalogue")
@click.option(
    "--target-path",
    "target",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path("target"),
    show_default=True,
    help="Folder of dbt docs generate's manifest.json and catalog.json.",
)
@click.option(
    "--build-results",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help=f"run_results.json of the dbt build (default: <target>/{BUILD_RESULTS}).",
)
@click.option(
    "--freshness",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help=f"sources.json of dbt source freshness (default: <target>/{FRESHNESS_RESULTS}).",
)
@click.option(
    "--warehouse",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="The warehouse to count rows in, opened read-only (default: no row counts).",
)
@click.option("--strict", is_flag=True, help="Exit non-zero when a column cannot be traced.")
def catalogue(
    target: Path,
    build_results: Path | None,
    freshness: Path | None,
    warehouse: Path | None,
    strict: bool,
) -> None:
    """Write column-lineage and trust pages into <target>/lineage/ (beside dbt docs)."""
    out, lineage = generate(
        target, build_results=build_results, freshness=freshness, warehouse=warehouse
    )
    traced = len(lineage.upstream)
    click.echo(f"[derived catalogue] {traced} columns traced; pages in {out}")
    for problem in lineage.problems:
        click.echo(f"[derived catalogue] not traced: {problem}", err=True)
    if strict and lineage.problems:
        raise click.ClickException(f"{len(lineage.problems)} column(s) or model(s) not traced")
