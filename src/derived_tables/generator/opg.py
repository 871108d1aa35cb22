"""sirius (Office of the Public Guardian): lasting power of attorney applications and attorneys.

Donors are their own, older population (median age in the early seventies). Many make a
property-and-finance (``PFA``) and a health-and-welfare (``HW``) LPA on the same day, with the
same attorneys. An application is ``RECEIVED``, goes ``IN_PROGRESS`` within days and, after the
statutory notice period and a processing time that grew with the backlog of 2021-2023, is
``REGISTERED``; a few are ``REJECTED`` (more often on paper) and resubmitted, or ``WITHDRAWN``.
The share made online (``DIGITAL``) grows over the years.
"""

from __future__ import annotations

import numpy as np

from derived_tables.generator import calendar as cal
from derived_tables.generator import ids
from derived_tables.generator.common import (
    TRUTH,
    IdAllocator,
    at,
    codes,
    first_name_col,
    id_col,
    last_name_col,
    postcode_col,
    truth_events,
)
from derived_tables.generator.frame import (
    ChangeLog,
    Column,
    Events,
    Frame,
    Versions,
    date_col,
    format_col,
    lookup_col,
)
from derived_tables.generator.identity import (
    make_people,
    random_areas,
    random_postcodes,
    record_identities,
)
from derived_tables.generator.names import SLOTS, given_names, names
from derived_tables.generator.reference import Reference

SYSTEM = "sirius"
DONORS_PER_YEAR = 8_000
DONOR_YEAR_FACTOR = {
    2018: 0.9,
    2019: 1.0,
    2020: 0.85,
    2021: 1.15,
    2022: 1.12,
    2023: 1.18,
    2024: 1.22,
    2025: 1.28,
}
FIRST_DONOR_YEAR = 2018
CHUNK_DONORS = 40_000
LPA_TYPES = ("PFA", "HW")
CHANNELS = ("DIGITAL", "PAPER")
STATUSES = ("RECEIVED", "IN_PROGRESS", "REGISTERED", "REJECTED", "WITHDRAWN")
RECEIVED, IN_PROGRESS, REGISTERED, REJECTED, WITHDRAWN = range(5)
ROLES = ("PRIMARY", "REPLACEMENT")
DECISIONS = ("SOLE", "JOINTLY", "JOINTLY_AND_SEVERALLY")
SOLE, JOINTLY, JOINTLY_AND_SEVERALLY = range(3)
# Median days from receipt to registration, by year received.
REGISTRATION_MEDIAN = {
    2018: 56,
    2019: 63,
    2020: 75,
    2021: 110,
    2022: 130,
    2023: 120,
    2024: 95,
    2025: 80,
}
# Older regions make more LPAs per head.
REGION_FACTOR = {"SW": 1.25, "SE": 1.1, "WAL": 1.1, "LON": 0.65}
MAX_ATTORNEYS = 6  # up to 4 primary and 2 replacement

DONOR_ID = id_col("DON", 9, 31)
ATTORNEY_ID = id_col("ATT", 10, 32)


def donors_in_year(year: int, scale: float) -> int:
    """Donors making their first LPA in ``year`` at ``scale``."""
    if year < FIRST_DONOR_YEAR:
        return 0
    return round(DONORS_PER_YEAR * scale * DONOR_YEAR_FACTOR.get(year, 1.3))


def lpa_id_col(values: np.ndarray, null: np.ndarray | None = None) -> Column:
    """LPA reference numbers from their numbers."""
    return format_col(values, ids.lpa_ids, null)


def digital_share(days: np.ndarray) -> np.ndarray:
    """Share of applications made online on each day (about 20% in 2019, 60% by 2026)."""
    years = 1970 + np.asarray(days, dtype=np.float64) / 365.25
    return 0.16 + 0.54 / (1 + np.exp(-(years - 2023.0) / 1.1))


ADULT_DAYS = 18 * 366  # days from birth to an attorney's 18th birthday, rounded up


