"""sirius (Office of the Public Guardian): lasting power of attorney applications and attorneys.

Donors are their own, older population (median age in the early seventies). Many make a
property-and-finance (``PFA``) and a health-and-welfare (``HW``) LPA on the same day, with the
same attorneys. An application is ``RECEIVED``, goes ``IN_PROGRESS`` within days and, after the
statutory notice period and a processing time that grew with the backlog of 2021-2023, is
``REGISTERED``; a few are ``REJECTED`` (more often on paper) and resubmitted, or ``WITHDRAWN``.
The share made online (``DIGITAL``) grows over the years.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from derived_tables.generator import calendar as cal
from derived_tables.generator import ids
from derived_tables.generator.common import (
    TRUTH,
    ArrayRecord,
    IdAllocator,
    SourceRecords,
    at,
    codes,
    first_name_col,
    group_first,
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
    lookup,
    lookup_col,
)
from derived_tables.generator.identity import (
    People,
    RecordIdentity,
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
    """The sirius tables (world rows) for ``n`` donors whose first LPA is in ``year``.

    The random draws and identifier numbers are taken in a fixed order: donors, applications,
    donor records, application versions, attorneys.
    """
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
    lpa = _applications(rng, first_day)
    first_of_donor = group_first(lpa.donor)
    prev_received = np.roll(lpa.received_day, 1)
    opens_record = first_of_donor | (
        (lpa.received_day != prev_received) & (rng.random(lpa.size) < 0.04)
    )
    kept_lpa = lpa.final_day >= cal.DATA_START_DAY
    records = SourceRecords.numbered(opens_record, lpa.donor, kept_lpa, alloc, "donor")
    # both applications of a same-day pair are typed from one form
    same_day_pair = ~first_of_donor & (lpa.received_day == prev_received)
    identity = _donor_identities(donors, rng, lpa, same_day_pair)
    received_at = at(lpa.received_day, cal.office_time(rng, lpa.size))
    r = np.flatnonzero(records.is_kept)
    first = records.first_entity[r]
    truth = truth_events(
        person_number[lpa.donor[first]], SYSTEM, DONOR_ID(records.number[r]), received_at[first]
    )
    kept = np.flatnonzero(lpa.final_day >= cal.DATA_START_DAY)
    lpa_number = np.full(lpa.size, -1, dtype=np.int64)
    lpa_number[kept] = alloc.take("lpa", kept.size)
    log = _application_log(ref, donors, lpa, kept, lpa_number, records, identity, received_at)
    _add_decisions(log, rng, lpa, kept, lpa_number)
    attorneys = _draw_attorneys(ref, rng, donors, first_day)
    return {
        f"{SYSTEM}.lpa_applications": log.build(),
        f"{SYSTEM}.attorneys": _attorney_rows(
            ref, alloc, attorneys, lpa, kept, lpa_number, received_at
        ),
        TRUTH: truth,
    }


@dataclass
class _Applications(ArrayRecord):
    """LPA applications of a chunk as parallel arrays, with their outcome."""

    donor: np.ndarray  # index into the chunk's donors
    received_day: np.ndarray  # paper applications: the next working day
    lpa_type: np.ndarray  # index into LPA_TYPES
    channel: np.ndarray  # index into CHANNELS
    is_resubmission: np.ndarray  # sent again after a rejection
    status: np.ndarray  # final status: index into STATUSES
    progress_day: np.ndarray  # when it went IN_PROGRESS
    final_day: np.ndarray  # when it reached its final status

    @property
    def size(self) -> int:
        """Number of applications."""
        return int(self.donor.size)

    @classmethod
    def decided(
        cls,
        rng: np.random.Generator,
        donor: np.ndarray,
        received: np.ndarray,
        lpa_type: np.ndarray,
        channel: np.ndarray,
        resubmission: np.ndarray,
    ) -> _Applications:
        """Applications received on ``received``: draw in-progress and final dates and status."""
        n = donor.size
        paper = channel == 1
        received = np.where(paper, cal.next_working_day(received), received)
        years = cal.year_of(received)
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
        progress_day = cal.next_working_day(received + progress)
        return cls(
            donor=donor,
            received_day=received,
            lpa_type=lpa_type,
            channel=channel,
            is_resubmission=resubmission,
            status=np.select([rejected, withdrawn], [REJECTED, WITHDRAWN], REGISTERED),
            progress_day=progress_day,
            final_day=np.maximum(cal.next_working_day(received + wait), progress_day + 1),
        )


def _applications(rng: np.random.Generator, first_day: np.ndarray) -> _Applications:
    """Each donor's applications (often a PFA and an HW on one day) and resubmissions of
    rejected ones, sorted by donor, receipt and type."""
    n = first_day.size
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
    lpa = _Applications.decided(rng, donor, received, lpa_type, channel, np.zeros(donor.size, bool))
    # rejected applications are often corrected and sent again
    again = np.flatnonzero((lpa.status == REJECTED) & (rng.random(lpa.size) < 0.45))
    extra = _Applications.decided(
        rng,
        lpa.donor[again],
        lpa.final_day[again] + rng.integers(14, 121, again.size),
        lpa.lpa_type[again],
        np.where(rng.random(again.size) < 0.3, 0, lpa.channel[again]),
        np.ones(again.size, bool),
    )
    lpa = _Applications.concatenate([lpa, extra])
    return lpa.take(np.lexsort((lpa.lpa_type, lpa.received_day, lpa.donor)))


def _donor_identities(
    donors: People, rng: np.random.Generator, lpa: _Applications, same_day_pair: np.ndarray
) -> RecordIdentity:
    """How each application writes its donor down (a same-day pair from one form)."""
    identity = record_identities(
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
    pair = same_day_pair
    for values in (identity.first_name, identity.last_name, identity.date_of_birth):
        values[pair] = np.roll(values, 1)[pair]
    return identity


def _application_log(
    ref: Reference,
    donors: People,
    lpa: _Applications,
    kept: np.ndarray,
    lpa_number: np.ndarray,
    records: SourceRecords,
    identity: RecordIdentity,
    received_at: np.ndarray,
) -> ChangeLog:
    """The first version of each application delivered (``kept``): as received."""
    log = ChangeLog(
        {
            "lpa_id": lpa_id_col,
            "donor_id": DONOR_ID,
            "donor_first_name": first_name_col,
            "donor_last_name": last_name_col,
            "donor_date_of_birth": date_col,
            "donor_postcode": lambda v, null: postcode_col(ref, v, null),
            "lpa_type_code": lookup(codes(LPA_TYPES)),
            "channel_code": lookup(codes(CHANNELS)),
            "status_code": lookup(codes(STATUSES)),
            "received_date": date_col,
            "registered_date": date_col,
            "rejected_date": date_col,
            "withdrawn_date": date_col,
        }
    )
    none = (np.zeros(kept.size, dtype=np.int64), np.ones(kept.size, dtype=bool))
    log.add(
        lpa_number[kept],
        received_at[kept],
        lpa_id=lpa_number[kept],
        donor_id=records.number[records.record_of_entity[kept]],
        donor_first_name=identity.first_name[kept],
        donor_last_name=identity.last_name[kept],
        donor_date_of_birth=identity.date_of_birth[kept],
        donor_postcode=donors.postcode_at(lpa.donor[kept], lpa.received_day[kept]),
        lpa_type_code=lpa.lpa_type[kept],
        channel_code=lpa.channel[kept],
        status_code=RECEIVED,
        received_date=lpa.received_day[kept],
        registered_date=none,
        rejected_date=none,
        withdrawn_date=none,
    )
    return log


def _add_decisions(
    log: ChangeLog,
    rng: np.random.Generator,
    lpa: _Applications,
    kept: np.ndarray,
    lpa_number: np.ndarray,
) -> None:
    """Later versions: in progress, then registered, rejected or withdrawn; a few deleted."""
    log.add(
        lpa_number[kept],
        at(lpa.progress_day[kept], cal.office_time(rng, kept.size)),
        status_code=IN_PROGRESS,
    )
    final_time = at(lpa.final_day[kept], cal.office_time(rng, kept.size))
    status = lpa.status[kept]
    set_on = (lpa.final_day[kept], np.zeros(kept.size, dtype=bool))
    for code, column in (
        (REGISTERED, "registered_date"),
        (REJECTED, "rejected_date"),
        (WITHDRAWN, "withdrawn_date"),
    ):
        sel = status == code
        log.add(
            lpa_number[kept][sel],
            final_time[sel],
            status_code=code,
            **{column: (set_on[0][sel], set_on[1][sel])},
        )
    gone = np.flatnonzero(rng.random(kept.size) < 0.005)
    log.add(
        lpa_number[kept][gone],
        final_time[gone] + rng.integers(5, 200, gone.size) * 86_400,
        deleted=True,
    )


@dataclass(frozen=True)
class _Attorneys:
    """Each donor's attorneys: (donor, MAX_ATTORNEYS) slots, 4 primary then 2 replacement."""

    present: np.ndarray  # the slot holds an attorney
    role: np.ndarray  # index into ROLES
    decision: np.ndarray  # index into DECISIONS
    given_name: np.ndarray  # name variant index
    surname: np.ndarray  # name variant index
    date_of_birth: np.ndarray
    postcode: np.ndarray  # encoded


