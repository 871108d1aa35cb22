"""``_manifest.json``: what the curated data folder holds (seed, scale, extraction dates, rows)."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_NAME = "_manifest.json"
FORMAT_VERSION = 1


class ManifestError(ValueError):
    """The manifest is missing, unreadable or from another generator version."""


@dataclass
class Manifest:
    """The manifest's content. No wall-clock time: the same run writes the same bytes."""

    seed: int
    scale: float
    as_of: dt.date
    extraction_dates: list[dt.date]
    tables: dict[str, dict[str, int]] = field(default_factory=dict)  # table -> date -> rows
    truth_rows: int = 0
    faults: list[dict[str, Any]] = field(default_factory=list)  # `derived generate --fault`
    noise: str = "default"  # `derived generate --noise`

    @property
    def last_extraction_date(self) -> dt.date:
        """The latest partition date."""
        return max(self.extraction_dates)

    def add_partition(self, date: dt.date, rows: dict[str, int], truth_rows: int) -> None:
        """Record a partition's rows per table."""
        if date not in self.extraction_dates:
            self.extraction_dates.append(date)
        for table, n in rows.items():
            self.tables.setdefault(table, {})[date.isoformat()] = int(n)
        self.truth_rows += int(truth_rows)

    def to_json(self) -> str:
        """Stable JSON text."""
        data: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "generator": "derived generate",
            "seed": self.seed,
            "scale": self.scale,
            "as_of": self.as_of.isoformat(),
            "data_start": "2019-01-01",
            "extraction_dates": [d.isoformat() for d in sorted(self.extraction_dates)],
            "tables": {
                name: {
                    "rows": sum(parts.values()),
                    "rows_by_extraction_date": dict(sorted(parts.items())),
                }
                for name, parts in self.tables.items()
            },
            "total_rows": sum(sum(parts.values()) for parts in self.tables.values()),
            "truth_rows": self.truth_rows,
        }
        if self.faults:  # only faulty data says so: good data keeps the same bytes
            data["faults"] = self.faults
        if self.noise != "default":  # likewise, only another noise profile says so
            data["noise"] = self.noise
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse a manifest written by :meth:`to_json`."""
        try:
            data = json.loads(text)
            if data.get("format_version") != FORMAT_VERSION:
                raise ManifestError(
                    f"manifest format {data.get('format_version')!r}, expected {FORMAT_VERSION}"
                )
            return cls(
                seed=int(data["seed"]),
                scale=float(data["scale"]),
                as_of=dt.date.fromisoformat(data["as_of"]),
                extraction_dates=[dt.date.fromisoformat(d) for d in data["extraction_dates"]],
                tables={
                    name: dict(t["rows_by_extraction_date"]) for name, t in data["tables"].items()
                },
                truth_rows=int(data["truth_rows"]),
                faults=list(data.get("faults", [])),
                noise=str(data.get("noise", "default")),
            )
        except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
            if isinstance(exc, ManifestError):
                raise
            raise ManifestError(f"unreadable manifest: {exc}") from exc


def read_manifest(data_dir: Path) -> Manifest:
    """The manifest of a data folder."""
    path = data_dir / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(f"no manifest at {path}")
    return Manifest.from_json(path.read_text(encoding="utf-8"))


def write_manifest_atomically(data_dir: Path, manifest: Manifest) -> None:
    """Write the manifest to a temporary file, then rename it over the old one."""
    path = data_dir / MANIFEST_NAME
    tmp = data_dir / f".{MANIFEST_NAME}.tmp-{os.getpid()}"
    tmp.write_text(manifest.to_json(), encoding="utf-8")
    os.replace(tmp, path)
