"""`derived robustness`: the main job, run end to end across generator settings.

The test suite builds one tiny warehouse (scale 0.02, seed 42, one fixed as-of date) and the
defaults are scale 1, seed 42: a test whose bound holds for those settings only (issue 15: an
occupancy bound that failed at scale 0.1) is not caught there. This command runs the main job
as a user does, for each setting of a matrix, one after the other:

1. ``derived generate --scale S --seed N --as-of D`` into a fresh work folder of the run;
2. ``derived build`` there (write, audit, publish; ``DERIVED_DATA_DIR``, ``DERIVED_WAREHOUSE``
   and dbt's target and log paths all point into the work folder, so the project's own data,
   warehouse and ``target/`` are never touched), with the time-based tests' "now"
   (``generic_tests_reference_now``) pinned to the as-of date, as the test suite does.

A run passes when the build publishes: every model built and no error-severity test failed
(warnings are counted, not failures). Each run prints its settings and the commands that
reproduce it before it starts, and its result and time when it ends; a summary table follows,
and the exit code is non-zero when a run failed. A failed run's work folder is kept (its
``target/run_results.json`` and dbt log) unless ``--no-keep-failed``.

Matrices (``--matrix``):

- ``ci`` (``make test``, tests/python/test_robustness.py): the smallest scales, seeds other
  than 42, as of two stress dates (a leap day; a bank holiday the day after the clocks went
  forward): two builds.
- ``wide`` (``make robustness``): the eight settings of issue 15 (scales 0.02 to 1, seeds 42
  and 7, as of yesterday), the ci matrix, the year end of a leap year and a clock-change
  Sunday at scale 0.2: twelve builds, about 2 hours on a loaded 2-core machine.

``--setting SCALE:SEED[:YYYY-MM-DD]`` (repeatable) runs given settings instead, e.g. to
reproduce one failed run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from derived_tables.publish import FAILED_STATUSES, default_project_dir

#: Smallest scale the generator accepts in practice (the README's range, 0.01 .. 100).
SMALLEST_SCALE = 0.01

#: As-of (extraction) dates that stress the calendar logic of the build: dim_date, the daily
#: snapshot's last day, month, quarter and year ends, bank holidays and UTC/local time around
#: the clock change (Europe/London goes to BST at 01:00 UTC on the last Sunday of March).
STRESS_DATES: dict[str, dt.date] = {
    "leap day": dt.date(2024, 2, 29),
    "year end (day 366 of a leap year)": dt.date(2024, 12, 31),
    # Easter Monday 2024, the day after the clocks went forward (Sunday 31 March)
    "bank holiday after a clock-change weekend": dt.date(2024, 4, 1),
    "clock-change Sunday": dt.date(2026, 3, 29),
}


@dataclass(frozen=True)
class Setting:
    """One run of the main job. ``as_of`` None: the generator's default, yesterday (UTC)."""

    scale: float
    seed: int
    as_of: dt.date | None = None
    note: str = ""

    def resolved(self, today: dt.date) -> Setting:
        """The same setting with the as-of date made explicit (so it can be reproduced)."""
        if self.as_of is not None:
            return self
        note = self.note or "as of yesterday"
        return Setting(self.scale, self.seed, today - dt.timedelta(days=1), note)

    @property
    def label(self) -> str:
        as_of = self.as_of.isoformat() if self.as_of else "yesterday"
        return f"scale={self.scale:g} seed={self.seed} as-of={as_of}"

    def reproduce(self) -> str:
        """Shell commands that rerun this setting by hand, in a scratch folder."""
        as_of = f" --as-of {self.as_of.isoformat()}" if self.as_of else ""
        now = self.as_of.isoformat() if self.as_of else ""
        return (
            "DERIVED_DATA_DIR=/tmp/r/curated DERIVED_WAREHOUSE=/tmp/r/derived_tables.duckdb sh -c '"
            f"derived generate --scale {self.scale:g} --seed {self.seed}{as_of} "
            "--truth-out /tmp/r/truth && derived build --vars "
            f'"{{generic_tests_reference_now: {now}}}"'
            "'"
        )


