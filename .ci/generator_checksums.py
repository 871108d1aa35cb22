#!/usr/bin/env python3
"""Checksums of everything ``derived generate`` writes, to prove a refactor changed no byte.

Runs the generator on a fixed set of cases (two seeds, two scales, a fixed as-of date, a
``--next-day`` extract after each backfill, the ``hard`` noise profile and every ``--fault``)
in a scratch folder, and prints one line ``<sha256>  <case>/<path>`` per file written (curated
Parquet, manifest and truth file), sorted. Compare the output before and after a change:

    .venv/bin/python .ci/generator_checksums.py > /tmp/before.sha256
    ... change the generator ...
    .venv/bin/python .ci/generator_checksums.py > /tmp/after.sha256
    diff /tmp/before.sha256 /tmp/after.sha256 && echo byte-identical

``--quick`` runs only the first case (seconds, for iterating).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
DERIVED = Path(sys.executable).parent / "derived"
AS_OF = "2026-11-30"


@dataclass(frozen=True)
class Case:
    """One generated data folder: a backfill, then optionally a next-day extract."""

    name: str
    seed: int
    scale: float
    fault: str | None = None  # injected into the backfill, or the next day for next-day faults
    next_day: bool = True
    fault_next_day: bool = False
    backfill_options: tuple[str, ...] = ()  # more options of the backfill (--noise ...)


def cases() -> list[Case]:
    """Every case, the plain ones first."""
    plain = [
        Case(f"seed{seed}-scale{scale:g}", seed, scale) for seed in (42, 7) for scale in (0.05, 0.2)
    ]
    noisy = [Case("noise-hard", 13, 0.05, backfill_options=("--noise", "hard"))]
    return (
        plain
        + noisy
        + [
            Case(
                f"fault-{name}",
                11,
                0.05,
                fault=name,
                next_day=next_day_only,
                fault_next_day=next_day_only,
            )
            for name, next_day_only in _faults()
        ]
    )


def _faults() -> list[tuple[str, bool]]:
    from derived_tables.generator import faults

    return [(name, "backfill" not in f.modes) for name, f in faults.FAULTS.items()]


def _run(args: list[str], data: Path, truth: Path) -> None:
    command = [str(DERIVED), "generate", *args, "--out", str(data), "--truth-out", str(truth)]
    command += ["--project-dir", str(PROJECT)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{done.stdout}\n{done.stderr}")


def generate(case: Case, root: Path) -> Path:
    """Write the case's data under ``root/<case>``; returns that folder."""
    folder = root / case.name
    data, truth = folder / "curated", folder / "truth"
    backfill = ["--seed", str(case.seed), "--scale", str(case.scale), "--as-of", AS_OF]
    backfill += case.backfill_options
    if case.fault and not case.fault_next_day:
        backfill += ["--fault", case.fault]
    _run(backfill, data, truth)
    if case.next_day:
        extra = ["--fault", case.fault] if case.fault and case.fault_next_day else []
        _run(["--next-day", *extra], data, truth)
    return folder


def checksums(root: Path) -> list[str]:
    """``<sha256>  <relative path>`` of every file under ``root``, sorted by path."""
    lines = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  {path.relative_to(root).as_posix()}")
    return lines


def main() -> None:
    """Generate every case in a scratch folder and print the checksums."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the first case")
    options = parser.parse_args()
    selected = cases()[:1] if options.quick else cases()
    with tempfile.TemporaryDirectory(prefix="generator-checksums-") as scratch:
        root = Path(scratch)
        for case in selected:
            generate(case, root)
        print("\n".join(checksums(root)))


if __name__ == "__main__":
    main()
