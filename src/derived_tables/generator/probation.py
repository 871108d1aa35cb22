"""delius (probation): offenders (CRN), events (orders and licences), requirements, terminations.

Community orders (``CO``) and suspended sentence orders (``SSO``) start on the day of the court
outcome, with requirements; a licence (``LIC``) starts on the day of release from prison and runs
to the sentence expiry date, followed for sentences under two years by post-sentence supervision
(``PSS``) up to a year after release. Orders end with a termination (completed, early for good
progress, revoked on breach or reconviction, recalled to prison, deceased); the event then gets a
``TERMINATED`` version. People who move are transferred to the probation delivery unit (PDU) of
their new address, which versions both the offender and their active events.
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
    date_col,
    format_col,
    int_col,
    lookup,
    lookup_col,
)
from derived_tables.generator.identity import (
    GENDER_CODES,
    MAX_MOVES,
    People,
    RecordIdentity,
    pdu_of_postcode,
    record_identities,
)
from derived_tables.generator.people import TERMINATIONS
from derived_tables.generator.reference import Reference

SYSTEM = "delius"
ORDER_TYPES = ("CO", "SSO", "LIC", "PSS")
CO, SSO, LIC, PSS = range(4)
EVENT_STATUSES = ("ACTIVE", "TERMINATED")
REQUIREMENT_TYPES = ("UPW", "RAR", "CURFEW", "DRUG_REHAB", "ALCOHOL_TREATMENT", "MENTAL_HEALTH")
REQUIREMENT_WEIGHTS = np.array([0.40, 0.33, 0.10, 0.07, 0.06, 0.04])
UPW, RAR, CURFEW, DRUG_REHAB, ALCOHOL, MENTAL_HEALTH = range(6)
LENGTH_UNITS = ("HOURS", "DAYS", "MONTHS")
MAX_REQUIREMENTS = 3

EVENT_ID = id_col("EV", 9, 21)
REQUIREMENT_ID = id_col("RQ", 9, 22)
TERMINATION_ID = id_col("TM", 9, 23)


def crn_col(values: np.ndarray, null: np.ndarray | None = None) -> Column:
    """Case reference numbers ``X123456`` from their numbers."""
    return format_col(values, ids.crns, null)


@dataclass
class _SupervisionEvents(ArrayRecord):
    """The supervision events of a chunk's cases (community and suspended sentence orders,
    licences, post-sentence supervision), sorted by person, start and type."""

    case: np.ndarray  # index into the chunk's cases
    order_type: np.ndarray  # index into ORDER_TYPES
    start_day: np.ndarray
    length_days: np.ndarray  # at least 1
    end_day: np.ndarray  # termination, within (start, start + length]
    end_reason: np.ndarray  # index into TERMINATIONS
    person: np.ndarray

    @property
    def size(self) -> int:
        """Number of events."""
        return int(self.case.size)

    @property
    def is_order(self) -> np.ndarray:
        """A community or suspended sentence order (made by a court)."""
        return self.order_type <= SSO


def build(
    ref: Reference,
    journeys: Journeys,
    rng: np.random.Generator,
    alloc: IdAllocator,
    person_number: np.ndarray,
    release_establishment: np.ndarray,
) -> dict[str, Events | Versions]:
    """The delius tables (world rows) for one chunk of journeys.

    The random draws and identifier numbers are taken in a fixed order: offender records,
    offenders, events, terminations, requirements.
    """
    people = journeys.people
    events = _supervision_events(journeys.cases)
    opens_record = group_first(events.person) | (rng.random(events.size) < 0.03)
    kept_event = events.end_day >= cal.DATA_START_DAY
    records = SourceRecords.numbered(opens_record, events.person, kept_event, alloc, "crn")
    identity = record_identities(
        people,
        rng,
        records.person,
        p_nickname=0.06,
        p_typo=0.03,
        p_dob_swap=0.02,
        p_dob_other=0.01,
        p_gender_unknown=0.005,
        p_pnc=0.6,
    )
    n_rec = records.number.size
    created_day = events.start_day[records.first_entity] - rng.integers(0, 29, n_rec)
    created_at = at(created_day, cal.office_time(rng, n_rec))
    start_at = at(events.start_day, cal.office_time(rng, events.size))
    offenders = _offenders(ref, people, rng, events, records, identity, created_day, created_at)
    _add_offender_changes(ref, people, rng, offenders, events, records, created_day, start_at)
    r = records.kept
    truth = truth_events(
        person_number[records.person[r]], SYSTEM, crn_col(records.number[r]), created_at[r]
    )
    kept = np.flatnonzero(events.end_day >= cal.DATA_START_DAY)
    event_number = np.full(events.size, -1, dtype=np.int64)
    event_number[kept] = alloc.take("event", kept.size)
    event_log = _events(
        ref, journeys, rng, events, kept, event_number, records, release_establishment, start_at
    )
    terminations = _terminations(rng, alloc, events, kept, event_number)
    return {
        f"{SYSTEM}.offenders": offenders.build(),
        f"{SYSTEM}.events": event_log.build(),
        f"{SYSTEM}.requirements": _requirements(rng, alloc, events, kept, event_number, start_at),
        f"{SYSTEM}.terminations": terminations,
        TRUTH: truth,
    }


def _supervision_events(cases: Cases) -> _SupervisionEvents:
    """One event per order, licence and period of post-sentence supervision of the cases."""
    o = np.flatnonzero(cases.order.has_order)
    li = np.flatnonzero(cases.licence.has_licence)
    ps = np.flatnonzero(cases.licence.has_pss)
    custody, licence = cases.custody, cases.licence
    case = np.concatenate([o, li, ps])
    events = _SupervisionEvents(
        case=case,
        order_type=np.concatenate(
            [
                np.where(cases.order.is_suspended_sentence[o], SSO, CO),
                np.full(li.size, LIC),
                np.full(ps.size, PSS),
            ]
        ),
        start_day=np.concatenate(
            [cases.court.completion_day[o], custody.release_day[li], custody.sled_day[ps]]
        ),
        length_days=np.concatenate(
            [
                cases.order.length_days[o],
                custody.sled_day[li] - custody.release_day[li],
                licence.pss_scheduled_end_day[ps] - custody.sled_day[ps],
            ]
        ),
        end_day=np.concatenate(
            [cases.order.end_day[o], licence.licence_end_day[li], licence.pss_end_day[ps]]
        ),
        end_reason=np.concatenate(
            [cases.order.end_reason[o], licence.licence_end_reason[li], licence.pss_end_reason[ps]]
        ),
        person=cases.person[case],
    )
    events = events.take(np.lexsort((events.order_type, events.start_day, events.person)))
    events.length_days = np.maximum(events.length_days, 1)
    events.end_day = np.clip(
        events.end_day, events.start_day + 1, events.start_day + events.length_days
    )
    return events


def _offenders(
    ref: Reference,
    people: People,
    rng: np.random.Generator,
    events: _SupervisionEvents,
    records: SourceRecords,
    identity: RecordIdentity,
    created_day: np.ndarray,
    created_at: np.ndarray,
) -> ChangeLog:
    """The first version of each offender record delivered, as created before its event."""
    offenders = ChangeLog(
        {
            "crn": crn_col,
            "pnc_id": pnc_col,
            "first_name": first_name_col,
            "last_name": last_name_col,
            "date_of_birth": date_col,
            "gender_code": lookup(codes(GENDER_CODES)),
            "postcode": lambda v, null: postcode_col(ref, v, null),
            "pdu_code": lookup(ref.pdu_codes),
        }
    )
    r = records.kept
    number = records.number
    created_postcode = people.postcode_at(records.person, created_day)
    offenders.add(
        number[r],
        created_at[r],
        crn=number[r],
        **identity_columns(identity, r),
        postcode=created_postcode[r],
        pdu_code=pdu_of_postcode(ref, created_postcode[r]),
    )
    return offenders


def _add_offender_changes(
    ref: Reference,
    people: People,
    rng: np.random.Generator,
    offenders: ChangeLog,
    events: _SupervisionEvents,
    records: SourceRecords,
    created_day: np.ndarray,
    start_at: np.ndarray,
) -> None:
    """Later offender versions: moves (a transfer to the new PDU), the address at each later
    event, and merged (deleted) duplicate records."""
    r, number, person = records.kept, records.number, records.person
    record = records.record_of_entity
    record_end = np.zeros(number.size, dtype=np.int64)
    np.maximum.at(record_end, record, events.end_day)
    # moves while under supervision transfer the case to the new PDU
    for j in range(MAX_MOVES):
        move = people.move_days[person, j]
        sel = r[(move[r] > created_day[r]) & (move[r] < record_end[r])]
        new_postcode = people.postcodes[person[sel], j + 1]
        offenders.add(
            number[sel],
            at(move[sel] + rng.integers(3, 40, sel.size), 11 * 3600),
            postcode=new_postcode,
            pdu_code=pdu_of_postcode(ref, new_postcode),
        )
    later = records.later_entities()
    later_postcode = people.postcode_at(events.person[later], events.start_day[later])
    offenders.add(
        number[record[later]],
        start_at[later] - 3600,
        postcode=later_postcode,
        pdu_code=pdu_of_postcode(ref, later_postcode),
    )
    persons_first = record[group_first(events.person)]
    dup = r[~np.isin(r, persons_first) & (rng.random(r.size) < 0.3)]
    offenders.add(
        number[dup], at(record_end[dup] + rng.integers(30, 300, dup.size), 10 * 3600), deleted=True
    )


def _event_log(ref: Reference) -> ChangeLog:
    """An empty change log of delius events, with their columns."""
    return ChangeLog(
        {
            "event_id": EVENT_ID,
            "crn": crn_col,
            "order_type_code": lookup(codes(ORDER_TYPES)),
            "offence_code": lookup(ref.offence_codes),
            "sentencing_court_code": lookup(ref.court_codes),
            "release_establishment_code": lookup(ref.establishment_codes),
            "pdu_code": lookup(ref.pdu_codes),
            "event_status_code": lookup(codes(EVENT_STATUSES)),
            "order_start_date": date_col,
            "expected_end_date": date_col,
            "order_length_days": int_col,
        }
    )


def _events(
    ref: Reference,
    journeys: Journeys,
    rng: np.random.Generator,
    events: _SupervisionEvents,
    kept: np.ndarray,
    event_number: np.ndarray,
    records: SourceRecords,
    release_establishment: np.ndarray,
    start_at: np.ndarray,
) -> ChangeLog:
    """Event versions: started, transferred when the person moves, terminated."""
    cases, people = journeys.cases, journeys.people
    court = np.where(
        cases.court.is_crown_court, cases.court.crown_court, cases.court.magistrates_court
    )
    log = _event_log(ref)
    ke = kept
    case, start, length = events.case[ke], events.start_day[ke], events.length_days[ke]
    is_order = events.is_order[ke]
    released_from = release_establishment[case]
    log.add(
        event_number[ke],
        start_at[ke],
        event_id=event_number[ke],
        crn=records.number[records.record_of_entity[ke]],
        order_type_code=events.order_type[ke],
        offence_code=cases.offences.principal[case],
        sentencing_court_code=(court[case], ~is_order),
        release_establishment_code=(
            np.maximum(released_from, 0),
            is_order | (released_from < 0),
        ),
        pdu_code=pdu_of_postcode(ref, people.postcode_at(events.person[ke], start)),
        event_status_code=0,
        order_start_date=start,
        expected_end_date=start + length,
        order_length_days=length,
    )
    for j in range(MAX_MOVES):
        move = people.move_days[events.person[ke], j]
        during = (move > start) & (move + 40 < events.end_day[ke])
        sel = ke[during]
        new_pdu = pdu_of_postcode(ref, people.postcodes[events.person[sel], j + 1])
        log.add(
            event_number[sel],
            at(move[during] + rng.integers(3, 40, sel.size), 12 * 3600),
            pdu_code=new_pdu,
        )
    log.add(
        event_number[ke],
        at(events.end_day[ke], 17 * 3600 + rng.integers(0, 3600, ke.size)),
        event_status_code=1,
    )
    return log


def _terminations(
    rng: np.random.Generator,
    alloc: IdAllocator,
    events: _SupervisionEvents,
    kept: np.ndarray,
    event_number: np.ndarray,
) -> Events:
    """One termination per event delivered, dated its end."""
    tk = kept[events.end_day[kept] >= cal.DATA_START_DAY]
    return Events(
        Frame(
            termination_id=TERMINATION_ID(alloc.take("termination", tk.size)),
            event_id=EVENT_ID(event_number[tk]),
            termination_reason_code=lookup_col(events.end_reason[tk], codes(TERMINATIONS)),
            termination_date=date_col(events.end_day[tk]),
        ),
        arrival_of_event(rng, events.end_day[tk]),
    )


def _requirements(
    rng: np.random.Generator,
    alloc: IdAllocator,
    events: _SupervisionEvents,
    kept: np.ndarray,
    event_number: np.ndarray,
    start_at: np.ndarray,
) -> Events:
    """Requirements of the orders delivered: one to three for a community order, up to two
    for a suspended sentence order, of distinct types."""
    kr = kept[events.is_order[kept]]
    nr = kr.size
    count = np.where(
        events.order_type[kr] == CO,
        1 + (rng.random(nr) < 0.45) + (rng.random(nr) < 0.15),
        (rng.random(nr) < 0.8).astype(np.int64) + (rng.random(nr) < 0.3),
    )
    gumbel = np.log(REQUIREMENT_WEIGHTS)[None, :] - np.log(
        -np.log(rng.random((nr, REQUIREMENT_WEIGHTS.size)))
    )
    rtype = np.argsort(-gumbel, axis=1)[:, :MAX_REQUIREMENTS]
    ei, ri = np.nonzero(np.arange(MAX_REQUIREMENTS)[None, :] < count[:, None])
    t = rtype[ei, ri]
    m = t.size
    value = _requirement_lengths(rng, t)
    unit = np.select([t == UPW, t == RAR], [0, 1], 2)
    ev = kr[ei]
    req_day = np.minimum(events.start_day[ev] + rng.integers(0, 15, m), events.end_day[ev])
    return Events(
        Frame(
            requirement_id=REQUIREMENT_ID(alloc.take("requirement", m)),
            event_id=EVENT_ID(event_number[ev]),
            requirement_type_code=lookup_col(t, codes(REQUIREMENT_TYPES)),
            length_value=int_col(value),
            length_unit=lookup_col(unit, codes(LENGTH_UNITS)),
            requirement_start_date=date_col(req_day),
        ),
        np.maximum(arrival_of_event(rng, req_day), start_at[ev]),
    )


def _requirement_lengths(rng: np.random.Generator, rtype: np.ndarray) -> np.ndarray:
    """Length of each requirement in its unit: UPW hours, RAR days, months otherwise."""
    m = rtype.size
    return np.select(
        [rtype == UPW, rtype == RAR, rtype == CURFEW, rtype == DRUG_REHAB, rtype == ALCOHOL],
        [
            rng.choice(np.arange(40, 310, 10), m, p=_upw_weights()),
            rng.choice(np.array([5, 10, 15, 20, 25, 30, 40, 50, 60]), m),
            rng.integers(1, 13, m),
            rng.integers(6, 25, m),
            rng.integers(3, 13, m),
        ],
        rng.integers(6, 25, m),
    )


def _upw_weights() -> np.ndarray:
    hours = np.arange(40, 310, 10, dtype=np.float64)
    w = np.exp(-((np.log(hours) - np.log(100)) ** 2) / 0.3)
    return w / w.sum()