def _stress(name: str, scale: float, seed: int) -> Setting:
    return Setting(scale, seed, STRESS_DATES[name], name)


def ci_matrix() -> list[Setting]:
    """The smallest scales, seeds other than the suite's 42, two stress dates: a leap day (also
    a month end), and a bank holiday the day after the clocks went forward. Two builds, to keep
    `make test` short; the wide matrix adds the year end and a clock-change Sunday."""
    return [
        _stress("leap day", SMALLEST_SCALE, 7),
        _stress("bank holiday after a clock-change weekend", 0.02, 2024),
    ]


def wide_matrix() -> list[Setting]:
    """Issue 15's eight settings (as of yesterday; the ones that failed first), then every
    stress date: the ci matrix's settings, the year end and a clock-change Sunday."""
    issue = [
        Setting(0.1, 42),
        Setting(0.1, 7),
        Setting(0.2, 42),
        Setting(0.5, 42),
        Setting(1, 7),
        Setting(1, 42),
        Setting(0.05, 42),
        Setting(0.02, 42),
    ]
    return [
        *issue,
        *ci_matrix(),
        _stress("year end (day 366 of a leap year)", SMALLEST_SCALE, 99),
        _stress("clock-change Sunday", 0.2, 5),
    ]


MATRICES: dict[str, Callable[[], list[Setting]]] = {"ci": ci_matrix, "wide": wide_matrix}


@dataclass
class RunResult:
    """What one run of the main job did."""

    setting: Setting
    ok: bool = False
    step: str = ""  # the step that failed, "" when none did
    seconds: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # "<node> [<status>] <message>"
    warnings: int = 0
    work_dir: str = ""
    output_tail: str = ""

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    def describe(self) -> str:
        head = f"{self.setting.label}: " + ("published" if self.ok else f"FAILED at {self.step}")
        head += f" ({self.total_seconds:.0f} s; {self.warnings} warning(s))"
        lines = [head, *(f"  - {failure}" for failure in self.failures)]
        if not self.ok:
            if not self.failures and self.output_tail:
                lines.append(self.output_tail)
            lines.append(f"  work folder: {self.work_dir}")
            lines.append(f"  reproduce: {self.setting.reproduce()}")
        return "\n".join(lines)


def parse_setting(text: str) -> Setting:
    """``SCALE:SEED[:YYYY-MM-DD]`` -> Setting (ValueError naming the part that is wrong)."""
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise ValueError(f"{text!r}: expected SCALE:SEED or SCALE:SEED:YYYY-MM-DD")
    try:
        scale = float(parts[0])
    except ValueError:
        raise ValueError(f"{text!r}: scale {parts[0]!r} is not a number") from None
    try:
        seed = int(parts[1])
    except ValueError:
        raise ValueError(f"{text!r}: seed {parts[1]!r} is not an integer") from None
    as_of = None
    if len(parts) == 3:
        try:
            as_of = dt.date.fromisoformat(parts[2])
        except ValueError:
            raise ValueError(f"{text!r}: as-of {parts[2]!r} is not a date (YYYY-MM-DD)") from None
    return Setting(scale, seed, as_of)


