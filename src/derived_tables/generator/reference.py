"""Reference data the generator draws codes from: the dbt seeds in ``seeds/*.csv``.

The seeds are the single source of every code that a curated table shares with reference data
(offences, courts, establishments, probation delivery units, regions, postcode areas, movement
reasons, disposals), so generated data can never hold a code the warehouse does not know.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from derived_tables.generator.calendar import to_days

SEED_FILES = (
    "ref_regions",
    "ref_postcode_areas",
    "ref_offences",
    "ref_courts",
    "ref_prison_establishments",
    "ref_probation_delivery_units",
    "ref_movement_reasons",
    "ref_disposals",
)


class ReferenceError(ValueError):
    """A seed file is missing or does not hold what the generator needs."""


def _read(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise ReferenceError(f"seed file not found: {path}")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]
    if not rows:
        raise ReferenceError(f"seed file is empty: {path}")
    return rows


def _strings(values: list[str]) -> pa.Array:
    return pa.array(values, pa.string())


@dataclass(frozen=True)
class Reference:
    """Seeds as arrays; every ``*_idx`` in the generator indexes one of these code arrays."""

    region_codes: pa.Array
    region_population: np.ndarray
    area_codes: pa.Array
    area_region: np.ndarray  # region index of each postcode area
    area_districts: np.ndarray  # number of postcode districts used for each area
    offence_codes: pa.Array
    offence_category: np.ndarray  # index into offence_categories
    offence_categories: tuple[str, ...]
    offence_class: np.ndarray  # 0 indictable only, 1 either way, 2 summary
    offence_max_custody: np.ndarray
    offence_weight: np.ndarray
    court_codes: pa.Array
    court_is_crown: np.ndarray
    court_region: np.ndarray
    court_weight: np.ndarray
    establishment_codes: pa.Array
    establishment_region: np.ndarray
    establishment_type: tuple[str, ...]
    establishment_opened: np.ndarray  # day numbers
    pdu_codes: pa.Array
    pdu_region: np.ndarray
    movement_reason_codes: pa.Array
    movement_reason_type: tuple[str, ...]
    disposal_codes: tuple[str, ...]

    # ------------------------------------------------------------------ lookups
    def offence_category_index(self, name: str) -> int:
        """Index of an offence category by its name."""
        return self.offence_categories.index(name)

    def movement_reason(self, code: str) -> int:
        """Index of a movement reason code (``ReferenceError`` if the seed lacks it)."""
        codes = self.movement_reason_codes.to_pylist()
        if code not in codes:
            raise ReferenceError(f"ref_movement_reasons has no reason {code!r}")
        return codes.index(code)

    def establishments_of_type(self, kind: str) -> np.ndarray:
        """Indices of the establishments of one type."""
        return np.array(
            [i for i, t in enumerate(self.establishment_type) if t == kind], dtype=np.int64
        )

    @property
    def n_regions(self) -> int:
        """Number of regions."""
        return len(self.region_codes)


class _Regions:
    """The region codes of ``ref_regions``, and the region of each row of another seed."""

    def __init__(self, rows: list[dict[str, str]]) -> None:
        self.codes = [r["region_code"] for r in rows]
        self.index = {code: i for i, code in enumerate(self.codes)}

    def of(self, rows: list[dict[str, str]], seed: str) -> np.ndarray:
        """The region index of each row (an error naming the seed for an unknown code)."""
        out = []
        for row in rows:
            code = row["region_code"]
            if code not in self.index:
                raise ReferenceError(f"{seed}: unknown region_code {code!r}")
            out.append(self.index[code])
        return np.array(out, dtype=np.int64)

    def check_served(self, region_of_rows: dict[str, np.ndarray]) -> None:
        """Every region has a row in each seed (``seed -> region of each row``)."""
        for region, code in enumerate(self.codes):
            for seed, column in region_of_rows.items():
                if region not in set(column.tolist()):
                    raise ReferenceError(f"{seed}: no row for region {code}")


def load_reference(seeds_dir: Path) -> Reference:
    """Read the eight reference seeds from ``seeds_dir`` and check they hang together."""
    region_rows = _read(seeds_dir / "ref_regions.csv")
    regions = _Regions(region_rows)
    areas = _read(seeds_dir / "ref_postcode_areas.csv")
    offences = _read(seeds_dir / "ref_offences.csv")
    courts = _read(seeds_dir / "ref_courts.csv")
    prisons = _read(seeds_dir / "ref_prison_establishments.csv")
    pdus = _read(seeds_dir / "ref_probation_delivery_units.csv")
    reasons = _read(seeds_dir / "ref_movement_reasons.csv")
    disposals = _read(seeds_dir / "ref_disposals.csv")
    served = {
        "ref_postcode_areas": regions.of(areas, "ref_postcode_areas"),
        "ref_courts": regions.of(courts, "ref_courts"),
        "ref_prison_establishments": regions.of(prisons, "ref_prison_establishments"),
        "ref_probation_delivery_units": regions.of(pdus, "ref_probation_delivery_units"),
    }
    regions.check_served(served)
    categories = tuple(dict.fromkeys(r["offence_category"] for r in offences))
    classes = {"INDICTABLE_ONLY": 0, "EITHER_WAY": 1, "SUMMARY": 2}
    # A fixed number of districts per area (not drawn from the user's seed: part of geography).
    area_rng = np.random.default_rng(20190101)
    ref = Reference(
        region_codes=_strings(regions.codes),
        region_population=np.array([float(r["population"]) for r in region_rows]),
        area_codes=_strings([r["postcode_area"] for r in areas]),
        area_region=served["ref_postcode_areas"],
        area_districts=area_rng.integers(6, 30, size=len(areas)),
        offence_codes=_strings([r["offence_code"] for r in offences]),
        offence_category=np.array([categories.index(r["offence_category"]) for r in offences]),
        offence_categories=categories,
        offence_class=np.array([classes[r["offence_class"]] for r in offences], dtype=np.int64),
        offence_max_custody=np.array(
            [int(r["max_custody_days"]) for r in offences], dtype=np.int64
        ),
        offence_weight=np.array([float(r["volume_weight"]) for r in offences]),
        court_codes=_strings([r["court_code"] for r in courts]),
        court_is_crown=np.array([r["court_type"] == "CROWN" for r in courts]),
        court_region=served["ref_courts"],
        court_weight=np.array([float(r["volume_weight"]) for r in courts]),
        establishment_codes=_strings([r["establishment_code"] for r in prisons]),
        establishment_region=served["ref_prison_establishments"],
        establishment_type=tuple(r["establishment_type"] for r in prisons),
        establishment_opened=np.array(
            [to_days(dt.date.fromisoformat(r["opened_date"])) for r in prisons], dtype=np.int64
        ),
        pdu_codes=_strings([r["pdu_code"] for r in pdus]),
        pdu_region=served["ref_probation_delivery_units"],
        movement_reason_codes=_strings([r["movement_reason_code"] for r in reasons]),
        movement_reason_type=tuple(r["movement_type_code"] for r in reasons),
        disposal_codes=tuple(r["disposal_code"] for r in disposals),
    )
    _check(ref)
    return ref


REQUIRED_REASONS = {
    "ADM": ("REMAND", "SENTENCED", "RECALL"),
    "TRN": (
        "RECATEGORISATION",
        "POPULATION_PRESSURE",
        "PROGRAMME_PLACE",
        "CLOSER_TO_HOME",
        "SECURITY",
    ),
    "REL": (
        "CONDITIONAL_RELEASE",
        "HOME_DETENTION_CURFEW",
        "SENTENCE_EXPIRY",
        "BAIL",
        "COURT_DISCHARGE",
    ),
}
REQUIRED_ESTABLISHMENT_TYPES = ("LOCAL", "TRAINING", "HIGH_SECURITY", "OPEN", "FEMALE", "YOI")
REQUIRED_DISPOSALS = ("IMPRISONMENT", "SUSPENDED", "COMMUNITY", "FINE", "DISCHARGE")


def _check(ref: Reference) -> None:
    for kind, codes in REQUIRED_REASONS.items():
        for code in codes:
            idx = ref.movement_reason(code)
            if ref.movement_reason_type[idx] != kind:
                raise ReferenceError(f"ref_movement_reasons: {code} must have type {kind}")
    for kind in REQUIRED_ESTABLISHMENT_TYPES:
        if ref.establishments_of_type(kind).size == 0:
            raise ReferenceError(f"ref_prison_establishments: no establishment of type {kind}")
    missing = set(REQUIRED_DISPOSALS) - set(ref.disposal_codes)
    if missing:
        raise ReferenceError(f"ref_disposals: missing {sorted(missing)}")
    for region in range(ref.n_regions):
        local = ref.establishments_of_type("LOCAL")
        if not np.any(ref.establishment_region[local] == region):
            raise ReferenceError("ref_prison_establishments: every region needs a LOCAL prison")
        if not np.any((ref.court_region == region) & ref.court_is_crown):
            raise ReferenceError("ref_courts: every region needs a Crown Court")
        if not np.any((ref.court_region == region) & ~ref.court_is_crown):
            raise ReferenceError("ref_courts: every region needs a magistrates' court")