def _draw_attorneys(
    ref: Reference, rng: np.random.Generator, donors: People, first_day: np.ndarray
) -> _Attorneys:
    """The attorneys each donor names (children, a spouse, others), on every application."""
    n = first_day.size
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
    birth = _attorney_births(rng, donors, first_day, relation)
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
    return _Attorneys(
        present=present,
        role=np.where(is_primary, 0, 1) + np.zeros(shape, dtype=np.int64),
        decision=np.where(
            is_primary,
            decision[:, None],
            np.where(n_replacement[:, None] > 1, JOINTLY_AND_SEVERALLY, SOLE),
        ),
        given_name=given,
        surname=surname,
        date_of_birth=birth,
        postcode=_attorney_postcodes(ref, rng, donors, relation),
    )


def _attorney_births(
    rng: np.random.Generator, donors: People, first_day: np.ndarray, relation: np.ndarray
) -> np.ndarray:
    """Attorneys' dates of birth by their relation to the donor, adult at the first LPA."""
    shape = relation.shape
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
    return np.minimum(birth, first_day[:, None] - ADULT_DAYS)


def _attorney_postcodes(
    ref: Reference, rng: np.random.Generator, donors: People, relation: np.ndarray
) -> np.ndarray:
    """Attorneys' postcodes: a spouse's is the donor's, others live near or anywhere."""
    shape = relation.shape
    donor_postcode = donors.postcodes[:, 0][:, None]
    donor_area = donor_postcode // 1_000_000
    near = rng.random(shape) < 0.35
    far_area = random_areas(ref, rng, rng.choice(ref.n_regions, relation.size)).reshape(shape)
    area = np.where(near, np.broadcast_to(donor_area, shape), far_area)
    postcode = random_postcodes(ref, rng, area.ravel()).reshape(shape)
    return np.where(relation == 1, donor_postcode, postcode)


def _attorney_rows(
    ref: Reference,
    alloc: IdAllocator,
    attorneys: _Attorneys,
    lpa: _Applications,
    kept: np.ndarray,
    lpa_number: np.ndarray,
    received_at: np.ndarray,
) -> Events:
    """One row per attorney of each application delivered, arriving with the application."""
    li, ai = np.nonzero(attorneys.present[lpa.donor[kept]])
    lpa_row = kept[li]
    d = lpa.donor[lpa_row]
    return Events(
        Frame(
            attorney_id=ATTORNEY_ID(alloc.take("attorney", li.size)),
            lpa_id=lpa_id_col(lpa_number[lpa_row]),
            attorney_role_code=lookup_col(attorneys.role[d, ai], codes(ROLES)),
            decision_type_code=lookup_col(attorneys.decision[d, ai], codes(DECISIONS)),
            first_name=first_name_col(attorneys.given_name[d, ai]),
            last_name=last_name_col(attorneys.surname[d, ai]),
            date_of_birth=date_col(attorneys.date_of_birth[d, ai]),
            postcode=postcode_col(ref, attorneys.postcode[d, ai]),
        ),
        received_at[lpa_row],
    )
