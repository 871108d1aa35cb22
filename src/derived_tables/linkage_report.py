"""A report for the people who check person linkage: the model and its last evaluation.

``derived linkage report --warehouse W --truth T --out DIR`` links the warehouse's person
records again, exactly as the build does (the same records give the same model and people),
and writes to ``DIR``:

- ``linkage_report.html``: one self-contained page (inline SVG, no script, nothing fetched)
  with the match weight of every comparison level (log2 m/u: how much a pair's agreement at
  that level moves the odds of a match, and whether the parameters were learnt from these
  records or are the fallback), and pairwise precision and recall against the match threshold
  on the scored pairs, measured against the truth file, with the build's threshold marked;
- ``linkage_report.json``: the same figures, for a notebook or a diff.

Precision and recall on the curve are of the scored pairs themselves (before clustering); the
clustered figures at the build's threshold are given beside them.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from derived_tables import linkage

THRESHOLDS: tuple[float, ...] = tuple(
    sorted({round(t, 3) for t in [i / 100 for i in range(1, 100)] + [0.995, 0.999]})
)


@dataclass(frozen=True)
class LevelWeight:
    comparison: str
    level: str
    m: float
    u: float

    @property
    def weight(self) -> float:
        return math.log2(self.m / self.u)


def level_weights(model: linkage.LinkageModel) -> list[LevelWeight]:
    """The match weight of every non-null comparison level of ``model``, in model order."""
    weights = []
    for comparison in linkage._comparisons(model.parameters):
        name = comparison.create_output_column_name()
        levels = comparison.get_comparison("duckdb").comparison_levels
        for level in levels:
            if level.is_null_level:
                continue
            weights.append(
                LevelWeight(name, level.label_for_charts, level.m_probability, level.u_probability)
            )
    return weights


_CURVE_SQL = """
with
truth_keys as (
    select system || ':' || record_id as record_key, person_id from truth
),
labelled as (
    select
        pairs.match_probability,
        l.person_id = r.person_id as is_match
    from pairs
    inner join truth_keys as l on pairs.record_key_l = l.record_key
    inner join truth_keys as r on pairs.record_key_r = r.record_key
),
thresholds as (select unnest($thresholds) as threshold)
select
    thresholds.threshold,
    count(labelled.match_probability) as pairs_predicted,
    count(labelled.match_probability) filter (where labelled.is_match) as pairs_correct
from thresholds
left join labelled on labelled.match_probability >= thresholds.threshold
group by thresholds.threshold
order by thresholds.threshold
"""


def precision_recall_curve(
    scored_pairs: pa.Table, truth: pa.Table, pairs_true: int
) -> list[dict[str, float]]:
    """Pairwise precision and recall of the scored pairs at each of :data:`THRESHOLDS`."""
    con = duckdb.connect(":memory:")
    try:
        con.register("pairs", scored_pairs)
        con.register("truth", truth.select(["person_id", "system", "record_id"]))
        rows = con.execute(_CURVE_SQL, {"thresholds": list(THRESHOLDS)}).fetchall()
    finally:
        con.close()
    return [
        {
            "threshold": float(t),
            "precision": correct / predicted if predicted else 1.0,
            "recall": correct / pairs_true if pairs_true else 1.0,
            "pairs_predicted": int(predicted),
        }
        for t, predicted, correct in rows
    ]


def build_report(
    records: pa.Table, truth: pa.Table, run: linkage.LinkageRun | None = None
) -> dict[str, Any]:
    """Link ``records`` as the build does (unless given the ``run`` that did, with its scored
    pairs) and gather the report's figures."""
    if run is None or run.scored_pairs is None:
        run = linkage.link(records, keep_pairs=True)
    systems = sorted(set(records.column("system").to_pylist()))
    quality = linkage.pairwise_quality(run.linked, truth, systems=systems)
    assert run.scored_pairs is not None
    return {
        "model": run.model.as_dict(),
        "threshold": linkage.MATCH_THRESHOLD,
        "clustered": quality.as_dict(),
        "levels": [
            {"comparison": w.comparison, "level": w.level, "m": w.m, "u": w.u, "weight": w.weight}
            for w in level_weights(run.model)
        ],
        "curve": precision_recall_curve(run.scored_pairs, truth, quality.pairs_true),
        "seconds": run.seconds,
    }


