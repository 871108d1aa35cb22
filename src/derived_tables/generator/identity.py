"""True people and the records systems keep of them.

A *person* is the truth: sex, date of birth, name, a police national computer (PNC) number and
an address history. A *record* is what one system holds about a person, written down at some
point with realistic differences: nicknames and typing errors in names, day and month of birth
swapped, a different gender code, the address current when the record was made, and a PNC id
that is present only for some records. Everything here is vectorised over people or records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from derived_tables.generator import ids
from derived_tables.generator.calendar import year_of
from derived_tables.generator.names import FIRST_TYPO_SLOT, SLOTS, given_names, names
from derived_tables.generator.reference import Reference

MAX_MOVES = 3
NEVER = np.int64(10_000_000)  # a day number far beyond the world


@dataclass
class People:
    """True people of one chunk, indexed 0..n-1."""

    is_female: np.ndarray
    date_of_birth: np.ndarray  # day numbers
    given_name: np.ndarray  # index into names.given_names()
    surname: np.ndarray  # index into names.names().surnames
    pnc_year: np.ndarray
    pnc_serial: np.ndarray
    postcodes: np.ndarray  # (n, MAX_MOVES + 1) encoded postcodes, column j after the j-th move
    move_days: np.ndarray  # (n, MAX_MOVES) sorted day numbers of the moves, NEVER if none

    @property
    def n(self) -> int:
        """Number of people."""
        return self.is_female.size

    def postcode_at(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Encoded postcode of each ``person`` on ``day``."""
        moved = (self.move_days[person] <= np.asarray(day)[:, None]).sum(axis=1)
        return self.postcodes[person, moved]

    def move_count(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        """How many times each person had moved by ``day`` (an address version number)."""
        return (self.move_days[person] <= np.asarray(day)[:, None]).sum(axis=1)


def random_postcodes(ref: Reference, rng: np.random.Generator, area: np.ndarray) -> np.ndarray:
    """A random postcode in each postcode ``area`` (encoded)."""
    area = np.asarray(area, dtype=np.int64)
    district = 1 + (rng.random(area.size) * ref.area_districts[area]).astype(np.int64)
    return ids.encode_postcode(
        area, district, rng.integers(0, 10, area.size), rng.integers(0, 400, area.size)
    )


def random_areas(ref: Reference, rng: np.random.Generator, region: np.ndarray) -> np.ndarray:
    """A postcode area in each ``region``, uniformly among the region's areas."""
    region = np.asarray(region, dtype=np.int64)
    out = np.empty(region.size, dtype=np.int64)
    for r in range(ref.n_regions):
        sel = np.flatnonzero(region == r)
        if sel.size:
            areas = np.flatnonzero(ref.area_region == r)
            out[sel] = areas[rng.integers(0, areas.size, sel.size)]
    return out


def region_of_postcode(ref: Reference, postcode: np.ndarray) -> np.ndarray:
    """Region index of encoded postcodes."""
    return ref.area_region[ids.postcode_area(postcode)]


def pdu_of_postcode(ref: Reference, postcode: np.ndarray) -> np.ndarray:
    """Probation delivery unit covering each postcode (a fixed district-to-PDU mapping)."""
    postcode = np.asarray(postcode, dtype=np.int64)
    region = region_of_postcode(ref, postcode)
    out = np.empty(postcode.size, dtype=np.int64)
    key = ids.postcode_area(postcode) * 31 + ids.postcode_district(postcode) * 7
    for r in range(ref.n_regions):
        sel = np.flatnonzero(region == r)
        if sel.size:
            pdus = np.flatnonzero(ref.pdu_region == r)
            out[sel] = pdus[key[sel] % pdus.size]
    return out


def make_people(
    ref: Reference,
    rng: np.random.Generator,
    n: int,
    anchor_day: np.ndarray,
    age_years: np.ndarray,
    female_share: float,
    region_weights: np.ndarray,
    moves_p: tuple[float, ...],
    move_span: tuple[int, int],
) -> People:
    """Draw ``n`` people, aged ``age_years`` on ``anchor_day`` (their first contact).

    ``moves_p`` are the probabilities of 0, 1, 2... address moves, spread over ``move_span``
    days around the anchor; three in four moves stay in the same region.
    """
    is_female = rng.random(n) < female_share
    dob = (anchor_day - np.floor(age_years * 365.25)).astype(np.int64) - rng.integers(0, 365, n)
    birth_year = year_of(dob)
    given = given_names().sample(rng, is_female, birth_year)
    surname = names().surnames.sample(rng, n)
    first_year = year_of(anchor_day)
    earlier = rng.random(n) < 0.35
    pnc_year = first_year - earlier * rng.integers(1, 16, n)
    pnc_serial = rng.integers(0, 10_000_000, n)

    region = rng.choice(ref.n_regions, size=n, p=region_weights / region_weights.sum())
    postcodes = np.empty((n, MAX_MOVES + 1), dtype=np.int64)
    postcodes[:, 0] = random_postcodes(ref, rng, random_areas(ref, rng, region))
    n_moves = rng.choice(len(moves_p), size=n, p=np.asarray(moves_p) / sum(moves_p))
    days = anchor_day[:, None] + rng.integers(move_span[0], move_span[1], (n, MAX_MOVES))
    days = np.sort(days, axis=1)
    days[np.arange(MAX_MOVES)[None, :] >= n_moves[:, None]] = NEVER
    current_region = region.copy()
    for j in range(MAX_MOVES):
        elsewhere = rng.random(n) < 0.25
        new_region = np.where(
            elsewhere,
            rng.choice(ref.n_regions, size=n, p=region_weights / region_weights.sum()),
            current_region,
        )
        postcodes[:, j + 1] = random_postcodes(ref, rng, random_areas(ref, rng, new_region))
        stays = days[:, j] >= NEVER
        postcodes[stays, j + 1] = postcodes[stays, j]
        current_region = np.where(stays, current_region, new_region)
    return People(is_female, dob, given, surname, pnc_year, pnc_serial, postcodes, days)


@dataclass
class RecordIdentity:
    """How one record writes its person down (all encoded; see :mod:`frame` lookups)."""

    first_name: np.ndarray  # index into given_names().variants
    last_name: np.ndarray  # index into names().surnames.variants
    date_of_birth: np.ndarray
    gender: np.ndarray  # 0 M, 1 F, 2 U
    pnc_year: np.ndarray
    pnc_serial: np.ndarray
    pnc_missing: np.ndarray


GENDER_CODES = ("M", "F", "U")


def _name_slot(rng: np.random.Generator, n: int, p_alternative: float, p_typo: float) -> np.ndarray:
    u = rng.random(n)
    slot = np.zeros(n, dtype=np.int64)
    slot[u < p_alternative] = 1
    typo = (u >= p_alternative) & (u < p_alternative + p_typo)
    slot[typo] = rng.integers(FIRST_TYPO_SLOT, SLOTS, int(typo.sum()))
    return slot


def _vary_date_of_birth(
    rng: np.random.Generator, dob: np.ndarray, p_swap: float, p_other: float
) -> np.ndarray:
    """Dates of birth as a record writes them: sometimes day and month swapped, or off by a
    day, a year or a decade.
    """
    dob = np.asarray(dob, dtype=np.int64)
    d64 = dob.astype("datetime64[D]")
    months = d64.astype("datetime64[M]")
    month = months.astype(np.int64) % 12 + 1
    day = (d64 - months).astype(np.int64) + 1
    year_months = months.astype(np.int64) - (month - 1)
    swapped = (year_months + day - 1).astype("datetime64[M]").astype("datetime64[D]").astype(
        np.int64
    ) + (month - 1)
    u = rng.random(dob.size)
    out = dob.copy()
    swap = (u < p_swap) & (day <= 12) & (day != month)
    out[swap] = swapped[swap]
    other = (u >= p_swap) & (u < p_swap + p_other)
    shift = rng.choice(np.array([-365, -1, 1, 365, 3652]), size=dob.size)
    out[other] = dob[other] + shift[other]
    return out


def record_identities(
    people: People,
    rng: np.random.Generator,
    person: np.ndarray,
    *,
    p_nickname: float,
    p_typo: float,
    p_dob_swap: float,
    p_dob_other: float,
    p_gender_unknown: float,
    p_pnc: float,
) -> RecordIdentity:
    """How each of a set of records (one per entry of ``person``) writes its person down."""
    n = person.size
    first = people.given_name[person] * SLOTS + _name_slot(rng, n, p_nickname, p_typo)
    last = people.surname[person] * SLOTS + _name_slot(rng, n, p_nickname / 2, p_typo)
    dob = _vary_date_of_birth(rng, people.date_of_birth[person], p_dob_swap, p_dob_other)
    gender = people.is_female[person].astype(np.int64)
    gender[rng.random(n) < p_gender_unknown] = 2
    pnc_missing = rng.random(n) >= p_pnc
    return RecordIdentity(
        first, last, dob, gender, people.pnc_year[person], people.pnc_serial[person], pnc_missing
    )
