"""nomis (prisons): establishments, offenders, bookings, movements, sentences.

A *booking* is one period in custody. Three kinds come out of the court journeys:

- remand: received on remand at the first hearing (``ADM``/``REMAND``); released on bail
  (``REL``/``BAIL``), or from court at the end of the case (``REL``/``COURT_DISCHARGE``), or,
  when sentenced to custody, received on sentence in the same booking (``ADM``/``SENTENCED``);
- sentence: received on sentence on the outcome date (``ADM``/``SENTENCED``);
- recall: recalled from licence (``ADM``/``RECALL``), released after a fixed term or at the
  sentence expiry date.

Sentenced prisoners move from the local prison to training, high-security or open prisons
(``TRN``) and are released around the conditional release date (``REL``), earlier on home
detention curfew for some. Open bookings at the extraction date stay ``ACTIVE``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from derived_tables.generator import calendar as cal
from derived_tables.generator import ids
from derived_tables.generator.cases import Cases, Journeys
from derived_tables.generator.common import (
    TRUTH,
    ArrayRecord,
    IdAllocator,
    SourceRecords,
    arrival_of_event,
    at,
    codes,
    first_name_col,
    group_first,
    id_col,
    identity_columns,
    last_name_col,
    pnc_col,
    postcode_col,
    truth_events,
)
from derived_tables.generator.frame import (
    ChangeLog,
    Column,
    Events,
    Frame,
    Versions,
    bool_col,
    date_col,
    format_col,
    int_col,
    lookup,
    lookup_col,
    timestamp_col,
)
from derived_tables.generator.identity import (
    GENDER_CODES,
    NEVER,
    RecordIdentity,
    record_identities,
)
from derived_tables.generator.reference import Reference

SYSTEM = "nomis"
CATEGORIES = ("A", "B", "C", "D", "LOCAL", "FEMALE", "YOI")
CAT_A, CAT_B, CAT_C, CAT_D, CAT_LOCAL, CAT_FEMALE, CAT_YOI = range(7)
BOOKING_STATUSES = ("ACTIVE", "CLOSED")
SENTENCE_TYPES = ("DETERMINATE", "LIFE", "IPP", "REMAND")
DETERMINATE, LIFE, IPP, REMAND = range(4)
MOVEMENT_TYPES = ("ADM", "TRN", "REL")
ADM, TRN, REL = range(3)
KIND_REMAND, KIND_SENTENCE, KIND_RECALL = range(3)
GROUP_MALE, GROUP_FEMALE, GROUP_YOUNG = range(3)

BOOKING_ID = id_col("BK", 8, 11)
MOVEMENT_ID = id_col("MV", 10, 12)
SENTENCE_ID = id_col("SN", 9, 13)

# Operational capacity of an establishment of each type, before scaling to the simulated
# population. Calibrated on the simulated demand (scale 1, 2024 onwards) so that each type's
# estate runs at about 93% occupancy: the seed has few female and YOI establishments, so each
# holds more than its real counterpart. Individual prisons still range from about half full
# to overcrowded (a warn-level test reports occupancy above 150%).
BASE_CAPACITY = {
    "LOCAL": 640,
    "TRAINING": 805,
    "HIGH_SECURITY": 800,
    "OPEN": 335,
    "FEMALE": 840,
    "YOI": 935,
}
#: Places per establishment-capacity unit at scale 1: calibrated so that occupancy is
#: around 95% of operational capacity.
CAPACITY_PER_SCALE = 0.09
#: Probability that a person sent to an establishment of a type goes to one in their home
#: region (the ``home_p`` of the reception and first-transfer choices in :func:`build`; the
#: open estate is chosen nationally). :func:`demand_factors` sizes each establishment for it.
HOME_PREFERENCE = {
    "LOCAL": 0.92,
    "TRAINING": 0.7,
    "HIGH_SECURITY": 0.3,
    "OPEN": 0.0,
    "FEMALE": 0.7,
    "YOI": 0.6,
}
#: An establishment's capacity is its share of its type's places (:data:`BASE_CAPACITY`, sized
#: for its expected demand by :func:`demand_factors`) times a draw from this range, so it
#: starts at about 70% to 115% occupancy (then capacity drifts, see
#: :func:`build_establishments`). Capacity used to be drawn without regard to demand, so a
#: region with one prison of a type (one local in the West Midlands, one training prison in
#: London) ran at 2 to 4 times its capacity for years while Wales's ran at a quarter:
#: implausible, and over the 300% an error-level test allows, at many seeds and scales.
CAPACITY_SPREAD = (0.8, 1.35)
#: The most people per operational place an establishment ever holds: the error-level
#: ``accepted_range`` of ``fct_prison_population_daily.occupancy_rate`` (no real prison holds
#: three times its operational capacity).
MAX_OCCUPANCY = 3
#: Standard deviations of its population's random variation that an establishment keeps room
#: for within :data:`MAX_OCCUPANCY` (see :func:`build_establishments`).
HEADROOM_SD = 6
SLOTS = 5  # ADM, ADM (sentenced after remand), TRN, TRN, REL
REL_SLOT = SLOTS - 1


def prison_number_col(values: np.ndarray, null: np.ndarray | None = None) -> Column:
    """Prison numbers ``A1234BC`` from their numbers."""
    return format_col(values, ids.prison_numbers, null)


def establishment_category(kind: str, rng: np.random.Generator) -> int:
    """Security category an establishment of a type opens with."""
    return {
        "LOCAL": CAT_LOCAL,
        "TRAINING": CAT_C if rng.random() < 0.7 else CAT_B,
        "HIGH_SECURITY": CAT_A,
        "OPEN": CAT_D,
        "FEMALE": CAT_FEMALE,
        "YOI": CAT_YOI,
    }[kind]


def demand_factors(ref: Reference) -> np.ndarray:
    """Each establishment's expected share of the people sent to its type, relative to an
    even share (1.0 = the type's average establishment).

    People go to an establishment of their home region with probability
    :data:`HOME_PREFERENCE` (shared evenly among the region's establishments of the type,
    regions weighted by population), otherwise to any of the type (also when their region
    has none). So one local prison serving a populous region needs several times the places
    of one of three locals in a small region.
    """
    weight = ref.region_population / ref.region_population.sum()
    factor = np.ones(len(ref.establishment_codes), dtype=np.float64)
    for kind in sorted(set(ref.establishment_type)):
        pool = ref.establishments_of_type(kind)
        home_p = HOME_PREFERENCE[kind]
        region = ref.establishment_region[pool]
        in_region = np.bincount(region, minlength=ref.n_regions)
        served = in_region > 0
        away = (1 - home_p) + home_p * weight[~served].sum()
        share = home_p * weight[region] / in_region[region] + away / pool.size
        factor[pool] = share * pool.size
    return factor


def build_establishments(ref: Reference, rng: np.random.Generator, scale: float) -> Versions:
    """Versions of every establishment: capacity changes over the years, a few re-roles."""
    n = len(ref.establishment_codes)
    log = ChangeLog(
        {
            "establishment_code": lookup(ref.establishment_codes),
            "operational_capacity": int_col,
            "certified_normal_accommodation": int_col,
            "security_category_code": lookup(codes(CATEGORIES)),
            "is_operational": lambda v, null: bool_col(v),
        }
    )
    key = np.arange(n)
    base = np.array([BASE_CAPACITY[t] for t in ref.establishment_type], dtype=np.float64)
    # sized for the expected demand (see CAPACITY_SPREAD), not for an average prison
    demand = base * demand_factors(ref)
    capacity = demand * rng.uniform(*CAPACITY_SPREAD, n)
    category = np.array(
        [establishment_category(t, rng) for t in ref.establishment_type], dtype=np.int64
    )
    # At small scales a prison holds a handful of people, and their number varies by about
    # its square root (a Poisson count): 5 expected can be 14 on some day, nearly 3 times a
    # capacity of 5. So the operational capacity never falls below a floor that keeps
    # HEADROOM_SD standard deviations above the expected population within MAX_OCCUPANCY.
    # At scale 1 (about 55 expected in a local prison) the floor is far below the capacity.
    expected = demand * scale * CAPACITY_PER_SCALE
    floor = np.maximum(4, np.ceil((expected + HEADROOM_SD * np.sqrt(expected)) / MAX_OCCUPANCY))

    def places(cap: np.ndarray) -> np.ndarray:
        return np.maximum(4, np.round(cap * scale * CAPACITY_PER_SCALE)).astype(np.int64)

    def operational(cap: np.ndarray) -> np.ndarray:
        return np.maximum(floor, places(cap)).astype(np.int64)

    cna_ratio = rng.uniform(0.8, 0.95, n)
    log.add(
        key,
        at(ref.establishment_opened, 9 * 3600),
        establishment_code=key,
        operational_capacity=operational(capacity),
        certified_normal_accommodation=places(capacity * cna_ratio),
        security_category_code=category,
        is_operational=np.ones(n, dtype=bool),
    )
    first = np.maximum(ref.establishment_opened + 180, cal.WORLD_START_DAY)
    for _ in range(6):
        day = rng.integers(first, cal.WORLD_END_DAY)
        changes = rng.random(n) < 0.75
        capacity = np.where(changes, capacity * rng.uniform(0.9, 1.12, n), capacity)
        cna_ratio = np.where(changes & (rng.random(n) < 0.3), rng.uniform(0.8, 0.95, n), cna_ratio)
        sel = np.flatnonzero(changes)
        log.add(
            key[sel],
            at(day[sel], 10 * 3600),
            operational_capacity=operational(capacity)[sel],
            certified_normal_accommodation=places(capacity * cna_ratio)[sel],
        )
    training = np.flatnonzero((category == CAT_B) | (category == CAT_C))
    rerole = training[rng.random(training.size) < 0.2]
    log.add(
        key[rerole],
        at(rng.integers(cal.DATA_START_DAY, cal.WORLD_END_DAY, rerole.size), 11 * 3600),
        security_category_code=np.where(category[rerole] == CAT_B, CAT_C, CAT_B),
    )
    return log.build()


class _Estate:
    """Chooses establishments: by type, preferring the home region, open on the day."""

    def __init__(self, ref: Reference, rng: np.random.Generator) -> None:
        self.ref = ref
        self.rng = rng

    def choose(self, kind: str, region: np.ndarray, day: np.ndarray, home_p: float) -> np.ndarray:
        """An establishment of type ``kind`` per row: in the home region with probability
        ``home_p``, always one already open on ``day``.
        """
        ref, rng = self.ref, self.rng
        pool = ref.establishments_of_type(kind)
        n = region.size
        out = pool[rng.integers(0, pool.size, n)]
        home = rng.random(n) < home_p
        for r in np.unique(region[home]):
            local = pool[ref.establishment_region[pool] == r]
            if local.size:
                sel = np.flatnonzero(home & (region == r))
                out[sel] = local[rng.integers(0, local.size, sel.size)]
        old = pool[ref.establishment_opened[pool] <= cal.WORLD_START_DAY]
        not_open = ref.establishment_opened[out] > day
        out[not_open] = old[rng.integers(0, old.size, int(not_open.sum()))]
        return out

    def other(
        self, kind: str, current: np.ndarray, region: np.ndarray, day: np.ndarray, home_p: float
    ) -> np.ndarray:
        """Like :meth:`choose`, avoiding ``current`` where possible (-1 when impossible)."""
        out = self.choose(kind, region, day, home_p)
        same = out == current
        if same.any():
            out[same] = self.choose(kind, region[same], day[same], 0.0)
        out[out == current] = -1
        return out


@dataclass
class _Bookings(ArrayRecord):
    """A chunk's prison bookings: on remand, on sentence, on recall; sorted by person, start
    and kind."""

    case: np.ndarray  # index into the chunk's cases
    kind: np.ndarray  # KIND_REMAND, KIND_SENTENCE or KIND_RECALL
    start_day: np.ndarray
    person: np.ndarray

    @property
    def size(self) -> int:
        """Number of bookings."""
        return int(self.case.size)


@dataclass(frozen=True)
class _Stays:
    """What each booking holds: who, where received, how and when released, categories."""

    is_remand: np.ndarray
    is_recall: np.ndarray
    sentenced_here: np.ndarray  # a sentence booking, or a remand that ended in custody
    is_life: np.ndarray
    completion_day: np.ndarray  # of the booking's case
    sentence_days: np.ndarray  # of the booking's case
    group: np.ndarray  # GROUP_MALE, GROUP_FEMALE or GROUP_YOUNG (under 21)
    home_region: np.ndarray  # region of the home address at the start
    reception: np.ndarray  # establishment received into
    release_day: np.ndarray  # NEVER for a life sentence
    release_reason: np.ndarray  # index into the movement reasons
    category: np.ndarray  # security category on reception
    sentence_category: np.ndarray  # security category once sentenced


@dataclass(frozen=True)
class _Slots:
    """The movements of each booking, in SLOTS columns: admission, admission on sentence
    (after remand), first transfer, second transfer, release; ``day`` -1 where none."""

    day: np.ndarray
    movement_type: np.ndarray  # index into MOVEMENT_TYPES
    reason: np.ndarray  # index into the movement reasons
    from_establishment: np.ndarray  # -1 for none
    to_establishment: np.ndarray  # -1 for none
    new_category: np.ndarray  # the security category it sets, -1 for none
    seconds_of_day: np.ndarray

    @classmethod
    def empty(cls, n: int) -> _Slots:
        """No movement in any slot of ``n`` bookings."""
        shape = (n, SLOTS)
        return cls(
            day=np.full(shape, -1, dtype=np.int64),
            movement_type=np.zeros(shape, dtype=np.int64),
            reason=np.zeros(shape, dtype=np.int64),
            from_establishment=np.full(shape, -1, dtype=np.int64),
            to_establishment=np.full(shape, -1, dtype=np.int64),
            new_category=np.full(shape, -1, dtype=np.int64),
            seconds_of_day=np.zeros(shape, dtype=np.int64),
        )

    @property
    def present(self) -> np.ndarray:
        """The slot holds a movement."""
        return self.day >= 0

    def times(self) -> np.ndarray:
        """Timestamps of the movements, at least ten minutes apart within a booking."""
        present = self.present
        times = at(np.maximum(self.day, 0), self.seconds_of_day)
        steps = np.arange(SLOTS)[None, :] * 600
        masked = np.where(present, times - steps, np.iinfo(np.int64).min // 2)
        return np.where(present, np.maximum.accumulate(masked, axis=1) + steps, times)


def build(
    ref: Reference,
    journeys: Journeys,
    rng: np.random.Generator,
    alloc: IdAllocator,
    person_number: np.ndarray,
) -> tuple[dict[str, Events | Versions], np.ndarray]:
    """The nomis tables (world rows) for one chunk, and the establishment each case's
    sentence ended in (-1 when none), for probation licences.

    The random draws and identifier numbers are taken in a fixed order: receptions,
    categories, movements, prison numbers, offenders, bookings, movements, sentences.
    """
    estate = _Estate(ref, rng)
    bookings = _bookings(journeys.cases)
    stays = _stays(ref, journeys, rng, estate, bookings)
    slots = _Slots.empty(bookings.size)
    location = _admissions_and_first_transfer(ref, rng, estate, bookings, stays, slots)
    location = _second_transfer(ref, rng, estate, stays, slots, location)
    released = stays.release_day < NEVER
    slots.day[released, REL_SLOT] = stays.release_day[released]
    slots.movement_type[released, REL_SLOT] = REL
    slots.reason[released, REL_SLOT] = stays.release_reason[released]
    slots.from_establishment[released, REL_SLOT] = location[released]
    slots.seconds_of_day[:, REL_SLOT] = rng.integers(8 * 3600, 11 * 3600 + 1800, bookings.size)
    times = slots.times()
    kept = stays.release_day >= cal.DATA_START_DAY
    case_release_est = np.full(journeys.cases.size, -1, dtype=np.int64)
    final = stays.sentenced_here & released
    case_release_est[bookings.case[final]] = location[final]
    opens_record = group_first(bookings.person) | (rng.random(bookings.size) < 0.05)
    records = SourceRecords.numbered(opens_record, bookings.person, kept, alloc, "prison_number")
    offenders, created_at = _offenders(ref, journeys, rng, bookings, stays, slots, records, times)
    r = records.kept
    truth = truth_events(
        person_number[records.person[r]], SYSTEM, prison_number_col(records.number[r]), created_at
    )
    kb = np.flatnonzero(kept)
    booking_number = np.full(bookings.size, -1, dtype=np.int64)
    booking_number[kb] = alloc.take("booking", kb.size)
    booking_log = _booking_log(ref, bookings, stays, kb, booking_number, records, times)
    tables: dict[str, Events | Versions] = {
        f"{SYSTEM}.offenders": offenders,
        f"{SYSTEM}.bookings": booking_log,
        f"{SYSTEM}.movements": _movements(
            ref, rng, alloc, slots, kept, booking_number, records, times
        ),
        f"{SYSTEM}.sentences": _sentences(
            ref, journeys.cases, alloc, bookings, stays, kb, booking_number, times
        ),
        TRUTH: truth,
    }
    return tables, case_release_est


def _bookings(cases: Cases) -> _Bookings:
    """One booking per remand, per custodial sentence not served on from remand, per recall."""
    rem = np.flatnonzero(cases.court.is_remanded)
    sen = np.flatnonzero(cases.custody.is_imprisoned & ~cases.custody.continues_remand)
    rec = np.flatnonzero(cases.licence.is_recalled)
    case = np.concatenate([rem, sen, rec])
    bookings = _Bookings(
        case=case,
        kind=np.concatenate(
            [
                np.full(rem.size, KIND_REMAND),
                np.full(sen.size, KIND_SENTENCE),
                np.full(rec.size, KIND_RECALL),
            ]
        ),
        start_day=np.concatenate(
            [
                cases.court.first_hearing_day[rem],
                cases.court.completion_day[sen],
                cases.licence.recall_day[rec],
            ]
        ),
        person=cases.person[case],
    )
    return bookings.take(np.lexsort((bookings.kind, bookings.start_day, bookings.person)))


def _stays(
    ref: Reference,
    journeys: Journeys,
    rng: np.random.Generator,
    estate: _Estate,
    bookings: _Bookings,
) -> _Stays:
    """Reception (by group, near home), release and security categories of each booking."""
    cases, people = journeys.cases, journeys.people
    case, start, person = bookings.case, bookings.start_day, bookings.person
    is_rem = bookings.kind == KIND_REMAND
    is_rec = bookings.kind == KIND_RECALL
    sentenced_here = (bookings.kind == KIND_SENTENCE) | (
        is_rem & cases.custody.continues_remand[case]
    )
    life = sentenced_here & cases.custody.is_life_sentence[case]
    completion = cases.court.completion_day[case]
    age = (start - people.date_of_birth[person]) / 365.25
    female = people.is_female[person]
    group = np.where(female, GROUP_FEMALE, np.where(age < 21, GROUP_YOUNG, GROUP_MALE))
    region_at_start = ref.area_region[people.postcode_at(person, start) // 1_000_000]
    reception = np.empty(bookings.size, dtype=np.int64)
    for g, kind_name, home_p in (
        (GROUP_MALE, "LOCAL", HOME_PREFERENCE["LOCAL"]),
        (GROUP_FEMALE, "FEMALE", HOME_PREFERENCE["FEMALE"]),
        (GROUP_YOUNG, "YOI", HOME_PREFERENCE["YOI"]),
    ):
        sel = np.flatnonzero(group == g)
        reception[sel] = estate.choose(kind_name, region_at_start[sel], start[sel], home_p)
    release, release_reason = _releases(ref, cases, case, is_rem, is_rec, sentenced_here)
    length = cases.outcome.length_days[case]
    category, sentence_category = _categories(rng, group, life, length, is_rem, sentenced_here)
    return _Stays(
        is_remand=is_rem,
        is_recall=is_rec,
        sentenced_here=sentenced_here,
        is_life=life,
        completion_day=completion,
        sentence_days=length,
        group=group,
        home_region=region_at_start,
        reception=reception,
        release_day=np.where(life, NEVER, release),
        release_reason=release_reason,
        category=category,
        sentence_category=sentence_category,
    )


def _releases(
    ref: Reference,
    cases: Cases,
    case: np.ndarray,
    is_rem: np.ndarray,
    is_rec: np.ndarray,
    sentenced_here: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Release day (before life sentences are kept in) and reason of each booking."""
    custody, licence = cases.custody, cases.licence
    reason = ref.movement_reason
    bailed = is_rem & custody.is_bailed[case]
    release = np.select(
        [is_rec, sentenced_here, bailed],
        [licence.recall_release_day[case], custody.release_day[case], custody.bail_day[case]],
        cases.court.completion_day[case],
    )
    release_reason = np.select(
        [
            is_rec & (licence.recall_release_reason[case] == 2),
            is_rec,
            sentenced_here & (custody.release_reason[case] == 1),
            sentenced_here,
            bailed,
        ],
        [
            reason("SENTENCE_EXPIRY"),
            reason("CONDITIONAL_RELEASE"),
            reason("HOME_DETENTION_CURFEW"),
            reason("CONDITIONAL_RELEASE"),
            reason("BAIL"),
        ],
        reason("COURT_DISCHARGE"),
    )
    return release, release_reason


def _categories(
    rng: np.random.Generator,
    group: np.ndarray,
    life: np.ndarray,
    length: np.ndarray,
    is_rem: np.ndarray,
    sentenced_here: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Security category on reception and once sentenced (by group, life, length)."""
    nb = group.size
    category = np.select(
        [
            group == GROUP_FEMALE,
            group == GROUP_YOUNG,
            life & (rng.random(nb) < 0.1),
            life,
            length >= 1461,
        ],
        [CAT_FEMALE, CAT_YOI, CAT_A, CAT_B, np.where(rng.random(nb) < 0.5, CAT_B, CAT_C)],
        np.where(is_rem & ~sentenced_here, CAT_B, CAT_C),
    )
    category = np.where(is_rem, np.where(group == GROUP_MALE, CAT_B, category), category)
    sentence_category = np.select(
        [group != GROUP_MALE, life & (rng.random(nb) < 0.1), life, length >= 1461],
        [category, CAT_A, CAT_B, np.where(rng.random(nb) < 0.5, CAT_B, CAT_C)],
        CAT_C,
    )
    return category, sentence_category


def _admissions_and_first_transfer(
    ref: Reference,
    rng: np.random.Generator,
    estate: _Estate,
    bookings: _Bookings,
    stays: _Stays,
    slots: _Slots,
) -> np.ndarray:
    """Fill the admission slots and the first transfer (local to training or high security
    for adult men, within the estate otherwise); returns each booking's establishment after."""
    reason = ref.movement_reason
    nb = bookings.size
    slots.day[:, 0] = bookings.start_day
    slots.movement_type[:, 0] = ADM
    slots.reason[:, 0] = np.select(
        [stays.is_remand, stays.is_recall],
        [reason("REMAND"), reason("RECALL")],
        reason("SENTENCED"),
    )
    slots.to_establishment[:, 0] = stays.reception
    slots.seconds_of_day[:, 0] = rng.integers(14 * 3600, 19 * 3600, nb)
    cont = stays.is_remand & stays.sentenced_here
    slots.day[cont, 1] = stays.completion_day[cont]
    slots.movement_type[cont, 1] = ADM
    slots.reason[cont, 1] = reason("SENTENCED")
    slots.to_establishment[cont, 1] = stays.reception[cont]
    slots.new_category[cont, 1] = stays.sentence_category[cont]
    slots.seconds_of_day[:, 1] = rng.integers(16 * 3600, 20 * 3600, nb)
    category_now = np.where(cont, stays.sentence_category, stays.category)
    return _first_transfer(ref, rng, estate, stays, slots, category_now)


def _sentence_start_and_stay(stays: _Stays) -> tuple[np.ndarray, np.ndarray]:
    """Sentence start (-1 unless sentenced here) and days to release (20 years for life)."""
    start = np.where(stays.sentenced_here, stays.completion_day, -1)
    return start, np.where(stays.is_life, 20 * 365, stays.release_day - start)


def _first_transfer_day(rng: np.random.Generator, stays: _Stays) -> tuple[np.ndarray, np.ndarray]:
    """Who is transferred once sentenced, and when (two weeks to four months in)."""
    nb = stays.group.size
    start, stay = _sentence_start_and_stay(stays)
    male = stays.group == GROUP_MALE
    t1 = stays.sentenced_here & (stay > 90) & (rng.random(nb) < np.where(male, 0.75, 0.2))
    t1_day = (
        start
        + 14
        + (rng.random(nb) * np.maximum(1, np.minimum(120, stay // 2) - 14)).astype(np.int64)
    )
    return t1, t1_day


def _first_transfer(
    ref: Reference,
    rng: np.random.Generator,
    estate: _Estate,
    stays: _Stays,
    slots: _Slots,
    category_now: np.ndarray,
) -> np.ndarray:
    """Fill the first transfer slot; returns each booking's establishment after it."""
    reason = ref.movement_reason
    group, nb = stays.group, stays.group.size
    location = stays.reception.copy()
    t1, t1_day = _first_transfer_day(rng, stays)
    high = (
        t1
        & (group == GROUP_MALE)
        & (stays.is_life | ((stays.sentence_days >= 1461) & (category_now <= CAT_B)))
        & (rng.random(nb) < 0.5)
    )
    target = np.full(nb, -1, dtype=np.int64)
    for kind_name, sel_mask, home_p in (
        ("HIGH_SECURITY", t1 & high, HOME_PREFERENCE["HIGH_SECURITY"]),
        ("TRAINING", t1 & ~high & (group == GROUP_MALE), HOME_PREFERENCE["TRAINING"]),
        ("FEMALE", t1 & (group == GROUP_FEMALE), 0.5),
        ("YOI", t1 & (group == GROUP_YOUNG), 0.5),
    ):
        sel = np.flatnonzero(sel_mask)
        target[sel] = estate.other(
            kind_name, location[sel], stays.home_region[sel], t1_day[sel], home_p
        )
    t1 &= target >= 0
    slots.day[t1, 2] = t1_day[t1]
    slots.movement_type[t1, 2] = TRN
    u = rng.random(nb)
    slots.reason[:, 2] = np.where(
        high,
        reason("SECURITY"),
        np.select(
            [u < 0.4, u < 0.55, u < 0.7],
            [reason("POPULATION_PRESSURE"), reason("PROGRAMME_PLACE"), reason("CLOSER_TO_HOME")],
            reason("RECATEGORISATION"),
        ),
    )
    slots.from_establishment[t1, 2] = location[t1]
    slots.to_establishment[t1, 2] = target[t1]
    male_moved = t1 & (group == GROUP_MALE)
    slots.new_category[male_moved, 2] = np.where(high, np.minimum(category_now, CAT_B), CAT_C)[
        male_moved
    ]
    slots.seconds_of_day[:, 2] = rng.integers(9 * 3600, 15 * 3600, nb)
    return np.where(t1, target, location)


def _second_transfer(
    ref: Reference,
    rng: np.random.Generator,
    estate: _Estate,
    stays: _Stays,
    slots: _Slots,
    location: np.ndarray,
) -> np.ndarray:
    """Fill the second transfer slot: to open prison (category D) before release for some
    long sentences, a security transfer for a few others; returns the establishment after."""
    reason = ref.movement_reason
    nb, release = stays.group.size, stays.release_day
    t1 = slots.day[:, 2] >= 0
    t1_day = slots.day[:, 2]
    male = stays.group == GROUP_MALE
    stay = _sentence_start_and_stay(stays)[1]
    t_open = t1 & ~stays.is_life & male & (stay > 730) & (rng.random(nb) < 0.35)
    open_day = release - rng.integers(90, 541, nb)
    t_open &= open_day > t1_day + 30
    target = np.full(nb, -1, dtype=np.int64)
    sel = np.flatnonzero(t_open)
    target[sel] = estate.other("OPEN", location[sel], stays.home_region[sel], open_day[sel], 0.0)
    t_open &= target >= 0
    t_sec = t1 & ~t_open & male & (rng.random(nb) < 0.1)
    gap = np.where(stays.is_life, 3650, release - t1_day)
    sec_day = t1_day + 30 + (rng.random(nb) * np.maximum(1, gap - 31)).astype(np.int64)
    t_sec &= gap > 61
    sel = np.flatnonzero(t_sec)
    target[sel] = estate.other("TRAINING", location[sel], stays.home_region[sel], sec_day[sel], 0.0)
    t_sec &= target >= 0
    third = t_open | t_sec
    slots.day[third, 3] = np.where(t_open, open_day, sec_day)[third]
    slots.movement_type[third, 3] = TRN
    slots.reason[third, 3] = np.where(t_open, reason("RECATEGORISATION"), reason("SECURITY"))[third]
    slots.from_establishment[third, 3] = location[third]
    slots.to_establishment[third, 3] = target[third]
    slots.new_category[t_open, 3] = CAT_D
    slots.seconds_of_day[:, 3] = rng.integers(9 * 3600, 15 * 3600, nb)
    return np.where(third, target, location)


def _offender_log(ref: Reference) -> ChangeLog:
    """An empty change log of nomis offenders, with their columns."""
    return ChangeLog(
        {
            "prison_number": prison_number_col,
            "pnc_id": pnc_col,
            "first_name": lambda v, null: first_name_col(v, null, upper=True),
            "last_name": lambda v, null: last_name_col(v, null, upper=True),
            "date_of_birth": date_col,
            "gender_code": lookup(codes(GENDER_CODES)),
            "postcode": lambda v, null: postcode_col(ref, v, null),
            "security_category_code": lookup(codes(CATEGORIES)),
        }
    )


def _prison_identities(
    journeys: Journeys, rng: np.random.Generator, records: SourceRecords
) -> RecordIdentity:
    """How each prison number record writes its person down."""
    return record_identities(
        journeys.people,
        rng,
        records.person,
        p_nickname=0.03,
        p_typo=0.03,
        p_dob_swap=0.01,
        p_dob_other=0.01,
        p_gender_unknown=0.0,
        p_pnc=0.9,
    )


def _offenders(
    ref: Reference,
    journeys: Journeys,
    rng: np.random.Generator,
    bookings: _Bookings,
    stays: _Stays,
    slots: _Slots,
    records: SourceRecords,
    times: np.ndarray,
) -> tuple[Versions, np.ndarray]:
    """Offender versions (created at the first booking, a new address and category at each
    later one, recategorisations, merged duplicates) and the creation time of each delivered
    record."""
    identity = _prison_identities(journeys, rng, records)
    postcode = journeys.people.postcode_at(bookings.person, bookings.start_day)
    no_fixed_abode = rng.random(bookings.size) < 0.04
    log = _offender_log(ref)
    rb, r, number = records.first_entity, records.kept, records.number
    created = times[rb, 0]
    log.add(
        number[r],
        created[r],
        prison_number=number[r],
        **identity_columns(identity, r),
        postcode=(postcode[rb[r]], no_fixed_abode[rb[r]]),
        security_category_code=stays.category[rb[r]],
    )
    record = records.record_of_entity
    later = records.later_entities()
    log.add(
        number[record[later]],
        times[later, 0],
        postcode=(postcode[later], no_fixed_abode[later]),
        security_category_code=stays.category[later],
    )
    for slot in (1, 2, 3):
        sel = np.flatnonzero(
            slots.present[:, slot] & (slots.new_category[:, slot] >= 0) & records.is_kept[record]
        )
        log.add(
            number[record[sel]],
            times[sel, slot],
            security_category_code=slots.new_category[sel, slot],
        )
    _add_merged_duplicates(log, rng, bookings, stays, records)
    return log.build(), created[r]


def _add_merged_duplicates(
    log: ChangeLog,
    rng: np.random.Generator,
    bookings: _Bookings,
    stays: _Stays,
    records: SourceRecords,
) -> None:
    """A duplicate prison number (not a person's first) is merged away (deleted) after its
    last release, for some."""
    r, number, record = records.kept, records.number, records.record_of_entity
    dup = r[~np.isin(r, record[group_first(bookings.person)]) & (rng.random(r.size) < 0.3)]
    released = stays.release_day < NEVER
    last_release = np.zeros(number.size, dtype=np.int64)
    np.maximum.at(last_release, record, np.where(released, stays.release_day, NEVER))
    dup = dup[last_release[dup] < NEVER]
    log.add(
        number[dup],
        at(last_release[dup] + rng.integers(30, 300, dup.size), 10 * 3600),
        deleted=True,
    )


def _booking_log(
    ref: Reference,
    bookings: _Bookings,
    stays: _Stays,
    kb: np.ndarray,
    booking_number: np.ndarray,
    records: SourceRecords,
    times: np.ndarray,
) -> Versions:
    """Booking versions: opened on reception, closed on release."""
    log = ChangeLog(
        {
            "booking_id": BOOKING_ID,
            "prison_number": prison_number_col,
            "establishment_code": lookup(ref.establishment_codes),
            "booking_status_code": lookup(codes(BOOKING_STATUSES)),
            "booking_start_date": date_col,
            "booking_end_date": date_col,
        }
    )
    log.add(
        booking_number[kb],
        times[kb, 0],
        booking_id=booking_number[kb],
        prison_number=records.number[records.record_of_entity[kb]],
        establishment_code=stays.reception[kb],
        booking_status_code=0,
        booking_start_date=bookings.start_day[kb],
        booking_end_date=(np.zeros(kb.size, dtype=np.int64), np.ones(kb.size, dtype=bool)),
    )
    closed = kb[stays.release_day[kb] < NEVER]
    log.add(
        booking_number[closed],
        times[closed, REL_SLOT],
        booking_status_code=1,
        booking_end_date=(stays.release_day[closed], np.zeros(closed.size, dtype=bool)),
    )
    return log.build()


def _movements(
    ref: Reference,
    rng: np.random.Generator,
    alloc: IdAllocator,
    slots: _Slots,
    kept: np.ndarray,
    booking_number: np.ndarray,
    records: SourceRecords,
    times: np.ndarray,
) -> Events:
    """Every movement within the data of the bookings delivered."""
    bi, si = np.nonzero(slots.present & kept[:, None] & (slots.day >= cal.DATA_START_DAY))
    from_est = slots.from_establishment[bi, si]
    to_est = slots.to_establishment[bi, si]
    return Events(
        Frame(
            movement_id=MOVEMENT_ID(alloc.take("movement", bi.size)),
            booking_id=BOOKING_ID(booking_number[bi]),
            prison_number=prison_number_col(records.number[records.record_of_entity[bi]]),
            movement_type_code=lookup_col(slots.movement_type[bi, si], codes(MOVEMENT_TYPES)),
            movement_reason_code=lookup_col(slots.reason[bi, si], ref.movement_reason_codes),
            from_establishment_code=lookup_col(
                np.maximum(from_est, 0), ref.establishment_codes, from_est < 0
            ),
            to_establishment_code=lookup_col(
                np.maximum(to_est, 0), ref.establishment_codes, to_est < 0
            ),
            movement_at=timestamp_col(times[bi, si]),
        ),
        np.maximum(arrival_of_event(rng, slots.day[bi, si]), times[bi, si]),
    )


def _sentences(
    ref: Reference,
    cases: Cases,
    alloc: IdAllocator,
    bookings: _Bookings,
    stays: _Stays,
    kb: np.ndarray,
    booking_number: np.ndarray,
    times: np.ndarray,
) -> Versions:
    """Sentences of the bookings delivered: remand, custody (determinate or life, with a
    recalculated release date for some) and recall."""
    log = ChangeLog(
        {
            "sentence_id": SENTENCE_ID,
            "booking_id": BOOKING_ID,
            "offence_code": lookup(ref.offence_codes),
            "sentence_type_code": lookup(codes(SENTENCE_TYPES)),
            "sentence_start_date": date_col,
            "sentence_length_days": int_col,
            "conditional_release_date": date_col,
        }
    )
    principal = cases.offences.principal[bookings.case]
    sr = kb[stays.is_remand[kb]]
    nums = alloc.take("sentence", sr.size)
    no_date = (np.zeros(sr.size, dtype=np.int64), np.ones(sr.size, dtype=bool))
    log.add(
        nums,
        times[sr, 0],
        sentence_id=nums,
        booking_id=booking_number[sr],
        offence_code=principal[sr],
        sentence_type_code=REMAND,
        sentence_start_date=bookings.start_day[sr],
        sentence_length_days=no_date,
        conditional_release_date=no_date,
    )
    _add_custodial_sentences(log, cases, alloc, bookings, stays, kb, booking_number, times)
    sc = kb[stays.is_recall[kb]]
    nums = alloc.take("sentence", sc.size)
    start = bookings.start_day[sc]
    sled = cases.custody.sled_day[bookings.case[sc]]
    fixed = cases.licence.recall_release_reason[bookings.case[sc]] != 2
    log.add(
        nums,
        times[sc, 0],
        sentence_id=nums,
        booking_id=booking_number[sc],
        offence_code=principal[sc],
        sentence_type_code=DETERMINATE,
        sentence_start_date=start,
        sentence_length_days=np.maximum(sled - start, 1),
        conditional_release_date=(stays.release_day[sc], ~fixed),
    )
    return log.build()


def _add_custodial_sentences(
    log: ChangeLog,
    cases: Cases,
    alloc: IdAllocator,
    bookings: _Bookings,
    stays: _Stays,
    kb: np.ndarray,
    booking_number: np.ndarray,
    times: np.ndarray,
) -> None:
    """Sentences to custody, recorded on admission on sentence, and their recalculations."""
    ss = kb[stays.sentenced_here[kb]]
    nums = alloc.take("sentence", ss.size)
    case = bookings.case[ss]
    slot = np.where(stays.is_remand[ss], 1, 0)
    is_life = stays.is_life[ss]
    log.add(
        nums,
        times[ss, slot],
        sentence_id=nums,
        booking_id=booking_number[ss],
        offence_code=cases.offences.principal[case],
        sentence_type_code=np.where(is_life, LIFE, DETERMINATE),
        sentence_start_date=stays.completion_day[ss],
        sentence_length_days=(stays.sentence_days[ss], is_life),
        conditional_release_date=(cases.custody.crd_initial_day[case], is_life),
    )
    recalc = cases.custody.recalculation_day[case]
    has_recalc = (recalc > 0) & ~is_life
    log.add(
        nums[has_recalc],
        at(recalc[has_recalc], 11 * 3600),
        conditional_release_date=(
            cases.custody.crd_final_day[case][has_recalc],
            np.zeros(int(has_recalc.sum()), dtype=bool),
        ),
    )