def _svg_weights(levels: list[dict[str, Any]]) -> str:
    row, label_w, width = 18, 330, 760
    limit = max(5.0, max(abs(lv["weight"]) for lv in levels))
    half = (width - label_w - 20) / 2
    zero = label_w + half
    height = row * len(levels) + 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">']
    parts.append(f'<line x1="{zero}" y1="10" x2="{zero}" y2="{height - 25}" stroke="#333"/>')
    for tick in range(-int(limit), int(limit) + 1, max(1, int(limit) // 5)):
        x = zero + tick / limit * half
        parts.append(
            f'<text x="{x:.1f}" y="{height - 8}" font-size="10" text-anchor="middle">{tick}</text>'
        )
    previous = None
    for i, lv in enumerate(levels):
        y = 10 + i * row
        name = lv["comparison"] if lv["comparison"] != previous else ""
        previous = lv["comparison"]
        label = html.escape(f"{name}  {lv['level']}" if name else lv["level"])
        w = lv["weight"] / limit * half
        x = zero if w >= 0 else zero + w
        colour = "#2a7ab0" if w >= 0 else "#c0504d"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 12}" font-size="11" text-anchor="end">{label}</text>'
            f'<rect x="{x:.1f}" y="{y + 2}" width="{abs(w):.1f}" height="{row - 5}" '
            f'fill="{colour}"><title>{label}: m={lv["m"]:.4g} u={lv["u"]:.4g} '
            f"weight={lv['weight']:.2f}</title></rect>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _svg_curve(curve: list[dict[str, float]], threshold: float) -> str:
    width, height, pad = 760, 320, 45
    low = min(0.9, min(min(p["precision"], p["recall"]) for p in curve))
    low = math.floor(low * 100) / 100

    def xy(t: float, v: float) -> tuple[float, float]:
        return (
            pad + t * (width - 2 * pad),
            height - pad - (v - low) / (1 - low) * (height - 2 * pad),
        )

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">']
    parts.append(
        f'<rect x="{pad}" y="{pad}" width="{width - 2 * pad}" height="{height - 2 * pad}" '
        'fill="none" stroke="#999"/>'
    )
    for k in range(6):
        v = low + k * (1 - low) / 5
        _, y = xy(0, v)
        parts.append(
            f'<text x="{pad - 5}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{v:.3f}</text>'
        )
    for t in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        x, _ = xy(t, low)
        parts.append(
            f'<text x="{x:.1f}" y="{height - pad + 15}" font-size="10" '
            f'text-anchor="middle">{t:.1f}</text>'
        )
    for key, colour in (("precision", "#2a7ab0"), ("recall", "#e08a1e")):
        points = " ".join("{:.1f},{:.1f}".format(*xy(p["threshold"], p[key])) for p in curve)
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )
    x, _ = xy(threshold, low)
    parts.append(
        f'<line x1="{x:.1f}" y1="{pad}" x2="{x:.1f}" y2="{height - pad}" stroke="#333" '
        'stroke-dasharray="4 3"/>'
        f'<text x="{x - 4:.1f}" y="{pad - 6}" font-size="11" text-anchor="end">'
        f"build threshold {threshold}</text>"
        f'<text x="{width / 2}" y="{height - 5}" font-size="11" text-anchor="middle">'
        "match probability threshold</text>"
        f'<text x="{pad + 10}" y="{pad + 16}" font-size="11" fill="#2a7ab0">precision</text>'
        f'<text x="{pad + 80}" y="{pad + 16}" font-size="11" fill="#e08a1e">recall</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML page."""
    model, clustered = report["model"], report["clustered"]
    at = min(report["curve"], key=lambda p: abs(p["threshold"] - report["threshold"]))
    rows = "".join(
        f"<tr><td>{html.escape(lv['comparison'])}</td><td>{html.escape(lv['level'])}</td>"
        f"<td>{lv['m']:.4g}</td><td>{lv['u']:.4g}</td><td>{lv['weight']:+.2f}</td></tr>"
        for lv in report["levels"]
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Person linkage report</title>
<style>body{{font-family:sans-serif;max-width:820px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;font-size:12px}}td,th{{border:1px solid #ccc;padding:2px 6px}}
</style></head><body>
<h1>Person linkage report</h1>
<p>Parameters: <b>{html.escape(model["source"])}</b> ({html.escape(model["reason"])}); prior
probability that two random records match {model["probability_two_random_records_match"]:.3g}.
Clustered at match probability {report["threshold"]}: {clustered["records"]:,} records into
{clustered["people_predicted"]:,} people ({clustered["people_true"]:,} true); pairwise precision
<b>{clustered["precision"]:.4f}</b>, recall <b>{clustered["recall"]:.4f}</b>, F1
{clustered["f1"]:.4f}. Linked in {report["seconds"]:.1f} s.</p>
<h2>Match weights per comparison level</h2>
<p>log2(m/u): how many bits a pair's agreement at that level adds to (blue) or takes from
(red) the odds that the two records are one person. Hover a bar for m and u.</p>
{_svg_weights(report["levels"])}
<h2>Precision and recall against the threshold</h2>
<p>Pairwise, over the scored pairs before clustering, against the truth file. At the build's
threshold: precision {at["precision"]:.4f}, recall {at["recall"]:.4f}.</p>
{_svg_curve(report["curve"], report["threshold"])}
<h2>Parameters</h2>
<table><tr><th>comparison</th><th>level</th><th>m</th><th>u</th><th>weight</th></tr>{rows}
</table>
</body></html>
"""


def write_report(
    records: pa.Table, truth: pa.Table, out: Path, run: linkage.LinkageRun | None = None
) -> dict[str, Path]:
    """Write ``linkage_report.html`` and ``linkage_report.json`` to ``out``."""
    report = build_report(records, truth, run)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"html": out / "linkage_report.html", "json": out / "linkage_report.json"}
    paths["html"].write_text(render_html(report), encoding="utf-8")
    paths["json"].write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return paths
