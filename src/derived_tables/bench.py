"""`derived bench`: time and peak memory of the generator and the warehouse build at a scale.

Five steps run one after the other, each as a child process, in a private work folder (so the
project's own data, warehouse and ``target/`` are never touched):

1. ``derived generate --scale S --seed N``   the backfill extract
2. ``derived build --full-refresh``          dbt build + tests + publish on that data
3. ``derived floor``                         the model floor: the compiled models of that build
                                             run straight in one DuckDB connection (no dbt, no
                                             tests; see ``derived_tables.floor``)
4. ``derived generate --next-day``           the next daily extract
5. ``derived build``                         the incremental build after it

For each step: wall time, the peak resident memory of the largest process in the step's process
tree (the kernel's ``ru_maxrss`` from ``wait4``, exact, like ``/usr/bin/time -v``), and the peak
of the whole tree's resident memory summed (sampled with psutil every 0.2 s: the build is a
Python parent plus dbt plus DuckDB's threads, so the sum is what the machine must hold), with
the moment of that peak; for a build, the dbt nodes running at that moment (from its
``run_results.json``) are listed, to tell which model or test sets the peak.
A failed generate step stops the run; a failed build is recorded and the run goes on, so a
benchmark still works while some models or tests fail. Results are printed as a table and written
to ``bench-results/bench-<scale>-<date>.json``; the exit code is non-zero when a step failed.

``--engine spark`` (a local Spark session, target ``spark``) and ``--engine spark-cluster`` (the
standalone cluster of ``derived spark-cluster``, started before the build and stopped after it,
target ``spark_cluster``) time the same generate and full ``derived build`` on Spark (every
model, seed and data test, write-audit-publish) into ``bench-<engine>-<scale>-<date>.json``.
A Spark build is always a full build and the model floor is DuckDB's, so those two steps only
(see docs/spark.md); the chart stays DuckDB's.

The summary gives the two ratios that say what a build costs beyond its models:
``full build / model floor`` (what dbt and the tests add) and ``incremental / full`` (what the
daily build costs against a rebuild of all history), and, from each build's
``run_results.json``, dbt's own execution time summed by node type (models, tests, seeds:
summed over dbt's threads, so more than the wall time when they run in parallel). Then
``bench-results/bench-chart.png`` is redrawn from every JSON result in the folder: time and peak
memory of each step against scale (the latest run at each scale).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import click
import psutil
from rich.console import Console
from rich.table import Table

from derived_tables.publish import default_project_dir

SAMPLE_SECONDS = 0.2


@dataclass(frozen=True)
class Step:
    """One benchmarked command. A failed `required` step stops the run."""

    name: str
    argv: list[str]
    required: bool = True


@dataclass
class Measurement:
    step: str
    command: list[str]
    status: str  # ok | failed | skipped
    exit_code: int | None = None
    seconds: float | None = None
    peak_rss_bytes: int | None = None  # largest single process of the tree (ru_maxrss)
    peak_tree_rss_bytes: int | None = None  # sampled sum over the process tree
    peak_tree_at: str | None = None  # when the sampled tree peak was seen (UTC, ISO 8601)
    log: str | None = None


@dataclass
class BenchResult:
    scale: float
    seed: int
    started_at: str
    engine: str = "duckdb"
    finished_at: str = ""
    work_dir: str = ""
    project_dir: str = ""
    host: dict[str, Any] = field(default_factory=dict)
    steps: list[Measurement] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(m.status == "ok" for m in self.steps)


# --------------------------------------------------------------------------------------------
# Measuring one child process
# --------------------------------------------------------------------------------------------


def _ru_maxrss_bytes(ru_maxrss: int) -> int:
    return ru_maxrss if sys.platform == "darwin" else ru_maxrss * 1024  # Linux: KiB


class _TreeSampler(threading.Thread):
    """Samples the summed RSS of a process and all its descendants until stopped."""

    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.peak_at: float | None = None  # time.time() of the sample that set the peak
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop_event.is_set():
            total = 0
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.Error:
                processes = []
            for process in processes:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue  # exited meanwhile
            if total > self.peak:
                self.peak, self.peak_at = total, time.time()
            self._stop_event.wait(self.interval)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return self.peak


def measure(
    step: Step,
    env: Mapping[str, str],
    cwd: Path,
    log_path: Path,
    sample_seconds: float = SAMPLE_SECONDS,
) -> Measurement:
    """Run one step to completion; its output goes to log_path."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            step.argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        sampler = _TreeSampler(process.pid, sample_seconds)
        sampler.start()
        try:
            # wait4, not Popen.wait: it returns the child's rusage, whose ru_maxrss covers the
            # child and every descendant it waited for (dbt under `derived build`).
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            sampler.stop()
            raise
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        tree_peak = sampler.stop()
    peak = _ru_maxrss_bytes(usage.ru_maxrss)
    peak_at = (
        None
        if sampler.peak_at is None
        else dt.datetime.fromtimestamp(sampler.peak_at, dt.UTC).isoformat()
    )
    return Measurement(
        step=step.name,
        command=list(step.argv),
        status="ok" if process.returncode == 0 else "failed",
        exit_code=process.returncode,
        seconds=round(seconds, 3),
        peak_rss_bytes=peak,
        peak_tree_rss_bytes=max(tree_peak, peak),  # the sampler can miss a short peak
        peak_tree_at=peak_at,
        log=str(log_path),
    )


