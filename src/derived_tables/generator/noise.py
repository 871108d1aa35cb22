"""Noise profiles: how the person records of courts, prisons and probation vary.

The ``default`` profile is the generator's own variation (typos, nicknames, swapped day and
month of birth, moved addresses, PNC present for only some records; see :mod:`identity`),
untouched: this module then does nothing, and the data stays byte-identical.

The ``hard`` profile adds, on top of it, kinds of error that the person linkage was not
designed around, as real curated data has them:

- first and last names swapped (written in the wrong fields);
- a surname changed by marriage (another surname), or double-barrelled (``Smith-Jones``);
- names written in other conventions: a first name as an initial only, or with a second
  given name written into it (``John Paul``);
- a date of birth missing, or a decade off;
- a postcode missing, or stale (an address the person does not live at: another real
  postcode of the data);
- a PNC mistyped (two adjacent digits of its serial transposed, or one digit changed).

It works on the rows as they are written (a :data:`~derived_tables.generator.writer.TableHook`),
so the generator itself is unchanged. Which record gets which error is decided by a hash of the
seed, the table and the record's natural key, so every version of a record carries the same
kinds of error (a donor surname, given name or postcode comes from another record of the same
batch of rows), and the same seed always gives the same data. The truth file is unchanged: the noisy
records are still their people's. ``derived generate --noise hard`` uses it; ``--next-day``
continues with the profile recorded in the manifest.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from derived_tables.generator.schema import TableSpec
from derived_tables.generator.writer import TableHook

PROFILES: tuple[str, ...] = ("default", "hard")

#: The person tables of the three linked systems (their natural key is the record's id).
PERSON_TABLES: frozenset[str] = frozenset(
    {"common_platform.defendants", "nomis.offenders", "delius.offenders"}
)

#: Probability of each error in a record of the ``hard`` profile (independent draws; a record
#: may carry several).
HARD: dict[str, float] = {
    "names_swapped": 0.03,
    "surname_by_marriage": 0.04,  # records of women only
    "surname_double_barrelled": 0.02,
    "first_name_initial": 0.02,
    "second_given_name": 0.02,
    "date_of_birth_missing": 0.03,
    "date_of_birth_decade_off": 0.02,
    "postcode_missing": 0.05,
    "postcode_stale": 0.05,
    "pnc_mistyped": 0.03,
}


def hook(profile: str, seed: int) -> TableHook | None:
    """The table hook of a noise ``profile`` (None for ``default``: nothing to do)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown noise profile {profile!r}; one of {', '.join(PROFILES)}")
    if profile == "default":
        return None

    def apply(spec: TableSpec, table: pa.Table) -> pa.Table:
        if spec.qualified_name not in PERSON_TABLES or table.num_rows == 0:
            return table
        return add_hard_noise(spec, table, seed)

    return apply


def _draws(seed: int, table_name: str, keys: list[str], k: int) -> np.ndarray:
    """(n, k) unsigned 32-bit integers from a hash of each record's key (k <= 16)."""
    out = np.empty((len(keys), k), dtype=np.uint32)
    for i, key in enumerate(keys):
        digest = hashlib.blake2b(f"{seed}:{table_name}:{key}".encode(), digest_size=4 * k)
        out[i] = np.frombuffer(digest.digest(), dtype=np.uint32)
    return out