def build(
    ref: Reference,
    rng: np.random.Generator,
    alloc: IdAllocator,
    year: int,
    n: int,
    person_number: np.ndarray,
) -> dict[str, Events | Versions]:
    """The sirius tables (world rows) for ``n`` donors whose first LPA is in ``year``."""
    first_day = cal.seasonal_days_in_year(year, n, rng, weekend_weight=0.3)
    age = np.clip(rng.normal(74, 10, n), 30, 101)
    weights = ref.region_population * np.array(
        [REGION_FACTOR.get(code, 1.0) for code in ref.region_codes.to_pylist()]
    )
    donors = make_people(
        ref,
        rng,
        n,
        first_day,
        age,
        female_share=0.58,
        region_weights=weights,
        moves_p=(0.85, 0.12, 0.03, 0.0),
        move_span=(30, 3650),
    )

    # ---------------------------------------------------------------- applications
    n_lpa = rng.choice(np.array([1, 2, 3]), n, p=[0.42, 0.53, 0.05])
    pair_type = np.where(rng.random(n) < 0.55, 0, 1)
    donor = np.repeat(np.arange(n), n_lpa)
    seq = np.arange(donor.size) - np.repeat(np.cumsum(n_lpa) - n_lpa, n_lpa)
    received = first_day[donor].copy()
    same_day = rng.random(donor.size) < 0.9
    received += np.where(seq == 1, np.where(same_day, 0, rng.integers(1, 60, donor.size)), 0)
    received += np.where(seq == 2, rng.integers(60, 1500, donor.size), 0)
    lpa_type = np.where(
        seq == 0,
        np.where(n_lpa[donor] >= 2, 0, pair_type[donor]),
        np.where(seq == 1, 1, rng.integers(0, 2, donor.size)),
    )
    channel = np.where(rng.random(donor.size) < digital_share(received), 0, 1)
    channel = np.where(
        seq == 1, np.where(rng.random(donor.size) < 0.9, np.roll(channel, 1), channel), channel
    )
    lpa = _Applications(
        donor=donor,
        received=received,
        lpa_type=lpa_type,
        channel=channel,
        resubmission=np.zeros(donor.size, bool),
    )
    lpa.outcome(rng)
    # rejected applications are often corrected and sent again
    again = np.flatnonzero((lpa.status == REJECTED) & (rng.random(lpa.n) < 0.45))
    extra = _Applications(
        donor=lpa.donor[again],
        received=lpa.final_day[again] + rng.integers(14, 121, again.size),
        lpa_type=lpa.lpa_type[again],
        channel=np.where(rng.random(again.size) < 0.3, 0, lpa.channel[again]),
        resubmission=np.ones(again.size, bool),
    )
    extra.outcome(rng)
    lpa = lpa.concat(extra)
    order = np.lexsort((lpa.lpa_type, lpa.received, lpa.donor))
    lpa = lpa.take(order)
    kept = lpa.final_day >= cal.DATA_START_DAY
    nl = lpa.n

    # ---------------------------------------------------------------- donor records
    first_of_donor = np.ones(nl, dtype=bool)
    first_of_donor[1:] = lpa.donor[1:] != lpa.donor[:-1]
    prev_received = np.roll(lpa.received, 1)
    new_record = first_of_donor | ((lpa.received != prev_received) & (rng.random(nl) < 0.04))
    record = np.cumsum(new_record) - 1
    n_rec = int(new_record.sum())
    rec_kept = np.zeros(n_rec, dtype=bool)
    rec_kept[record[kept]] = True
    rec_number = np.full(n_rec, -1, dtype=np.int64)
    rec_number[rec_kept] = alloc.take("donor", int(rec_kept.sum()))
    ident = record_identities(
        donors,
        rng,
        lpa.donor,
        p_nickname=0.01,
        p_typo=0.015,
        p_dob_swap=0.005,
        p_dob_other=0.003,
        p_gender_unknown=0.0,
        p_pnc=0.0,
    )
    # both applications of a same-day pair are typed from one form
    pair = ~first_of_donor & (lpa.received == prev_received)
    for field in ("first_name", "last_name", "date_of_birth"):
        values = getattr(ident, field)
        values[pair] = np.roll(values, 1)[pair]
    received_time = at(lpa.received, cal.office_time(rng, nl))
    rec_first = np.flatnonzero(new_record)
    r = np.flatnonzero(rec_kept)
    truth = truth_events(
        person_number[lpa.donor[rec_first[r]]],
        SYSTEM,
        DONOR_ID(rec_number[r]),
        received_time[rec_first[r]],
    )

    # ---------------------------------------------------------------- versions
    kl = np.flatnonzero(kept)
    lpa_number = np.full(nl, -1, dtype=np.int64)
    lpa_number[kl] = alloc.take("lpa", kl.size)
    log = ChangeLog(
        {
            "lpa_id": lpa_id_col,
            "donor_id": DONOR_ID,
            "donor_first_name": first_name_col,
            "donor_last_name": last_name_col,
            "donor_date_of_birth": date_col,
            "donor_postcode": lambda v, null: postcode_col(ref, v, null),
            "lpa_type_code": lambda v, null: lookup_col(v, codes(LPA_TYPES), null),
            "channel_code": lambda v, null: lookup_col(v, codes(CHANNELS), null),
            "status_code": lambda v, null: lookup_col(v, codes(STATUSES), null),
            "received_date": date_col,
            "registered_date": date_col,
            "rejected_date": date_col,
            "withdrawn_date": date_col,
        }
    )
    none = (np.zeros(kl.size, dtype=np.int64), np.ones(kl.size, dtype=bool))
    log.add(
        lpa_number[kl],
        received_time[kl],
        lpa_id=lpa_number[kl],
        donor_id=rec_number[record[kl]],
        donor_first_name=ident.first_name[kl],
        donor_last_name=ident.last_name[kl],
        donor_date_of_birth=ident.date_of_birth[kl],
        donor_postcode=donors.postcode_at(lpa.donor[kl], lpa.received[kl]),
        lpa_type_code=lpa.lpa_type[kl],
        channel_code=lpa.channel[kl],
        status_code=RECEIVED,
        received_date=lpa.received[kl],
        registered_date=none,
        rejected_date=none,
        withdrawn_date=none,
    )
    log.add(
        lpa_number[kl],
        at(lpa.progress_day[kl], cal.office_time(rng, kl.size)),
        status_code=IN_PROGRESS,
    )
    final_time = at(lpa.final_day[kl], cal.office_time(rng, kl.size))
    status = lpa.status[kl]
    set_on = (lpa.final_day[kl], np.zeros(kl.size, dtype=bool))
    for code, column in (
        (REGISTERED, "registered_date"),
        (REJECTED, "rejected_date"),
        (WITHDRAWN, "withdrawn_date"),
    ):
        sel = status == code
        log.add(
            lpa_number[kl][sel],
            final_time[sel],
            status_code=code,
            **{column: (set_on[0][sel], set_on[1][sel])},
        )
    gone = np.flatnonzero(rng.random(kl.size) < 0.005)
    log.add(
        lpa_number[kl][gone],
        final_time[gone] + rng.integers(5, 200, gone.size) * 86_400,
        deleted=True,
    )

    # ---------------------------------------------------------------- attorneys (per donor)
    n_primary = rng.choice(np.array([1, 2, 3, 4]), n, p=[0.33, 0.42, 0.18, 0.07])
    n_replacement = rng.choice(np.array([0, 1, 2]), n, p=[0.5, 0.38, 0.12])
    decision = np.where(
        n_primary == 1, SOLE, np.where(rng.random(n) < 0.78, JOINTLY_AND_SEVERALLY, JOINTLY)
    )
    slot = np.arange(MAX_ATTORNEYS)[None, :]
    is_primary = slot < 4
    present = np.where(is_primary, slot < n_primary[:, None], (slot - 4) < n_replacement[:, None])
    shape = (n, MAX_ATTORNEYS)
    relation = rng.choice(3, size=shape, p=[0.68, 0.14, 0.18])  # child, spouse, other
    relation[:, 1:] = np.where(relation[:, 1:] == 1, 0, relation[:, 1:])  # one spouse at most
    donor_birth = donors.date_of_birth[:, None]
    birth = np.select(
        [relation == 0, relation == 1],
        [
            donor_birth + rng.integers(22 * 365, 42 * 365, shape),
            donor_birth + rng.integers(-6 * 365, 6 * 365, shape),
        ],
        first_day[:, None] - rng.integers(30 * 365, 70 * 365, shape),
    )
    # An attorney must be an adult when the donor first applies (a young donor's child may not be).
    birth = np.minimum(birth, first_day[:, None] - ADULT_DAYS)
    female = rng.random(shape) < 0.55
    birth_year = cal.year_of(birth.ravel()).reshape(shape)
    given = given_names().sample(rng, female.ravel(), birth_year.ravel()).reshape(shape) * SLOTS
    same_surname = np.where(
        relation == 1, rng.random(shape) < 0.85, (relation == 0) & (rng.random(shape) < 0.6)
    )
    surname = (
        np.where(
            same_surname,
            donors.surname[:, None],
            names().surnames.sample(rng, n * MAX_ATTORNEYS).reshape(shape),
        )
        * SLOTS
    )
    donor_postcode = donors.postcodes[:, 0][:, None]
    donor_area = donor_postcode // 1_000_000
    near = rng.random(shape) < 0.35
    far_area = random_areas(ref, rng, rng.choice(ref.n_regions, n * MAX_ATTORNEYS)).reshape(shape)
    area = np.where(near, np.broadcast_to(donor_area, shape), far_area)
    postcode = random_postcodes(ref, rng, area.ravel()).reshape(shape)
    postcode = np.where(relation == 1, donor_postcode, postcode)
    role = np.where(is_primary, 0, 1) + np.zeros(shape, dtype=np.int64)
    att_decision = np.where(
        is_primary,
        decision[:, None],
        np.where(n_replacement[:, None] > 1, JOINTLY_AND_SEVERALLY, SOLE),
    )

    li, ai = np.nonzero(present[lpa.donor[kl]])
    lpa_row = kl[li]
    d = lpa.donor[lpa_row]
    attorneys = Events(
        Frame(
            attorney_id=ATTORNEY_ID(alloc.take("attorney", li.size)),
            lpa_id=lpa_id_col(lpa_number[lpa_row]),
            attorney_role_code=lookup_col(role[d, ai], codes(ROLES)),
            decision_type_code=lookup_col(att_decision[d, ai], codes(DECISIONS)),
            first_name=first_name_col(given[d, ai]),
            last_name=last_name_col(surname[d, ai]),
            date_of_birth=date_col(birth[d, ai]),
            postcode=postcode_col(ref, postcode[d, ai]),
        ),
        received_time[lpa_row],
    )
    return {
        f"{SYSTEM}.lpa_applications": log.build(),
        f"{SYSTEM}.attorneys": attorneys,
        TRUTH: truth,
    }