def _on_cluster(
    project_dir: Path, run: Callable[[], list[Measurement]]
) -> tuple[list[Measurement], dict[str, Any]]:
    """Run the steps with the standalone cluster up (stopped after, whatever happens); the
    outputs record the master's view before and after (the build's application, its cores)."""
    from derived_tables import spark_cluster

    settings = spark_cluster.default_settings(project_dir)
    before = spark_cluster.up(settings)
    try:
        steps = run()
        after = spark_cluster.master_state(settings)
    finally:
        spark_cluster.down(settings)
    return steps, {"spark_cluster": {"before": before, "after": after}}


def run_steps(
    steps: Sequence[Step],
    env: Mapping[str, str],
    cwd: Path,
    log_dir: Path,
    on_step: Callable[[Step], Any] | None = None,
    sample_seconds: float = SAMPLE_SECONDS,
    after_step: Callable[[Step, Measurement], Any] | None = None,
) -> list[Measurement]:
    """Measure each step in order; after a failed required step the rest are skipped."""
    measurements: list[Measurement] = []
    stopped = False
    for number, step in enumerate(steps, start=1):
        if stopped:
            measurements.append(Measurement(step.name, list(step.argv), "skipped"))
            continue
        if on_step:
            on_step(step)
        slug = "".join(c if c.isalnum() else "-" for c in step.name).strip("-")
        log_path = log_dir / f"{number:02d}-{slug}.log"
        measurement = measure(step, env, cwd, log_path, sample_seconds)
        measurements.append(measurement)
        if after_step:
            after_step(step, measurement)
        if measurement.status != "ok" and step.required:
            stopped = True
    return measurements


# --------------------------------------------------------------------------------------------
# The derived-tables steps
# --------------------------------------------------------------------------------------------


def format_scale(scale: float) -> str:
    return f"{scale:g}"


FULL_BUILD = "build (full)"
FLOOR = "model floor"
INCREMENTAL_BUILD = "build (incremental)"


def floor_json(work_dir: Path) -> Path:
    return work_dir / "floor" / "floor.json"