def add_hard_noise(spec: TableSpec, table: pa.Table, seed: int) -> pa.Table:
    """The rows of a person table with the ``hard`` profile's errors."""
    keys = [str(k) for k in table.column(spec.key).to_pylist()]
    n = len(keys)
    draws = _draws(seed, spec.qualified_name, keys, len(HARD) + 2)
    u = draws[:, : len(HARD)] / 2.0**32  # one uniform per kind of error
    r = draws[:, len(HARD) :].astype(np.int64)  # a donor row, a direction, a digit
    hit = {name: u[:, j] < p for j, (name, p) in enumerate(HARD.items())}
    # another row of this batch, for a donor surname, given name or postcode
    other = (r[:, 0] % max(n, 1)).astype(np.int64)
    other = np.where(other == np.arange(n), (other + 1) % max(n, 1), other)
    first, last = _noisy_names(table, hit, other)
    dob, dob_missing = _noisy_dates_of_birth(table, hit, r[:, 1])
    postcode = np.array(table.column("postcode").to_pylist(), dtype=object)
    stale = hit["postcode_stale"]
    postcode[stale] = postcode[other[stale]]
    postcode[hit["postcode_missing"]] = None
    pnc = np.array(table.column("pnc_id").to_pylist(), dtype=object)
    mistyped = hit["pnc_mistyped"] & np.array([p is not None for p in pnc])
    pnc[mistyped] = [
        _mistype(p, int(d)) for p, d in zip(pnc[mistyped], r[mistyped, 1], strict=True)
    ]
    columns = {
        "first_name": pa.array(first.tolist(), pa.string()),
        "last_name": pa.array(last.tolist(), pa.string()),
        "date_of_birth": pc.cast(
            pa.array(np.where(dob_missing, 0, dob).astype(np.int32), mask=dob_missing),
            pa.date32(),
        ),
        "postcode": pa.array(postcode.tolist(), pa.string()),
        "pnc_id": pa.array(pnc.tolist(), pa.string()),
    }
    for name, values in columns.items():
        index = table.schema.get_field_index(name)
        table = table.set_column(
            index, table.schema.field(index), values.cast(table.schema.field(index).type)
        )
    return table


def _noisy_names(
    table: pa.Table, hit: dict[str, np.ndarray], other: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """First and last names with the name errors: swapped, a surname by marriage or
    double-barrelled (from the ``other`` row), an initial, a second given name."""
    first = np.array(table.column("first_name").to_pylist(), dtype=object)
    last = np.array(table.column("last_name").to_pylist(), dtype=object)
    female = np.array([g == "F" for g in table.column("gender_code").to_pylist()])
    swap = hit["names_swapped"]
    first[swap], last[swap] = last[swap], first[swap].copy()
    married = hit["surname_by_marriage"] & female
    last[married] = last[other[married]]
    barrelled = hit["surname_double_barrelled"] & ~married
    last[barrelled] = [
        f"{a}-{b}" if a and b else a
        for a, b in zip(last[barrelled], last[other[barrelled]], strict=True)
    ]
    initial = hit["first_name_initial"]
    first[initial] = [f[0] if f else f for f in first[initial]]
    second = hit["second_given_name"] & ~initial
    first[second] = [
        f"{a} {b}" if a and b else a
        for a, b in zip(first[second], first[other[second]], strict=True)
    ]
    return first, last


def _noisy_dates_of_birth(
    table: pa.Table, hit: dict[str, np.ndarray], direction: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Dates of birth (day numbers) a decade off for some, and which are missing."""
    dob = table.column("date_of_birth").cast(pa.int32()).to_numpy(zero_copy_only=False)
    dob = np.asarray(dob, dtype=np.float64)
    decade = np.where(direction % 2 == 0, -3652, 3653)
    off = hit["date_of_birth_decade_off"] & ~np.isnan(dob)
    dob[off] = dob[off] + decade[off]
    return dob, hit["date_of_birth_missing"] | np.isnan(dob)


def _mistype(pnc: str, draw: int) -> str:
    """A PNC id (``YYYY/NNNNNNNC``) as mistyped: two adjacent serial digits transposed, or one
    digit changed (the check character is left as it was, so it no longer checks)."""
    year, _, rest = pnc.partition("/")
    digits = [i for i, c in enumerate(rest) if c.isdigit()]
    if len(digits) < 2:
        return pnc
    chars = list(rest)
    i = digits[draw % (len(digits) - 1)]
    if draw & 1 and chars[i] != chars[i + 1] and chars[i + 1].isdigit():
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    else:
        chars[i] = str((int(chars[i]) + 1 + (draw >> 8) % 9) % 10)
    return f"{year}/{''.join(chars)}" if year and rest else "".join(chars)
