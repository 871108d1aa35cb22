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

import numpy as np

from derived_tables.generator import calendar as cal
from derived_tables.generator import ids
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
    date_col,
    format_col,
    int_col,
    lookup_col,
)
from derived_tables.generator.identity import (
    GENDER_CODES,
    MAX_MOVES,
    pdu_of_postcode,
    record_identities,
)
from derived_tables.generator.people import TERMINATIONS, Journeys
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


def build(
    ref: Reference,
    journeys: Journeys,
    rng: np.random.Generator,
    alloc: IdAllocator,
    person_number: np.ndarray,
    release_establishment: np.ndarray,
) -> dict[str, Events | Versions]:
    """The delius tables (world rows) for one chunk of journeys."""
    c = journeys.cases
    people = journeys.people
    court = np.where(c["crown"], c["crown_court"], c["mags_court"])

    # ---------------------------------------------------------------- events of four kinds
    o = np.flatnonzero(c["has_order"])
    li = np.flatnonzero(c["has_lic"])
    ps = np.flatnonzero(c["has_pss"])
    case = np.concatenate([o, li, ps])
    otype = np.concatenate(
        [np.where(c["order_is_sso"][o], SSO, CO), np.full(li.size, LIC), np.full(ps.size, PSS)]
    )
    start = np.concatenate([c["completion"][o], c["release"][li], c["sled"][ps]])
    length = np.concatenate(
        [c["order_len"][o], c["sled"][li] - c["release"][li], c["pss_end"][ps] - c["sled"][ps]]
    )
    term_day = np.concatenate(
        [c["order_term_day"][o], c["lic_term_day"][li], c["pss_term_day"][ps]]
    )
    term_reason = np.concatenate(
        [c["order_term_reason"][o], c["lic_term_reason"][li], c["pss_term_reason"][ps]]
    )
    person = c["person"][case]
    order = np.lexsort((otype, start, person))
    case, otype, start, length, term_day, term_reason, person = (
        a[order] for a in (case, otype, start, length, term_day, term_reason, person)
    )
    length = np.maximum(length, 1)
    term_day = np.clip(term_day, start + 1, start + length)
    ne = case.size
    is_order = otype <= SSO
    kept = term_day >= cal.DATA_START_DAY

    # ---------------------------------------------------------------- CRN records
    first_event = np.ones(ne, dtype=bool)
    first_event[1:] = person[1:] != person[:-1]
    new_record = first_event | (rng.random(ne) < 0.03)
    record = np.cumsum(new_record) - 1
    n_rec = int(new_record.sum())
    rec_person = person[new_record]
    rec_kept = np.zeros(n_rec, dtype=bool)
    rec_kept[record[kept]] = True
    rec_number = np.full(n_rec, -1, dtype=np.int64)
    rec_number[rec_kept] = alloc.take("crn", int(rec_kept.sum()))
    ident = record_identities(
        people,
        rng,
        rec_person,
        p_nickname=0.06,
        p_typo=0.03,
        p_dob_swap=0.02,
        p_dob_other=0.01,
        p_gender_unknown=0.005,
        p_pnc=0.6,
    )
    rf = np.flatnonzero(new_record)
    created_day = start[rf] - rng.integers(0, 29, n_rec)
    created = at(created_day, cal.office_time(rng, n_rec))
    rec_end = np.zeros(n_rec, dtype=np.int64)
    np.maximum.at(rec_end, record, term_day)
    start_time = at(start, cal.office_time(rng, ne))
    pdu_at_start = pdu_of_postcode(ref, people.postcode_at(person, start))

    offenders = ChangeLog(
        {
            "crn": crn_col,
            "pnc_id": pnc_col,
            "first_name": first_name_col,
            "last_name": last_name_col,
            "date_of_birth": date_col,
            "gender_code": lambda v, null: lookup_col(v, codes(GENDER_CODES), null),
            "postcode": lambda v, null: postcode_col(ref, v, null),
            "pdu_code": lambda v, null: lookup_col(v, ref.pdu_codes, null),
        }
    )
    r = np.flatnonzero(rec_kept)
    created_postcode = people.postcode_at(rec_person, created_day)
    offenders.add(
        rec_number[r],
        created[r],
        crn=rec_number[r],
        pnc_id=(ident.pnc_year[r] * 10_000_000 + ident.pnc_serial[r], ident.pnc_missing[r]),
        first_name=ident.first_name[r],
        last_name=ident.last_name[r],
        date_of_birth=ident.date_of_birth[r],
        gender_code=ident.gender[r],
        postcode=created_postcode[r],
        pdu_code=pdu_of_postcode(ref, created_postcode[r]),
    )
    # moves while under supervision transfer the case to the new PDU
    for j in range(MAX_MOVES):
        move = people.move_days[rec_person, j]
        sel = r[(move[r] > created_day[r]) & (move[r] < rec_end[r])]
        new_postcode = people.postcodes[rec_person[sel], j + 1]
        offenders.add(
            rec_number[sel],
            at(move[sel] + rng.integers(3, 40, sel.size), 11 * 3600),
            postcode=new_postcode,
            pdu_code=pdu_of_postcode(ref, new_postcode),
        )
    later = np.flatnonzero(~new_record & rec_kept[record])
    later_postcode = people.postcode_at(person[later], start[later])
    offenders.add(
        rec_number[record[later]],
        start_time[later] - 3600,
        postcode=later_postcode,
        pdu_code=pdu_of_postcode(ref, later_postcode),
    )
    dup = r[~np.isin(r, record[first_event]) & (rng.random(r.size) < 0.3)]
    offenders.add(
        rec_number[dup], at(rec_end[dup] + rng.integers(30, 300, dup.size), 10 * 3600), deleted=True
    )
    truth = truth_events(person_number[rec_person[r]], SYSTEM, crn_col(rec_number[r]), created[r])

    # ---------------------------------------------------------------- events
    ke = np.flatnonzero(kept)
    event_number = np.full(ne, -1, dtype=np.int64)
    event_number[ke] = alloc.take("event", ke.size)
    rel_est = release_establishment[case]
    events = ChangeLog(
        {
            "event_id": EVENT_ID,
            "crn": crn_col,
            "order_type_code": lambda v, null: lookup_col(v, codes(ORDER_TYPES), null),
            "offence_code": lambda v, null: lookup_col(v, ref.offence_codes, null),
            "sentencing_court_code": lambda v, null: lookup_col(v, ref.court_codes, null),
            "release_establishment_code": lambda v, null: lookup_col(
                v, ref.establishment_codes, null
            ),
            "pdu_code": lambda v, null: lookup_col(v, ref.pdu_codes, null),
            "event_status_code": lambda v, null: lookup_col(v, codes(EVENT_STATUSES), null),
            "order_start_date": date_col,
            "expected_end_date": date_col,
            "order_length_days": int_col,
        }
    )
    events.add(
        event_number[ke],
        start_time[ke],
        event_id=event_number[ke],
        crn=rec_number[record[ke]],
        order_type_code=otype[ke],
        offence_code=c["offence"][case[ke], 0],
        sentencing_court_code=(court[case[ke]], ~is_order[ke]),
        release_establishment_code=(np.maximum(rel_est[ke], 0), is_order[ke] | (rel_est[ke] < 0)),
        pdu_code=pdu_at_start[ke],
        event_status_code=0,
        order_start_date=start[ke],
        expected_end_date=start[ke] + length[ke],
        order_length_days=length[ke],
    )
    for j in range(MAX_MOVES):
        move = people.move_days[person[ke], j]
        during = (move > start[ke]) & (move + 40 < term_day[ke])
        sel = ke[during]
        new_pdu = pdu_of_postcode(ref, people.postcodes[person[sel], j + 1])
        events.add(
            event_number[sel],
            at(move[during] + rng.integers(3, 40, sel.size), 12 * 3600),
            pdu_code=new_pdu,
        )
    events.add(
        event_number[ke],
        at(term_day[ke], 17 * 3600 + rng.integers(0, 3600, ke.size)),
        event_status_code=1,
    )

    # ---------------------------------------------------------------- terminations
    tk = ke[term_day[ke] >= cal.DATA_START_DAY]
    terminations = Events(
        Frame(
            termination_id=TERMINATION_ID(alloc.take("termination", tk.size)),
            event_id=EVENT_ID(event_number[tk]),
            termination_reason_code=lookup_col(term_reason[tk], codes(TERMINATIONS)),
            termination_date=date_col(term_day[tk]),
        ),
        arrival_of_event(rng, term_day[tk]),
    )

    # ---------------------------------------------------------------- requirements
    kr = ke[is_order[ke]]
    nr = kr.size
    count = np.where(
        otype[kr] == CO,
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
    value = np.select(
        [t == UPW, t == RAR, t == CURFEW, t == DRUG_REHAB, t == ALCOHOL],
        [
            rng.choice(np.arange(40, 310, 10), m, p=_upw_weights()),
            rng.choice(np.array([5, 10, 15, 20, 25, 30, 40, 50, 60]), m),
            rng.integers(1, 13, m),
            rng.integers(6, 25, m),
            rng.integers(3, 13, m),
        ],
        rng.integers(6, 25, m),
    )
    unit = np.select([t == UPW, t == RAR], [0, 1], 2)
    ev = kr[ei]
    req_day = np.minimum(start[ev] + rng.integers(0, 15, m), term_day[ev])
    requirements = Events(
        Frame(
            requirement_id=REQUIREMENT_ID(alloc.take("requirement", m)),
            event_id=EVENT_ID(event_number[ev]),
            requirement_type_code=lookup_col(t, codes(REQUIREMENT_TYPES)),
            length_value=int_col(value),
            length_unit=lookup_col(unit, codes(LENGTH_UNITS)),
            requirement_start_date=date_col(req_day),
        ),
        np.maximum(arrival_of_event(rng, req_day), start_time[ev]),
    )
    return {
        f"{SYSTEM}.offenders": offenders.build(),
        f"{SYSTEM}.events": events.build(),
        f"{SYSTEM}.requirements": requirements,
        f"{SYSTEM}.terminations": terminations,
        TRUTH: truth,
    }


def _upw_weights() -> np.ndarray:
    hours = np.arange(40, 310, 10, dtype=np.float64)
    w = np.exp(-((np.log(hours) - np.log(100)) ** 2) / 0.3)
    return w / w.sum()