def run_environment(work_dir: Path, project_dir: Path) -> dict[str, str]:
    """Every path the tools write to points into the run's work folder."""
    env = dict(os.environ)
    for name in ("DBT_TARGET", "DBT_THREADS", "DBT_STATE", "DBT_DEFER"):
        env.pop(name, None)
    env.update(
        DERIVED_DATA_DIR=str(work_dir / "data" / "curated"),
        DERIVED_WAREHOUSE=str(work_dir / "warehouse" / "derived_tables.duckdb"),
        DUCKDB_TEMP_DIRECTORY=str(work_dir / "warehouse" / ".tmp"),
        DBT_TARGET_PATH=str(work_dir / "target"),
        DBT_LOG_PATH=str(work_dir / "logs"),
        DBT_PROJECT_DIR=str(project_dir),
        DBT_PROFILES_DIR=str(project_dir),
        DO_NOT_TRACK="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    return env


def read_failures(run_results: Path) -> tuple[list[str], int]:
    """The failed nodes (error, fail, runtime error) and the number of warnings in a dbt
    ``run_results.json``; ([], 0) when it is missing or unreadable."""
    try:
        data = json.loads(run_results.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [], 0
    failures, warnings = [], 0
    for result in data.get("results", []):
        status = str(result.get("status", "?"))
        if status in FAILED_STATUSES:
            node = str(result.get("unique_id", "?"))
            message = " ".join(str(result.get("message") or "").split())
            failures.append(f"{node} [{status}] {message}")
        elif status == "warn":
            warnings += 1
    return failures, warnings


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.splitlines()[-lines:])


def run_setting(
    setting: Setting,
    work_dir: Path,
    project_dir: Path,
    *,
    step_timeout: float | None = None,
) -> RunResult:
    """Generate, then build and publish, for one setting in ``work_dir`` (created here)."""
    if setting.as_of is None:
        raise ValueError("resolve the setting's as-of date first (Setting.resolved)")
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "warehouse" / ".tmp").mkdir(parents=True, exist_ok=True)
    env = run_environment(work_dir, project_dir)
    result = RunResult(setting, work_dir=str(work_dir))
    for name, argv in _setting_steps(setting, work_dir, project_dir, env):
        started = time.monotonic()
        code, output = _run_step(name, argv, project_dir, env, step_timeout)
        result.seconds[name] = round(time.monotonic() - started, 1)
        if name == "build":
            result.failures, result.warnings = read_failures(
                work_dir / "target" / "run_results.json"
            )
        if code != 0:
            result.step = name
            result.output_tail = _tail(output)
            return result
    published = Path(env["DERIVED_WAREHOUSE"])
    if not published.is_file():
        result.step = "publish"
        result.output_tail = f"the build exited 0 but published no warehouse at {published}"
        return result
    if result.failures:  # exit 0 with failed nodes would be a bug in `derived build`
        result.step = "audit"
        return result
    result.ok = True
    return result


def _setting_steps(
    setting: Setting, work_dir: Path, project_dir: Path, env: Mapping[str, str]
) -> list[tuple[str, list[str]]]:
    """The main job's commands for one setting: generate, then build (and publish)."""
    assert setting.as_of is not None
    derived = [sys.executable, "-m", "derived_tables.cli"]
    as_of = setting.as_of.isoformat()
    return [
        (
            "generate",
            [
                *derived, "generate",
                "--scale", f"{setting.scale:g}", "--seed", str(setting.seed), "--as-of", as_of,
                "--out", env["DERIVED_DATA_DIR"], "--truth-out", str(work_dir / "data" / "truth"),
                "--project-dir", str(project_dir),
            ],
        ),
        (
            "build",
            [
                *derived, "build",
                "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
                "--vars", json.dumps({"generic_tests_reference_now": as_of}),
            ],
        ),
    ]  # fmt: skip


