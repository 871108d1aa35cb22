"""`derived bench`: time and peak memory of the generator and the warehouse build at a scale.

Four steps run one after the other, each as a child process, in a private work folder (so the
project's own data, warehouse and ``target/`` are never touched):

1. ``derived generate --scale S --seed N``   the backfill extract
2. ``derived build --full-refresh``          dbt build + tests + publish on that data
3. ``derived generate --next-day``           the next daily extract
4. ``derived build``                         the incremental build after it

For each step: wall time, the peak resident memory of the largest process in the step's process
tree (the kernel's ``ru_maxrss`` from ``wait4``, exact, like ``/usr/bin/time -v``), and the peak
of the whole tree's resident memory summed (sampled with psutil every 0.2 s: the build is a
Python parent plus dbt plus DuckDB's threads, so the sum is what the machine must hold).
A failed generate step stops the run; a failed build is recorded and the run goes on, so a
benchmark still works while some models or tests fail. Results are printed as a table and written
to ``bench-results/bench-<scale>-<date>.json``; the exit code is non-zero when a step failed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
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
    log: str | None = None


@dataclass
class BenchResult:
    scale: float
    seed: int
    started_at: str
    finished_at: str = ""
    work_dir: str = ""
    project_dir: str = ""
    host: dict[str, Any] = field(default_factory=dict)
    steps: list[Measurement] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

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
            self.peak = max(self.peak, total)
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
    return Measurement(
        step=step.name,
        command=list(step.argv),
        status="ok" if process.returncode == 0 else "failed",
        exit_code=process.returncode,
        seconds=round(seconds, 3),
        peak_rss_bytes=peak,
        peak_tree_rss_bytes=max(tree_peak, peak),  # the sampler can miss a short peak
        log=str(log_path),
    )


def run_steps(
    steps: Sequence[Step],
    env: Mapping[str, str],
    cwd: Path,
    log_dir: Path,
    on_step: Callable[[Step], Any] | None = None,
    sample_seconds: float = SAMPLE_SECONDS,
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
        if measurement.status != "ok" and step.required:
            stopped = True
    return measurements


# --------------------------------------------------------------------------------------------
# The derived-tables steps
# --------------------------------------------------------------------------------------------


def format_scale(scale: float) -> str:
    return f"{scale:g}"


def default_steps(scale: float, seed: int, project_dir: Path, work_dir: Path) -> list[Step]:
    """The four commands. Every output path is explicit, into work_dir (the generator's truth
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
    return [
        Step("generate", [*derived, "generate", *scale_seed, *data]),
        Step("build (full)", [*derived, *build, "--full-refresh"], required=False),
        Step("generate --next-day", [*derived, "generate", "--next-day", *data]),
        Step("build (incremental)", [*derived, *build], required=False),
    ]


def bench_environment(work_dir: Path, project_dir: Path) -> dict[str, str]:
    """Point every path the tools use into the work folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("DBT_TARGET_PATH", "DBT_LOG_PATH")}
    env.update(
        DERIVED_DATA_DIR=str(work_dir / "data" / "curated"),
        DERIVED_WAREHOUSE=str(work_dir / "warehouse" / "derived_tables.duckdb"),
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


def host_facts(project_dir: Path) -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=project_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "memory_total_bytes": psutil.virtual_memory().total,
        "git_commit": commit.stdout.strip() or None,
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


# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:,.0f}"


def render_table(result: BenchResult) -> Table:
    table = Table(
        title=f"derived bench: scale {format_scale(result.scale)}, seed {result.seed}",
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


def results_path(output_dir: Path, scale: float, when: dt.datetime) -> Path:
    return output_dir / f"bench-{format_scale(scale)}-{when.date().isoformat()}.json"


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
    output_dir: Path | None,
    project_dir: Path | None,
) -> None:
    """Benchmark generate, full build, next-day generate and incremental build at a scale."""
    console = Console()
    project = (project_dir or default_project_dir()).resolve()
    output = (output_dir or project / "bench-results").resolve()
    temporary = work_dir is None
    if work_dir is None:
        work = Path(tempfile.mkdtemp(prefix=f"derived-bench-{format_scale(scale)}-"))
    else:
        work = work_dir.resolve()
        if work.exists() and any(work.iterdir()):
            raise click.ClickException(f"--work-dir {work} is not empty")
        work.mkdir(parents=True, exist_ok=True)

    started = dt.datetime.now(dt.UTC)
    result = BenchResult(
        scale=scale,
        seed=seed,
        started_at=started.isoformat(timespec="seconds"),
        work_dir=str(work),
        project_dir=str(project),
        host=host_facts(project),
    )
    steps = default_steps(scale, seed, project, work)
    env = bench_environment(work, project)
    console.print(f"work folder {work}; step logs in {work / 'logs'}")
    try:
        with console.status("") as status:

            def on_step(step: Step) -> None:
                status.update(f"{step.name} ...")
                console.print(f"[bold]{step.name}[/]: {' '.join(step.argv[1:])}")

            result.steps = run_steps(steps, env, work, work / "logs", on_step)
        result.outputs = output_facts(work)
    except BaseException:
        if temporary and not keep:
            shutil.rmtree(work, ignore_errors=True)
        raise
    result.finished_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    path = results_path(output, scale, started)
    write_json(result, path)
    console.print(render_table(result))
    console.print(f"results: {path}")
    if temporary and not keep and result.ok:
        shutil.rmtree(work, ignore_errors=True)
    for m in result.steps:
        if m.status == "failed":
            console.print(f"[red]{m.step} failed (exit {m.exit_code})[/]: see {m.log}")
    if not result.ok:
        raise click.exceptions.Exit(1)