def default_steps(scale: float, seed: int, project_dir: Path, work_dir: Path) -> list[Step]:
    """The five commands. Every output path is explicit, into work_dir (the generator's truth
    file would otherwise go to the project's data/truth)."""
    derived = [sys.executable, "-m", "derived_tables.cli"]
    project = ["--project-dir", str(project_dir)]
    data = [
        "--out",
        str(work_dir / "data" / "curated"),
        "--truth-out",
        str(work_dir / "data" / "truth"),
        *project,
    ]
    scale_seed = ["--scale", format_scale(scale), "--seed", str(seed)]
    build = ["build", *project, "--profiles-dir", str(project_dir)]
    floor = [
        "floor",
        "--manifest",
        str(work_dir / "target" / "manifest.json"),
        "--warehouse",
        str(work_dir / "warehouse" / "derived_tables.duckdb"),
        "--work-dir",
        str(work_dir / "floor"),
        "--json-out",
        str(floor_json(work_dir)),
    ]
    return [
        Step("generate", [*derived, "generate", *scale_seed, *data]),
        Step(FULL_BUILD, [*derived, *build, "--full-refresh"], required=False),
        Step(FLOOR, [*derived, *floor], required=False),
        Step("generate --next-day", [*derived, "generate", "--next-day", *data]),
        Step(INCREMENTAL_BUILD, [*derived, *build], required=False),
    ]


#: --engine: the dbt target each engine builds with (DuckDB: the profile's default, dev).
SPARK_ENGINES = {"spark": "spark", "spark-cluster": "spark_cluster"}
ENGINES = ("duckdb", *SPARK_ENGINES)


def spark_steps(
    scale: float, seed: int, project_dir: Path, work_dir: Path, engine: str
) -> list[Step]:
    """Generate, then the full build on Spark (``--target spark`` or ``spark_cluster``)."""
    generate, full, *_ = default_steps(scale, seed, project_dir, work_dir)
    return [
        generate,
        Step(full.name, [*full.argv, "--target", SPARK_ENGINES[engine]], required=False),
    ]


def bench_environment(work_dir: Path, project_dir: Path) -> dict[str, str]:
    """Point every path the tools use into the work folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("DBT_TARGET_PATH", "DBT_LOG_PATH")}
    env.update(
        DERIVED_DATA_DIR=str(work_dir / "data" / "curated"),
        DERIVED_WAREHOUSE=str(work_dir / "warehouse" / "derived_tables.duckdb"),
        DERIVED_SPARK_WAREHOUSE=str(work_dir / "warehouse" / "spark"),
        DUCKDB_TEMP_DIRECTORY=str(work_dir / "warehouse" / ".tmp"),
        DBT_TARGET_PATH=str(work_dir / "target"),
        DBT_LOG_PATH=str(work_dir / "logs" / "dbt"),
        DBT_PROJECT_DIR=str(project_dir),
        DBT_PROFILES_DIR=str(project_dir),
        DO_NOT_TRACK="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    return env


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def project_commit(project_dir: Path) -> str | None:
    """The short commit of `project_dir`: from git, or for a `git archive` export (no `.git`)
    from the `node:` line `git archive` substitutes into `.git_archival.txt`."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=project_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    if commit.returncode == 0 and commit.stdout.strip():
        return commit.stdout.strip()
    archival = project_dir / ".git_archival.txt"
    if archival.exists():
        match = re.search(r"^node: ([0-9a-f]{7,40})$", archival.read_text(), re.MULTILINE)
        if match:
            return match.group(1)[:7]
    return None


def host_facts(project_dir: Path) -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "memory_total_bytes": psutil.virtual_memory().total,
        "git_commit": project_commit(project_dir),
        "versions": {p: _version(p) for p in ("dbt-core", "dbt-duckdb", "duckdb", "pyarrow")},
    }


def _folder_size(folder: Path, pattern: str = "*") -> dict[str, int]:
    files = [p for p in folder.rglob(pattern) if p.is_file()] if folder.exists() else []
    return {"files": len(files), "bytes": sum(p.stat().st_size for p in files)}