def _run_step(
    name: str,
    argv: list[str],
    project_dir: Path,
    env: Mapping[str, str],
    step_timeout: float | None,
) -> tuple[int, str]:
    """Run one step: its exit code (-1 when it timed out) and its output (stderr merged)."""
    try:
        completed = subprocess.run(
            argv,
            cwd=project_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=step_timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout
        output = (out.decode(errors="replace") if isinstance(out, bytes) else out or "") + (
            f"\n{name} timed out after {step_timeout:g} s"
        )
        return -1, output
    return completed.returncode, completed.stdout


def render_table(results: Sequence[RunResult]) -> Table:
    table = Table(title="derived robustness: the main job across settings")
    for column in (
        "scale",
        "seed",
        "as-of",
        "stress",
        "result",
        "warnings",
        "generate s",
        "build s",
    ):
        table.add_column(column, justify="right" if column.endswith(" s") else "left")
    for r in results:
        table.add_row(
            f"{r.setting.scale:g}",
            str(r.setting.seed),
            r.setting.as_of.isoformat() if r.setting.as_of else "",
            r.setting.note,
            "published" if r.ok else f"FAILED ({r.step})",
            str(r.warnings),
            f"{r.seconds.get('generate', 0):.0f}",
            f"{r.seconds.get('build', 0):.0f}",
        )
    return table


@click.command("robustness")
@click.option(
    "--matrix",
    type=click.Choice(sorted(MATRICES)),
    default="wide",
    show_default=True,
    help="Settings to run: 'ci' (two tiny builds) or 'wide' (twelve, scales up to 1).",
)
@click.option(
    "--setting",
    "settings",
    multiple=True,
    metavar="SCALE:SEED[:YYYY-MM-DD]",
    help="Run this setting instead of a matrix (repeatable). Without a date: as of yesterday.",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the runs' folders go (default: a new temporary folder).",
)
@click.option(
    "--keep-failed/--no-keep-failed",
    default=True,
    show_default=True,
    help="Keep the work folder of a failed run for inspection.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the results to this JSON file.",
)
@click.option(
    "--project-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="dbt project folder (default: DBT_PROJECT_DIR, else the project root).",
)
def robustness(
    matrix: str,
    settings: tuple[str, ...],
    work_dir: Path | None,
    keep_failed: bool,
    json_path: Path | None,
    project_dir: Path | None,
) -> None:
    """Run the main job (generate, then build and publish) at each setting of a matrix.

    Each run uses its own folders, so the project's data and warehouse are never touched.
    A run passes when its warehouse publishes: every model built and no error-severity test
    failed. The exit code is 1 when a run failed; each failure is listed with the commands
    that reproduce it.
    """
    console = Console(stderr=True)
    project = (project_dir or default_project_dir()).resolve()
    try:
        chosen = [parse_setting(s) for s in settings] if settings else MATRICES[matrix]()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--setting") from None
    today = dt.datetime.now(dt.UTC).date()
    chosen = [s.resolved(today) for s in chosen]
    root = work_dir.resolve() if work_dir else Path(tempfile.mkdtemp(prefix="derived-robust-"))
    root.mkdir(parents=True, exist_ok=True)
    results: list[RunResult] = []
    for number, setting in enumerate(chosen, start=1):
        folder = root / f"run-{number:02d}-scale{setting.scale:g}-seed{setting.seed}"
        if folder.exists():
            raise click.ClickException(f"{folder} exists: use an empty --work-dir")
        note = f" ({setting.note})" if setting.note else ""
        console.print(f"[bold]run {number}/{len(chosen)}[/]: {setting.label}{note}")
        console.print(f"  reproduce: {setting.reproduce()}", soft_wrap=True)
        result = run_setting(setting, folder, project)
        results.append(result)
        console.print(result.describe(), soft_wrap=True, markup=False)
        if result.ok or not keep_failed:
            shutil.rmtree(folder, ignore_errors=True)
    console.print(render_table(results))
    if json_path:
        payload = [asdict(r) | {"setting": asdict(r.setting)} for r in results]
        json_path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    if not work_dir and all(r.ok for r in results):
        shutil.rmtree(root, ignore_errors=True)
    failed = [r for r in results if not r.ok]
    if failed:
        raise click.ClickException(
            f"{len(failed)} of {len(results)} run(s) failed:\n"
            + "\n".join(r.describe() for r in failed)
        )
    console.print(f"all {len(results)} run(s) published")