class _Applications:
    """LPA applications of a chunk as parallel arrays, with their outcome."""

    def __init__(
        self,
        donor: np.ndarray,
        received: np.ndarray,
        lpa_type: np.ndarray,
        channel: np.ndarray,
        resubmission: np.ndarray,
    ) -> None:
        self.donor = donor
        self.received = received
        self.lpa_type = lpa_type
        self.channel = channel
        self.resubmission = resubmission
        self.status = np.zeros(donor.size, dtype=np.int64)
        self.progress_day = received.copy()
        self.final_day = received.copy()

    @property
    def n(self) -> int:
        """Number of applications."""
        return self.donor.size

    def outcome(self, rng: np.random.Generator) -> None:
        """Draw in-progress and final dates and statuses."""
        n = self.n
        paper = self.channel == 1
        self.received = np.where(paper, cal.next_working_day(self.received), self.received)
        years = cal.year_of(self.received)
        median = np.array(
            [REGISTRATION_MEDIAN.get(int(y), 70) for y in np.unique(years)], dtype=np.float64
        )
        median = median[np.searchsorted(np.unique(years), years)] * np.where(paper, 1.0, 0.85)
        u = rng.random(n)
        rejected = u < np.where(paper, 0.06, 0.025)
        withdrawn = ~rejected & (u < np.where(paper, 0.06, 0.025) + 0.02)
        registration = np.maximum(28, median * np.exp(0.35 * rng.standard_normal(n)))
        rejection = np.maximum(10, 45 * np.exp(0.5 * rng.standard_normal(n)))
        withdrawal = rng.uniform(5.0, 1.2 * median)
        wait = np.select([rejected, withdrawn], [rejection, withdrawal], registration).astype(
            np.int64
        )
        progress = np.minimum(rng.integers(2, 21, n), np.maximum(wait - 1, 1))
        self.progress_day = cal.next_working_day(self.received + progress)
        self.final_day = np.maximum(
            cal.next_working_day(self.received + wait), self.progress_day + 1
        )
        self.status = np.select([rejected, withdrawn], [REJECTED, WITHDRAWN], REGISTERED)

    def concat(self, other: _Applications) -> _Applications:
        """Both sets of applications."""
        out = _Applications(
            *(
                np.concatenate([getattr(self, f), getattr(other, f)])
                for f in ("donor", "received", "lpa_type", "channel", "resubmission")
            )
        )
        for f in ("status", "progress_day", "final_day"):
            setattr(out, f, np.concatenate([getattr(self, f), getattr(other, f)]))
        return out

    def take(self, idx: np.ndarray) -> _Applications:
        """The applications ``idx``."""
        out = _Applications(
            *(
                getattr(self, f)[idx]
                for f in ("donor", "received", "lpa_type", "channel", "resubmission")
            )
        )
        for f in ("status", "progress_day", "final_day"):
            setattr(out, f, getattr(self, f)[idx])
        return out
