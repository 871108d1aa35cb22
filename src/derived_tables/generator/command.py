"""``derived generate``: synthetic curated data for the four source systems."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from derived_tables.generator import calendar as cal
from derived_tables.generator import faults, noise
from derived_tables.generator.manifest import ManifestError, read_manifest
from derived_tables.generator.output import OutputError, default_data_dir, find_project_dir
from derived_tables.generator.reference import ReferenceError
from derived_tables.generator.runs import Summary, backfill, next_day
from derived_tables.generator.schema import TABLES
from derived_tables.generator.writer import no_faults

MAX_SCALE = 100.0
FIRST_AS_OF = cal.DATA_START + dt.timedelta(days=1)


def _yesterday() -> dt.date:
    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


def _scale(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not (0 < value <= MAX_SCALE):
        raise click.BadParameter(f"must be > 0 and <= {MAX_SCALE:g}, got {value:g}", ctx, param)
    return value


def _as_of(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        date = dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not a date (YYYY-MM-DD): {value!r}", ctx, param) from None
    if not (FIRST_AS_OF <= date <= cal.WORLD_END):
        raise click.BadParameter(
            f"must be between {FIRST_AS_OF} and {cal.WORLD_END}, got {date}", ctx, param
        )
    return date


@click.command("generate", epilog=faults.help_text())
@click.option(
    "--scale",
    type=float,
    default=None,
    callback=_scale,
    help="Scale factor, > 0 and <= 100 (1 is about 2 million rows). Default 1.",
)
@click.option("--seed", type=int, default=None, help="Random seed. Default 42.")
@click.option(
    "--as-of",
    "as_of",
    metavar="YYYY-MM-DD",
    default=None,
    callback=_as_of,
    help="Extraction date of the backfill (data up to the day before). Default: yesterday (UTC).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Curated data folder. Default: $DERIVED_DATA_DIR or <project>/data/curated.",
)
@click.option(
    "--truth-out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder of person_truth.parquet. Default: <project>/data/truth.",
)
@click.option(
    "--project-dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="The dbt project (its seeds give the codes). Default: found upward from here.",
)
@click.option(
    "--if-missing", is_flag=True, help="Do nothing if the data folder already has a manifest."
)
@click.option("--force", is_flag=True, help="Replace existing data (atomically).")
@click.option(
    "--next-day",
    "next_day_",
    is_flag=True,
    help="Append the next extraction date's partition to existing data.",
)
@click.option(
    "--fault",
    type=click.Choice(list(faults.FAULTS)),
    default=None,
    metavar="NAME",
    help="Inject one named fault (listed below) into otherwise good data; it is printed and "
    "recorded in the manifest's `faults`.",
)
@click.option(
    "--noise",
    "noise_profile",
    type=click.Choice(list(noise.PROFILES)),
    default=None,
    help="How person records vary: 'default' (typos, nicknames, swapped day and month of "
    "birth, moved addresses) or 'hard' (also swapped names, surnames changed by marriage or "
    "double-barrelled, initials, missing or decade-off dates of birth, missing or stale "
    "postcodes, mistyped PNCs). Default: default; --next-day keeps the data's profile.",
)
def generate(
    scale: float | None,
    seed: int | None,
    as_of: dt.date | None,
    out: Path | None,
    truth_out: Path | None,
    project_dir: Path | None,
    if_missing: bool,
    force: bool,
    next_day_: bool,
    fault: str | None,
    noise_profile: str | None,
) -> None:
    """Generate synthetic curated data for courts, prisons, probation and the OPG.

    Writes one Parquet partition per table under <out>/<system>/<table>/extraction_date=<date>/,
    the manifest <out>/_manifest.json and the linkage truth <truth-out>/person_truth.parquet.
    The same seed, scale and as-of date always give byte-identical files.
    """
    try:
        project = (project_dir or find_project_dir(Path.cwd())).resolve()
    except OutputError as exc:
        raise click.ClickException(str(exc)) from None
    data_dir = (out or default_data_dir(project)).resolve()
    truth_dir = (truth_out or project / "data" / "truth").resolve()
    seeds_dir = project / "seeds"
    console = Console(stderr=True)

    _check_options(next_day_, as_of, scale, seed, noise_profile, force, if_missing)
    if not next_day_ and if_missing and (data_dir / "_manifest.json").exists():
        click.echo(f"Curated data already present in {data_dir}; nothing to do (--if-missing).")
        return
    injector = _fault_injector(fault, next_day_, as_of, data_dir)
    hook = injector or no_faults
    started = time.monotonic()
    try:
        with _ProgressBar(console) as report:
            if next_day_:
                summary = next_day(
                    seeds_dir=seeds_dir,
                    data_dir=data_dir,
                    truth_dir=truth_dir,
                    hook=hook,
                    progress=report,
                )
            else:
                summary = backfill(
                    seeds_dir=seeds_dir,
                    data_dir=data_dir,
                    truth_dir=truth_dir,
                    seed=42 if seed is None else seed,
                    scale=1.0 if scale is None else scale,
                    as_of=as_of or _yesterday(),
                    force=force,
                    hook=hook,
                    progress=report,
                    noise_profile=noise_profile or "default",
                )
    except (OutputError, ManifestError, ReferenceError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"could not write the curated data: {exc}") from None
    _print_summary(summary, time.monotonic() - started, next_day_)
    if injector is not None:
        _report_fault(injector.report(), data_dir)


def _check_options(
    next_day_: bool,
    as_of: dt.date | None,
    scale: float | None,
    seed: int | None,
    noise_profile: str | None,
    force: bool,
    if_missing: bool,
) -> None:
    """Options that exclude each other: a usage error naming them."""
    if force and if_missing:
        raise click.UsageError("--force and --if-missing exclude each other")
    if next_day_:
        given = (
            ("--as-of", as_of),
            ("--scale", scale),
            ("--seed", seed),
            ("--noise", noise_profile),
        )
        clashes = [name for name, value in given if value is not None]
        clashes += [
            name for name, flag in (("--force", force), ("--if-missing", if_missing)) if flag
        ]
        if clashes:
            raise click.UsageError(
                f"--next-day continues the existing data; it does not take {', '.join(clashes)}"
            )


def _fault_injector(
    fault: str | None, next_day_: bool, as_of: dt.date | None, data_dir: Path
) -> faults.FaultInjector | None:
    """The injector of ``--fault`` for the extract about to be written (None without)."""
    if fault is None:
        return None
    try:
        extraction_date = (
            read_manifest(data_dir).last_extraction_date + dt.timedelta(days=1)
            if next_day_
            else as_of or _yesterday()
        )
        return faults.FaultInjector(
            fault, "next-day" if next_day_ else "backfill", extraction_date, data_dir
        )
    except (faults.FaultError, ManifestError) as exc:
        raise click.ClickException(str(exc)) from None


def _report_fault(report: faults.FaultReport, data_dir: Path) -> None:
    """Print what the fault did and record it in the manifest; fail if it did nothing."""
    if not report.injected:
        raise click.ClickException(
            f"fault {report.fault} injected nothing: {report.table} had no rows to fault in "
            f"the extract of {report.extraction_date} (the data was written without it)"
        )
    faults.record_in_manifest(data_dir, report)
    click.echo(report.describe())


class _ProgressBar:
    """A rich progress bar on a terminal; nothing otherwise."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar: Progress | None = None
        self.task: int | None = None

    def __enter__(self) -> _ProgressBar:
        if self.console.is_terminal:
            self.bar = Progress(
                TextColumn("[bold]generating"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("chunks"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self.bar.__enter__()
            self.task = self.bar.add_task("generate", total=None)
        return self

    def __call__(self, done: int, total: int) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _print_summary(summary: Summary, seconds: float, appended: bool) -> None:
    console = Console()
    manifest = read_manifest(summary.data_dir)
    kind = "next day" if appended else "backfill"
    table = Table(title=f"Curated data, extraction date {summary.extraction_date} ({kind})")
    table.add_column("table")
    table.add_column("rows written", justify="right")
    table.add_column("rows in all", justify="right")
    totals = {name: sum(parts.values()) for name, parts in manifest.tables.items()}
    for spec in TABLES:
        name = spec.qualified_name
        table.add_row(name, f"{summary.rows.get(name, 0):,}", f"{totals.get(name, 0):,}")
    table.add_row(
        "[bold]total", f"[bold]{sum(summary.rows.values()):,}", f"[bold]{sum(totals.values()):,}"
    )
    console.print(table)
    console.print(
        f"Wrote {summary.data_dir} in {seconds:.1f} s; truth rows added: {summary.truth_rows:,} "
        f"(seed {manifest.seed}, scale {manifest.scale:g}, extraction dates "
        f"{manifest.extraction_dates[0]}..{manifest.last_extraction_date})."
    )
