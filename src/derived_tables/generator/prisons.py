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

import numpy as np

from derived_tables.generator import calendar as cal
from derived_tables.generator import ids
from derived_tables.generator.cases import Journeys
from derived_tables.generator.common import (
    TRUTH,
    IdAllocator,
    arrival_of_event,
    at,
    codes,
    first_name_col,
    id_col,
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
    lookup_col,
    timestamp_col,
)
from derived_tables.generator.identity import GENDER_CODES, NEVER, record_identities
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
            "establishment_code": lambda v, null: lookup_col(v, ref.establishment_codes, null),
            "operational_capacity": int_col,
            "certified_normal_accommodation": int_col,
            "security_category_code": lambda v, null: lookup_col(v, codes(CATEGORIES), null),
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


def build(
    ref: Reference,
    journeys: Journeys,
    rng: np.random.Generator,
    alloc: IdAllocator,
    person_number: np.ndarray,
) -> tuple[dict[str, Events | Versions], np.ndarray]:
    """The nomis tables (world rows) for one chunk, and the establishment each case's
    sentence ended in (-1 when none), for probation licences."""
    c = journeys.cases
    people = journeys.people
    n_cases = c.person.size
    estate = _Estate(ref, rng)
    reason = ref.movement_reason

    # ---------------------------------------------------------------- bookings of three kinds
    rem = np.flatnonzero(c.court.is_remanded)
    sen = np.flatnonzero(c.custody.is_imprisoned & ~c.custody.continues_remand)
    rec = np.flatnonzero(c.licence.is_recalled)
    case = np.concatenate([rem, sen, rec])
    kind = np.concatenate(
        [
            np.full(rem.size, KIND_REMAND),
            np.full(sen.size, KIND_SENTENCE),
            np.full(rec.size, KIND_RECALL),
        ]
    )
    start = np.concatenate(
        [c.court.first_hearing_day[rem], c.court.completion_day[sen], c.licence.recall_day[rec]]
    )
    person = c.person[case]
    order = np.lexsort((kind, start, person))
    case, kind, start, person = case[order], kind[order], start[order], person[order]
    nb = case.size
    is_rem, is_sen, is_rec = kind == KIND_REMAND, kind == KIND_SENTENCE, kind == KIND_RECALL
    sentenced_here = is_sen | (is_rem & c.custody.continues_remand[case])
    life = sentenced_here & c.custody.is_life_sentence[case]
    completion = c.court.completion_day[case]

    age = (start - people.date_of_birth[person]) / 365.25
    female = people.is_female[person]
    group = np.where(female, GROUP_FEMALE, np.where(age < 21, GROUP_YOUNG, GROUP_MALE))
    region_at_start = ref.area_region[people.postcode_at(person, start) // 1_000_000]
    reception = np.empty(nb, dtype=np.int64)
    for g, kind_name, home_p in (
        (GROUP_MALE, "LOCAL", HOME_PREFERENCE["LOCAL"]),
        (GROUP_FEMALE, "FEMALE", HOME_PREFERENCE["FEMALE"]),
        (GROUP_YOUNG, "YOI", HOME_PREFERENCE["YOI"]),
    ):
        sel = np.flatnonzero(group == g)
        reception[sel] = estate.choose(kind_name, region_at_start[sel], start[sel], home_p)

    # release
    release = np.select(
        [is_rec, sentenced_here, is_rem & c.custody.is_bailed[case]],
        [c.licence.recall_release_day[case], c.custody.release_day[case], c.custody.bail_day[case]],
        completion,
    )
    release = np.where(life, NEVER, release)
    rel_reason = np.select(
        [
            is_rec & (c.licence.recall_release_reason[case] == 2),
            is_rec,
            sentenced_here & (c.custody.release_reason[case] == 1),
            sentenced_here,
            is_rem & c.custody.is_bailed[case],
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

    # categories
    L = c.outcome.length_days[case]
    category = np.select(
        [
            group == GROUP_FEMALE,
            group == GROUP_YOUNG,
            life & (rng.random(nb) < 0.1),
            life,
            L >= 1461,
        ],
        [CAT_FEMALE, CAT_YOI, CAT_A, CAT_B, np.where(rng.random(nb) < 0.5, CAT_B, CAT_C)],
        np.where(is_rem & ~sentenced_here, CAT_B, CAT_C),
    )
    category = np.where(is_rem, np.where(group == GROUP_MALE, CAT_B, category), category)
    sentence_category = np.select(
        [group != GROUP_MALE, life & (rng.random(nb) < 0.1), life, L >= 1461],
        [category, CAT_A, CAT_B, np.where(rng.random(nb) < 0.5, CAT_B, CAT_C)],
        CAT_C,
    )

    # ---------------------------------------------------------------- movement slots
    day = np.full((nb, SLOTS), -1, dtype=np.int64)
    mtype = np.zeros((nb, SLOTS), dtype=np.int64)
    mreason = np.zeros((nb, SLOTS), dtype=np.int64)
    from_est = np.full((nb, SLOTS), -1, dtype=np.int64)
    to_est = np.full((nb, SLOTS), -1, dtype=np.int64)
    new_cat = np.full((nb, SLOTS), -1, dtype=np.int64)
    hour = np.zeros((nb, SLOTS), dtype=np.int64)

    day[:, 0] = start
    mtype[:, 0] = ADM
    mreason[:, 0] = np.select(
        [is_rem, is_rec], [reason("REMAND"), reason("RECALL")], reason("SENTENCED")
    )
    to_est[:, 0] = reception
    hour[:, 0] = rng.integers(14 * 3600, 19 * 3600, nb)
    cont = is_rem & sentenced_here
    day[cont, 1] = completion[cont]
    mtype[cont, 1] = ADM
    mreason[cont, 1] = reason("SENTENCED")
    to_est[cont, 1] = reception[cont]
    new_cat[cont, 1] = sentence_category[cont]
    hour[:, 1] = rng.integers(16 * 3600, 20 * 3600, nb)

    # transfers during a sentence
    s = np.where(sentenced_here, completion, -1)
    stay = np.where(life, 20 * 365, release - s)
    location = reception.copy()
    cat_now = np.where(cont, sentence_category, category)
    # first transfer: local -> training or high security (adult men), within the estate otherwise
    t1 = sentenced_here & (stay > 90) & (rng.random(nb) < np.where(group == GROUP_MALE, 0.75, 0.2))
    t1_day = (
        s + 14 + (rng.random(nb) * np.maximum(1, np.minimum(120, stay // 2) - 14)).astype(np.int64)
    )
    high = (
        t1
        & (group == GROUP_MALE)
        & (life | ((L >= 1461) & (cat_now <= CAT_B)))
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
            kind_name, location[sel], region_at_start[sel], t1_day[sel], home_p
        )
    t1 &= target >= 0
    day[t1, 2] = t1_day[t1]
    mtype[t1, 2] = TRN
    u = rng.random(nb)
    mreason[:, 2] = np.where(
        high,
        reason("SECURITY"),
        np.select(
            [u < 0.4, u < 0.55, u < 0.7],
            [reason("POPULATION_PRESSURE"), reason("PROGRAMME_PLACE"), reason("CLOSER_TO_HOME")],
            reason("RECATEGORISATION"),
        ),
    )
    from_est[t1, 2] = location[t1]
    to_est[t1, 2] = target[t1]
    new_cat[t1 & (group == GROUP_MALE), 2] = np.where(high, np.minimum(cat_now, CAT_B), CAT_C)[
        t1 & (group == GROUP_MALE)
    ]
    location = np.where(t1, target, location)
    hour[:, 2] = rng.integers(9 * 3600, 15 * 3600, nb)

    # open prison before release for long sentences (category D)
    t_open = t1 & ~life & (group == GROUP_MALE) & (stay > 730) & (rng.random(nb) < 0.35)
    open_day = release - rng.integers(90, 541, nb)
    t_open &= open_day > t1_day + 30
    target = np.full(nb, -1, dtype=np.int64)
    sel = np.flatnonzero(t_open)
    target[sel] = estate.other("OPEN", location[sel], region_at_start[sel], open_day[sel], 0.0)
    t_open &= target >= 0
    # a security transfer for a few others
    t_sec = t1 & ~t_open & (group == GROUP_MALE) & (rng.random(nb) < 0.1)
    gap = np.where(life, 3650, release - t1_day)
    sec_day = t1_day + 30 + (rng.random(nb) * np.maximum(1, gap - 31)).astype(np.int64)
    t_sec &= gap > 61
    sel = np.flatnonzero(t_sec)
    target[sel] = estate.other("TRAINING", location[sel], region_at_start[sel], sec_day[sel], 0.0)
    t_sec &= target >= 0
    third = t_open | t_sec
    day[third, 3] = np.where(t_open, open_day, sec_day)[third]
    mtype[third, 3] = TRN
    mreason[third, 3] = np.where(t_open, reason("RECATEGORISATION"), reason("SECURITY"))[third]
    from_est[third, 3] = location[third]
    to_est[third, 3] = target[third]
    new_cat[t_open, 3] = CAT_D
    location = np.where(third, target, location)
    hour[:, 3] = rng.integers(9 * 3600, 15 * 3600, nb)

    released = release < NEVER
    day[released, REL_SLOT] = release[released]
    mtype[released, REL_SLOT] = REL
    mreason[released, REL_SLOT] = rel_reason[released]
    from_est[released, REL_SLOT] = location[released]
    hour[:, REL_SLOT] = rng.integers(8 * 3600, 11 * 3600 + 1800, nb)

    present = day >= 0
    times = at(np.maximum(day, 0), hour)
    steps = np.arange(SLOTS)[None, :] * 600
    masked = np.where(present, times - steps, np.iinfo(np.int64).min // 2)
    times = np.where(present, np.maximum.accumulate(masked, axis=1) + steps, times)

    kept = release >= cal.DATA_START_DAY
    case_release_est = np.full(n_cases, -1, dtype=np.int64)
    final = sentenced_here & released
    case_release_est[case[final]] = location[final]

    # ---------------------------------------------------------------- prison numbers
    first_booking = np.ones(nb, dtype=bool)
    first_booking[1:] = person[1:] != person[:-1]
    new_record = first_booking | (rng.random(nb) < 0.05)
    record = np.cumsum(new_record) - 1
    n_rec = int(new_record.sum())
    rec_person = person[new_record]
    rec_kept = np.zeros(n_rec, dtype=bool)
    rec_kept[record[kept]] = True
    rec_number = np.full(n_rec, -1, dtype=np.int64)
    rec_number[rec_kept] = alloc.take("prison_number", int(rec_kept.sum()))
    ident = record_identities(
        people,
        rng,
        rec_person,
        p_nickname=0.03,
        p_typo=0.03,
        p_dob_swap=0.01,
        p_dob_other=0.01,
        p_gender_unknown=0.0,
        p_pnc=0.9,
    )
    postcode = people.postcode_at(person, start)
    nfa = rng.random(nb) < 0.04
    offenders = ChangeLog(
        {
            "prison_number": prison_number_col,
            "pnc_id": pnc_col,
            "first_name": lambda v, null: first_name_col(v, null, upper=True),
            "last_name": lambda v, null: last_name_col(v, null, upper=True),
            "date_of_birth": date_col,
            "gender_code": lambda v, null: lookup_col(v, codes(GENDER_CODES), null),
            "postcode": lambda v, null: postcode_col(ref, v, null),
            "security_category_code": lambda v, null: lookup_col(v, codes(CATEGORIES), null),
        }
    )
    rb = np.flatnonzero(new_record)  # first booking of each record
    r = np.flatnonzero(rec_kept)
    created = times[rb, 0]
    offenders.add(
        rec_number[r],
        created[r],
        prison_number=rec_number[r],
        pnc_id=(ident.pnc_year[r] * 10_000_000 + ident.pnc_serial[r], ident.pnc_missing[r]),
        first_name=ident.first_name[r],
        last_name=ident.last_name[r],
        date_of_birth=ident.date_of_birth[r],
        gender_code=ident.gender[r],
        postcode=(postcode[rb[r]], nfa[rb[r]]),
        security_category_code=category[rb[r]],
    )
    later = np.flatnonzero(~new_record & rec_kept[record])
    offenders.add(
        rec_number[record[later]],
        times[later, 0],
        postcode=(postcode[later], nfa[later]),
        security_category_code=category[later],
    )
    for slot in (1, 2, 3):
        sel = np.flatnonzero(present[:, slot] & (new_cat[:, slot] >= 0) & rec_kept[record])
        offenders.add(
            rec_number[record[sel]], times[sel, slot], security_category_code=new_cat[sel, slot]
        )
    dup = r[~np.isin(r, record[first_booking]) & (rng.random(r.size) < 0.3)]
    last_release = np.zeros(n_rec, dtype=np.int64)
    np.maximum.at(last_release, record, np.where(released, release, NEVER))
    dup = dup[last_release[dup] < NEVER]
    offenders.add(
        rec_number[dup],
        at(last_release[dup] + rng.integers(30, 300, dup.size), 10 * 3600),
        deleted=True,
    )
    truth = truth_events(
        person_number[rec_person[r]], SYSTEM, prison_number_col(rec_number[r]), created[r]
    )

    # ---------------------------------------------------------------- bookings
    kb = np.flatnonzero(kept)
    booking_number = np.full(nb, -1, dtype=np.int64)
    booking_number[kb] = alloc.take("booking", kb.size)
    bookings = ChangeLog(
        {
            "booking_id": BOOKING_ID,
            "prison_number": prison_number_col,
            "establishment_code": lambda v, null: lookup_col(v, ref.establishment_codes, null),
            "booking_status_code": lambda v, null: lookup_col(v, codes(BOOKING_STATUSES), null),
            "booking_start_date": date_col,
            "booking_end_date": date_col,
        }
    )
    bookings.add(
        booking_number[kb],
        times[kb, 0],
        booking_id=booking_number[kb],
        prison_number=rec_number[record[kb]],
        establishment_code=reception[kb],
        booking_status_code=0,
        booking_start_date=start[kb],
        booking_end_date=(np.zeros(kb.size, dtype=np.int64), np.ones(kb.size, dtype=bool)),
    )
    closed = kb[released[kb]]
    bookings.add(
        booking_number[closed],
        times[closed, REL_SLOT],
        booking_status_code=1,
        booking_end_date=(release[closed], np.zeros(closed.size, dtype=bool)),
    )

    # ---------------------------------------------------------------- movements
    bi, si = np.nonzero(present & kept[:, None] & (day >= cal.DATA_START_DAY))
    movements = Events(
        Frame(
            movement_id=MOVEMENT_ID(alloc.take("movement", bi.size)),
            booking_id=BOOKING_ID(booking_number[bi]),
            prison_number=prison_number_col(rec_number[record[bi]]),
            movement_type_code=lookup_col(mtype[bi, si], codes(MOVEMENT_TYPES)),
            movement_reason_code=lookup_col(mreason[bi, si], ref.movement_reason_codes),
            from_establishment_code=lookup_col(
                np.maximum(from_est[bi, si], 0), ref.establishment_codes, from_est[bi, si] < 0
            ),
            to_establishment_code=lookup_col(
                np.maximum(to_est[bi, si], 0), ref.establishment_codes, to_est[bi, si] < 0
            ),
            movement_at=timestamp_col(times[bi, si]),
        ),
        np.maximum(arrival_of_event(rng, day[bi, si]), times[bi, si]),
    )

    # ---------------------------------------------------------------- sentences
    principal = c.offences.offence[case, 0]
    sentences = ChangeLog(
        {
            "sentence_id": SENTENCE_ID,
            "booking_id": BOOKING_ID,
            "offence_code": lambda v, null: lookup_col(v, ref.offence_codes, null),
            "sentence_type_code": lambda v, null: lookup_col(v, codes(SENTENCE_TYPES), null),
            "sentence_start_date": date_col,
            "sentence_length_days": int_col,
            "conditional_release_date": date_col,
        }
    )
    no_date = np.ones(nb, dtype=bool)
    # remand
    sr = kb[is_rem[kb]]
    nums = alloc.take("sentence", sr.size)
    sentences.add(
        nums,
        times[sr, 0],
        sentence_id=nums,
        booking_id=booking_number[sr],
        offence_code=principal[sr],
        sentence_type_code=REMAND,
        sentence_start_date=start[sr],
        sentence_length_days=(np.zeros(sr.size, dtype=np.int64), no_date[sr]),
        conditional_release_date=(np.zeros(sr.size, dtype=np.int64), no_date[sr]),
    )
    # sentenced to custody (determinate or life)
    ss = kb[sentenced_here[kb]]
    nums = alloc.take("sentence", ss.size)
    slot = np.where(is_rem[ss], 1, 0)
    crd_initial = c.custody.crd_initial_day[case[ss]]
    is_life = life[ss]
    sentences.add(
        nums,
        times[ss, slot],
        sentence_id=nums,
        booking_id=booking_number[ss],
        offence_code=principal[ss],
        sentence_type_code=np.where(is_life, LIFE, DETERMINATE),
        sentence_start_date=completion[ss],
        sentence_length_days=(L[ss], is_life),
        conditional_release_date=(crd_initial, is_life),
    )
    recalc = c.custody.recalculation_day[case[ss]]
    has_recalc = (recalc > 0) & ~is_life
    sentences.add(
        nums[has_recalc],
        at(recalc[has_recalc], 11 * 3600),
        conditional_release_date=(
            c.custody.crd_final_day[case[ss]][has_recalc],
            np.zeros(int(has_recalc.sum()), dtype=bool),
        ),
    )
    # recall
    sc = kb[is_rec[kb]]
    nums = alloc.take("sentence", sc.size)
    sled = c.custody.sled_day[case[sc]]
    fixed = c.licence.recall_release_reason[case[sc]] != 2
    sentences.add(
        nums,
        times[sc, 0],
        sentence_id=nums,
        booking_id=booking_number[sc],
        offence_code=principal[sc],
        sentence_type_code=DETERMINATE,
        sentence_start_date=start[sc],
        sentence_length_days=np.maximum(sled - start[sc], 1),
        conditional_release_date=(release[sc], ~fixed),
    )

    tables: dict[str, Events | Versions] = {
        f"{SYSTEM}.offenders": offenders.build(),
        f"{SYSTEM}.bookings": bookings.build(),
        f"{SYSTEM}.movements": movements,
        f"{SYSTEM}.sentences": sentences.build(),
        TRUTH: truth,
    }
    return tables, case_release_est