def output_facts(work_dir: Path) -> dict[str, Any]:
    curated = work_dir / "data" / "curated"
    facts: dict[str, Any] = {
        "curated_parquet": _folder_size(curated, "*.parquet"),
        "warehouse_bytes": None,
    }
    warehouse = work_dir / "warehouse" / "derived_tables.duckdb"
    if warehouse.exists():
        facts["warehouse_bytes"] = warehouse.stat().st_size
    manifest = curated / "_manifest.json"
    if manifest.exists():
        try:
            facts["generator_manifest"] = json.loads(manifest.read_text(encoding="utf-8"))
        except ValueError:
            facts["generator_manifest"] = None
    return facts


def dbt_node_seconds(run_results: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """dbt's execution time per node type (model, test, seed, ...) from run_results.json:
    the number of nodes and their `execute` timings summed (over dbt's threads)."""
    by_type: dict[str, dict[str, float]] = {}
    for row in run_results.get("results", []):
        kind = str(row.get("unique_id", "?")).split(".")[0]
        seconds = sum(
            (
                dt.datetime.fromisoformat(t["completed_at"].replace("Z", "+00:00"))
                - dt.datetime.fromisoformat(t["started_at"].replace("Z", "+00:00"))
            ).total_seconds()
            for t in row.get("timing", [])
            if t.get("name") == "execute" and t.get("started_at") and t.get("completed_at")
        )
        entry = by_type.setdefault(kind, {"nodes": 0, "seconds": 0.0})
        entry["nodes"] += 1
        entry["seconds"] = round(entry["seconds"] + seconds, 3)
    return by_type


#: A line `derived build` prints at the end of each of its phases.
_PHASE_LINE = re.compile(r"^\[derived build\] (?P<phase>.+) in (?P<seconds>[0-9.]+) s$")


def build_phases(log_text: str) -> dict[str, float]:
    """The seconds of each phase of `derived build` (pin, prepare candidate, dbt build,
    export, checkpoint and publish, ...) from the lines it prints in a step's log."""
    phases: dict[str, float] = {}
    for line in log_text.splitlines():
        match = _PHASE_LINE.match(line.strip())
        if match:
            phase = match["phase"]
            phases[phase] = round(phases.get(phase, 0.0) + float(match["seconds"]), 2)
    return phases


def nodes_running_at(run_results: Mapping[str, Any], at: str) -> list[str]:
    """The dbt nodes (unique ids) whose `compile` or `execute` timing spans the moment `at`
    (ISO 8601, with a time zone) in run_results.json: what dbt was running at a step's memory
    peak. Empty when the peak fell outside every node (parsing, hooks, publishing)."""
    moment = dt.datetime.fromisoformat(at)
    running = []
    for row in run_results.get("results", []):
        for timing in row.get("timing", []):
            if not (timing.get("started_at") and timing.get("completed_at")):
                continue
            started = dt.datetime.fromisoformat(timing["started_at"].replace("Z", "+00:00"))
            completed = dt.datetime.fromisoformat(timing["completed_at"].replace("Z", "+00:00"))
            if started <= moment <= completed:
                running.append(str(row.get("unique_id")))
                break
    return running


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 3)


def summarise(result: BenchResult) -> dict[str, Any]:
    """The floor, the two ratios and peak memory of the builds (None where a step failed)."""
    steps = {m.step: m for m in result.steps}

    def ok_seconds(name: str) -> float | None:
        m = steps.get(name)
        return m.seconds if m is not None and m.status == "ok" else None

    floor = result.outputs.get("floor") or {}
    floor_seconds = floor.get("floor_seconds") if ok_seconds(FLOOR) else None
    full, incremental = ok_seconds(FULL_BUILD), ok_seconds(INCREMENTAL_BUILD)
    peaks = [m.peak_tree_rss_bytes for m in result.steps if m.peak_tree_rss_bytes is not None]
    return {
        "floor_seconds": floor_seconds,
        "full_build_seconds": full,
        "incremental_build_seconds": incremental,
        "full_over_floor": _ratio(full, floor_seconds),
        "incremental_over_full": _ratio(incremental, full),
        "peak_tree_rss_bytes": max(peaks) if peaks else None,
    }


# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:,.0f}"


def render_table(result: BenchResult) -> Table:
    table = Table(
        title=f"derived bench: scale {format_scale(result.scale)}, seed {result.seed}"
        + ("" if result.engine == "duckdb" else f", engine {result.engine}"),
        caption="peak RSS: of the largest process / of the whole process tree (sampled)",
    )
    table.add_column("step", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("seconds", justify="right")
    table.add_column("peak MiB", justify="right")
    table.add_column("tree MiB", justify="right")
    for m in result.steps:
        seconds = "-" if m.seconds is None else f"{m.seconds:,.1f}"
        status = m.status if m.exit_code in (None, 0) else f"{m.status} ({m.exit_code})"
        table.add_row(m.step, status, seconds, _mib(m.peak_rss_bytes), _mib(m.peak_tree_rss_bytes))
    return table


def render_summary(summary: Mapping[str, Any]) -> str:
    def seconds(key: str) -> str:
        value = summary.get(key)
        return "-" if value is None else f"{value:,.1f} s"

    def ratio(key: str) -> str:
        value = summary.get(key)
        return "-" if value is None else f"{value:.2f}"

    peak = summary.get("peak_tree_rss_bytes")
    return (
        f"model floor {seconds('floor_seconds')}; "
        f"full build / model floor = {ratio('full_over_floor')}; "
        f"incremental / full = {ratio('incremental_over_full')}; "
        f"peak memory (process tree) {'-' if peak is None else f'{peak / 2**30:.2f} GiB'}"
    )


def render_dbt_seconds(result: BenchResult) -> list[str]:
    lines = []
    for build, by_type in (result.outputs.get("dbt_node_seconds") or {}).items():
        parts = [
            f"{kind} {entry['seconds']:,.1f} s ({entry['nodes']:.0f})"
            for kind, entry in sorted(by_type.items())
        ]
        lines.append(f"{build}: dbt execute time summed over threads: {', '.join(parts)}")
    for build, phases in (result.outputs.get("build_phases") or {}).items():
        parts = [f"{phase} {seconds:,.1f} s" for phase, seconds in phases.items()]
        lines.append(f"{build}: phases of derived build: {', '.join(parts)}")
    for build, nodes in (result.outputs.get("running_at_peak") or {}).items():
        running = ", ".join(node.split(".")[-1] for node in nodes) or (
            "no dbt node (parsing, hooks or publishing)"
        )
        lines.append(f"{build}: running at its memory peak: {running}")
    return lines


CHART_NAME = "bench-chart.png"


def latest_results_by_scale(output_dir: Path) -> list[dict[str, Any]]:
    """The latest JSON result at each scale in output_dir (by its start time), by scale."""
    latest: dict[float, dict[str, Any]] = {}
    for path in sorted(output_dir.glob("bench-*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            scale = float(data["scale"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if data.get("engine", "duckdb") != "duckdb":
            continue  # the chart is DuckDB's: Spark results have their own files
        if scale not in latest or data.get("started_at", "") >= latest[scale].get("started_at", ""):
            latest[scale] = data
    return [latest[scale] for scale in sorted(latest)]


def write_chart(output_dir: Path) -> Path | None:
    """Time and peak memory of each step against scale, from the JSON results in output_dir
    (the latest at each scale). None when there is no result to draw."""
    results = latest_results_by_scale(output_dir)
    if not results:
        return None
    import matplotlib

    matplotlib.use("Agg")  # files only, never a display
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    names: list[str] = []
    for data in results:
        for step in data.get("steps", []):
            if step["step"] not in names:
                names.append(step["step"])
    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(12, 4.8))
    for name in names:
        points = [
            (data["scale"], step["seconds"], step.get("peak_tree_rss_bytes"))
            for data in results
            for step in data.get("steps", [])
            if step["step"] == name and step.get("status") == "ok" and step.get("seconds")
        ]
        if not points:
            continue
        scales = [p[0] for p in points]
        time_axis.plot(scales, [p[1] for p in points], marker="o", label=name)
        memory = [(p[0], p[2] / 2**30) for p in points if p[2]]
        if memory:
            memory_axis.plot(*zip(*memory, strict=True), marker="o", label=name)
    for axis, label in ((time_axis, "seconds"), (memory_axis, "peak memory, GiB (process tree)")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        for ticks in (axis.xaxis, axis.yaxis):  # 0.1, 1, 10: not 10^-1, 10^0, 10^1
            ticks.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axis.set_xlabel("scale factor")
        axis.set_ylabel(label)
        axis.grid(True, which="both", alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize="small")
    time_axis.set_title("time against scale")
    memory_axis.set_title("peak memory against scale")
    commit = results[-1].get("host", {}).get("git_commit") or "?"
    figure.suptitle(f"derived bench: latest run at each scale (commit {commit})")
    figure.tight_layout()
    path = output_dir / CHART_NAME
    tmp = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(tmp, dpi=100)
    plt.close(figure)
    os.replace(tmp, path)
    return path


def results_path(output_dir: Path, scale: float, when: dt.datetime, engine: str = "duckdb") -> Path:
    prefix = "bench" if engine == "duckdb" else f"bench-{engine}"
    return output_dir / f"{prefix}-{format_scale(scale)}-{when.date().isoformat()}.json"


def write_json(result: BenchResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = asdict(result)
    payload["ok"] = result.ok
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------
# Command
# --------------------------------------------------------------------------------------------


@click.command("bench")
@click.option(
    "--scale", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True
)
@click.option("--seed", type=int, default=42, show_default=True, help="Generator seed.")
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Empty or new folder for data, warehouse and logs (kept). Default: a temporary "
    "folder, deleted after a successful run unless --keep (kept when a step failed).",
)
@click.option("--keep", is_flag=True, help="Keep the temporary work folder.")
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="duckdb",
    show_default=True,
    help="spark: a local Spark session; spark-cluster: the standalone cluster of `derived "
    "spark-cluster` (started and stopped here). Spark runs generate and the full build only.",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the JSON goes (default: bench-results/ under the project).",
)
@click.option(
    "--project-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="dbt project folder (default: DBT_PROJECT_DIR, else the project root).",
)
def bench(
    scale: float,
    seed: int,
    work_dir: Path | None,
    keep: bool,
    engine: str,
    output_dir: Path | None,
    project_dir: Path | None,
) -> None:
    """Benchmark generate, full build, next-day generate and incremental build at a scale."""
    console = Console()
    project = (project_dir or default_project_dir()).resolve()
    output = (output_dir or project / "bench-results").resolve()
    temporary = work_dir is None
    work = _work_folder(work_dir, scale)
    started = dt.datetime.now(dt.UTC)
    result = BenchResult(
        scale=scale,
        seed=seed,
        started_at=started.isoformat(timespec="seconds"),
        engine=engine,
        work_dir=str(work),
        project_dir=str(project),
        host=host_facts(project),
    )
    try:
        _measure(console, result, project, work)
    except BaseException:
        if temporary and not keep:
            shutil.rmtree(work, ignore_errors=True)
        raise
    result.finished_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    _report(console, result, results_path(output, scale, started, engine), output)
    if temporary and not keep and result.ok:
        shutil.rmtree(work, ignore_errors=True)
    for m in result.steps:
        if m.status == "failed":
            console.print(f"[red]{m.step} failed (exit {m.exit_code})[/]: see {m.log}")
    if not result.ok:
        raise click.exceptions.Exit(1)


def _work_folder(work_dir: Path | None, scale: float) -> Path:
    """The bench's work folder: `work_dir` (new or empty, else refused) or a new temporary
    folder."""
    if work_dir is None:
        return Path(tempfile.mkdtemp(prefix=f"derived-bench-{format_scale(scale)}-"))
    work = work_dir.resolve()
    if work.exists() and any(work.iterdir()):
        raise click.ClickException(f"--work-dir {work} is not empty")
    work.mkdir(parents=True, exist_ok=True)
    return work


def _measure(console: Console, result: BenchResult, project: Path, work: Path) -> None:
    """Run the engine's steps in `work`, with a status line, recording into `result` each
    step's measurement, the outputs, each build's dbt node seconds, the floor and the
    summary."""
    if result.engine == "duckdb":
        steps = default_steps(result.scale, result.seed, project, work)
    else:
        steps = spark_steps(result.scale, result.seed, project, work, result.engine)
    env = bench_environment(work, project)
    console.print(f"work folder {work}; step logs in {work / 'logs'}")
    dbt_seconds: dict[str, Any] = {}
    phases: dict[str, dict[str, float]] = {}
    at_peak: dict[str, list[str]] = {}
    with console.status("") as status:

        def on_step(step: Step) -> None:
            status.update(f"{step.name} ...")
            console.print(f"[bold]{step.name}[/]: {' '.join(step.argv[1:])}")

        def after_step(step: Step, measurement: Measurement) -> None:
            console.print(step_line(measurement))  # as it ends: a long run reports as it goes
            if step.name in (FULL_BUILD, INCREMENTAL_BUILD) and measurement.log:
                log_text = Path(measurement.log).read_text(encoding="utf-8", errors="replace")
                phases[step.name] = build_phases(log_text)
            kept = _keep_run_results(step, work)
            if kept is not None:
                run_results = json.loads(kept.read_text(encoding="utf-8"))
                dbt_seconds[step.name] = dbt_node_seconds(run_results)
                if measurement.peak_tree_at:
                    at_peak[step.name] = nodes_running_at(run_results, measurement.peak_tree_at)

        def run() -> list[Measurement]:
            return run_steps(steps, env, work, work / "logs", on_step, after_step=after_step)

        if result.engine == "spark-cluster":
            result.steps, result.outputs = _on_cluster(project, run)
        else:
            result.steps = run()
    result.outputs = {**result.outputs, **output_facts(work)}
    result.outputs["dbt_node_seconds"] = dbt_seconds
    result.outputs["build_phases"] = phases
    result.outputs["running_at_peak"] = at_peak
    if floor_json(work).exists():
        result.outputs["floor"] = json.loads(floor_json(work).read_text(encoding="utf-8"))
    result.summary = summarise(result)


def step_line(m: Measurement) -> str:
    """One line for a step that just ended: status, seconds and peak memory (MiB)."""
    mib = 1024**2
    peak = f"{m.peak_rss_bytes / mib:,.0f}" if m.peak_rss_bytes else "-"
    tree = f"{m.peak_tree_rss_bytes / mib:,.0f}" if m.peak_tree_rss_bytes else "-"
    return (
        f"{m.step}: {m.status} in {m.seconds or 0:.1f} s, peak {peak} MiB (process tree {tree} MiB)"
    )


def _keep_run_results(step: Step, work: Path) -> Path | None:
    """Keep a build step's run results in the logs folder (the next build overwrites
    target/); the copy, or None for another step or a build that left none."""
    run_results = work / "target" / "run_results.json"
    if step.name not in (FULL_BUILD, INCREMENTAL_BUILD) or not run_results.exists():
        return None
    slug = "".join(c if c.isalnum() else "-" for c in step.name).strip("-")
    kept = work / "logs" / f"{slug}-run_results.json"
    shutil.copy2(run_results, kept)
    return kept


def _report(console: Console, result: BenchResult, path: Path, output: Path) -> None:
    """Write the JSON to `path`, print the tables and write the chart of `output`."""
    write_json(result, path)
    console.print(render_table(result))
    console.print(render_summary(result.summary))
    for line in render_dbt_seconds(result):
        console.print(line)
    console.print(f"results: {path}")
    chart = write_chart(output)
    if chart is not None:
        console.print(f"chart: {chart}")
