"""common_platform (criminal courts): defendants, cases, case offences, hearings, outcomes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

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
    Events,
    Frame,
    Versions,
    date_col,
    format_col,
    int_col,
    lookup_col,
    money_col,
)
from derived_tables.generator.identity import GENDER_CODES, record_identities
from derived_tables.generator.names import SLOTS
from derived_tables.generator.people import (
    COMMUNITY,
    DISPOSALS,
    FINE,
    GUILTY,
    IMPRISONMENT,
    MAX_HEARINGS,
    MAX_OFFENCES,
    SUSPENDED,
    VERDICTS,
    Journeys,
)
from derived_tables.generator.reference import Reference

SYSTEM = "common_platform"
CASE_STATUSES = ("OPEN", "COMPLETED", "DISCONTINUED")
HEARING_TYPES = ("FIRST", "MENTION", "TRIAL", "SENTENCE")
FIRST, MENTION, TRIAL, SENTENCE = range(4)
HEARING_STATUSES = ("EFFECTIVE", "ADJOURNED", "VACATED")
EFFECTIVE, ADJOURNED, VACATED = range(3)

DEFENDANT_ID = id_col("CPD", 9, 1)
CASE_ID = id_col("CAS", 9, 2)
CASE_OFFENCE_ID = id_col("CAO", 10, 3)
HEARING_ID = id_col("HRG", 10, 4)
OUTCOME_ID = id_col("OUT", 10, 5)


def _urn(values: np.ndarray) -> pa.Array:
    rest, year = np.divmod(values, 100)
    rest, serial = np.divmod(rest, 100_000)
    force, unit = np.divmod(rest, 676)
    return ids.case_urns(force, unit, serial, year)


def build(
    ref: Reference,
    journeys: Journeys,
    rng: np.random.Generator,
    alloc: IdAllocator,
    person_number: np.ndarray,
) -> dict[str, Events | Versions]:
    """The common_platform tables (world rows) for one chunk of journeys."""
    c = journeys.cases
    people = journeys.people
    n = c["person"].size
    person = c["person"]
    kept = c["completion"] >= cal.DATA_START_DAY

    # ---------------------------------------------------------------- defendant records
    new_record = (c["k"] == 0) | (rng.random(n) < 0.25)
    record = np.cumsum(new_record) - 1
    n_rec = int(new_record.sum())
    rec_person = person[new_record]
    rec_kept = np.zeros(n_rec, dtype=bool)
    rec_kept[record[kept]] = True
    rec_number = np.full(n_rec, -1, dtype=np.int64)
    rec_number[rec_kept] = alloc.take("defendant", int(rec_kept.sum()))
    ident = record_identities(
        people,
        rng,
        rec_person,
        p_nickname=0.05,
        p_typo=0.04,
        p_dob_swap=0.02,
        p_dob_other=0.01,
        p_gender_unknown=0.01,
        p_pnc=0.7,
    )
    charge_time = at(c["charge"], cal.office_time(rng, n))
    postcode = people.postcode_at(person, c["charge"])
    rec_first_case = np.flatnonzero(new_record)
    rec_created = charge_time[rec_first_case]
    rec_last_completion = np.zeros(n_rec, dtype=np.int64)
    np.maximum.at(rec_last_completion, record, c["completion"])
    person_first = np.ones(n_rec, dtype=bool)
    person_first[1:] = rec_person[1:] != rec_person[:-1]

    defendants = ChangeLog(
        {
            "defendant_id": DEFENDANT_ID,
            "pnc_id": pnc_col,
            "first_name": first_name_col,
            "last_name": last_name_col,
            "date_of_birth": date_col,
            "gender_code": lambda v, null: lookup_col(v, codes(GENDER_CODES), null),
            "postcode": lambda v, null: postcode_col(ref, v, null),
        }
    )
    r = np.flatnonzero(rec_kept)
    defendants.add(
        rec_number[r],
        rec_created[r],
        defendant_id=rec_number[r],
        pnc_id=(ident.pnc_year[r] * 10_000_000 + ident.pnc_serial[r], ident.pnc_missing[r]),
        first_name=ident.first_name[r],
        last_name=ident.last_name[r],
        date_of_birth=ident.date_of_birth[r],
        gender_code=ident.gender[r],
        postcode=postcode[rec_first_case[r]],
    )
    later = np.flatnonzero(~new_record & rec_kept[record])
    defendants.add(rec_number[record[later]], charge_time[later], postcode=postcode[later])
    fix = r[(rng.random(r.size) < 0.02) & (ident.first_name[r] % SLOTS != 0)]
    defendants.add(
        rec_number[fix],
        rec_created[fix] + rng.integers(30, 700, fix.size) * 86_400,
        first_name=ident.first_name[fix] - ident.first_name[fix] % SLOTS,
    )
    merged = r[~person_first[r] & (rng.random(r.size) < 0.2)]
    defendants.add(
        rec_number[merged],
        at(
            rec_last_completion[merged] + rng.integers(30, 400, merged.size),
            cal.office_time(rng, merged.size),
        ),
        deleted=True,
    )
    truth = truth_events(
        person_number[rec_person[r]], SYSTEM, DEFENDANT_ID(rec_number[r]), rec_created[r]
    )

    # ---------------------------------------------------------------- cases
    kc = np.flatnonzero(kept)
    m = kc.size
    case_number = alloc.take("case", m)
    region = c["region"][kc]
    urn = (
        ((1 + region * 4 + rng.integers(0, 4, m)) * 676 + rng.integers(0, 676, m)) * 100_000
        + rng.integers(0, 100_000, m)
    ) * 100 + cal.year_of(c["charge"][kc]) % 100
    cases = ChangeLog(
        {
            "case_id": CASE_ID,
            "case_urn": lambda v, null: format_col(v, _urn, null),
            "defendant_id": DEFENDANT_ID,
            "court_code": lambda v, null: lookup_col(v, ref.court_codes, null),
            "case_status_code": lambda v, null: lookup_col(v, codes(CASE_STATUSES), null),
            "charge_date": date_col,
            "completed_date": date_col,
        }
    )
    opened = charge_time[kc]
    cases.add(
        case_number,
        opened,
        case_id=case_number,
        case_urn=urn,
        defendant_id=rec_number[record[kc]],
        court_code=c["mags_court"][kc],
        case_status_code=0,
        charge_date=c["charge"][kc],
        completed_date=(np.zeros(m, dtype=np.int64), np.ones(m, dtype=bool)),
    )
    crown = np.flatnonzero(c["crown"][kc])
    cases.add(
        case_number[crown],
        at(c["first_hearing"][kc][crown], rng.integers(14 * 3600, 17 * 3600, crown.size)),
        court_code=c["crown_court"][kc][crown],
    )
    completed = c["completion"][kc]
    cases.add(
        case_number,
        at(completed, rng.integers(16 * 3600, 19 * 3600, m)),
        case_status_code=np.where(c["discontinued"][kc], 2, 1),
        completed_date=(completed, np.zeros(m, dtype=bool)),
    )
    gone = np.flatnonzero(rng.random(m) < 0.002)
    cases.add(
        case_number[gone],
        at(completed[gone] + rng.integers(10, 300, gone.size), 10 * 3600),
        deleted=True,
    )

    # ---------------------------------------------------------------- case offences
    n_off = c["n_off"][kc]
    slot = np.arange(MAX_OFFENCES)[None, :]
    has = slot < n_off[:, None]
    ci, si = np.nonzero(has)
    co_number = np.full((m, MAX_OFFENCES), -1, dtype=np.int64)
    co_number[ci, si] = alloc.take("case_offence", ci.size)
    case_offences = Events(
        Frame(
            case_offence_id=CASE_OFFENCE_ID(co_number[ci, si]),
            case_id=CASE_ID(case_number[ci]),
            offence_sequence=int_col(si + 1),
            offence_code=lookup_col(c["offence"][kc][ci, si], ref.offence_codes),
            offence_date=date_col(c["offence_date"][kc][ci, si]),
        ),
        opened[ci],
    )

    # ---------------------------------------------------------------- hearings
    hearing = c["hearing"][kc]
    n_hear = c["n_hear"][kc]
    verdict = c["verdict"][kc]
    contested = c["contested"][kc]
    discontinued = c["discontinued"][kc]
    pos = np.arange(MAX_HEARINGS)[None, :]
    last = (n_hear - 1)[:, None]
    guilty = (verdict == GUILTY)[:, None]
    htype = np.full((m, MAX_HEARINGS), MENTION, dtype=np.int64)
    htype[:, 0] = FIRST
    last_type = np.where(
        discontinued, MENTION, np.where(contested & (verdict != GUILTY), TRIAL, SENTENCE)
    )
    htype = np.where((pos == last) & (pos > 0), last_type[:, None], htype)
    trial_before = contested[:, None] & guilty & (pos == last - 1) & (pos > 0)
    htype = np.where(trial_before, TRIAL, htype)
    u = rng.random((m, MAX_HEARINGS))
    status = np.where(u < 0.78, ADJOURNED, np.where(u < 0.88, VACATED, EFFECTIVE))
    status = np.where(htype == TRIAL, EFFECTIVE, status)
    status[:, 0] = np.where(c["crown"][kc] | (n_hear == 1), EFFECTIVE, ADJOURNED)
    status = np.where(pos == last, EFFECTIVE, status)
    crown_case = c["crown"][kc][:, None]
    court = np.where(
        crown_case & (pos > 0), c["crown_court"][kc][:, None], c["mags_court"][kc][:, None]
    )
    short = rng.choice(np.array([10, 15, 20, 30]), size=(m, MAX_HEARINGS))
    sentence_minutes = rng.choice(np.array([20, 30, 45, 60]), size=(m, MAX_HEARINGS))
    trial_minutes = np.where(
        crown_case,
        np.clip(900 * np.exp(0.6 * rng.standard_normal((m, MAX_HEARINGS))), 180, 7200),
        np.clip(150 * np.exp(0.4 * rng.standard_normal((m, MAX_HEARINGS))), 60, 420),
    )
    minutes = np.select(
        [htype == TRIAL, htype == SENTENCE],
        [np.round(trial_minutes / 15) * 15, sentence_minutes],
        short,
    ).astype(np.int64)
    hi, hs = np.nonzero((pos <= last) & (hearing >= cal.DATA_START_DAY))
    hearings = Events(
        Frame(
            hearing_id=HEARING_ID(alloc.take("hearing", hi.size)),
            case_id=CASE_ID(case_number[hi]),
            court_code=lookup_col(court[hi, hs], ref.court_codes),
            hearing_type_code=lookup_col(htype[hi, hs], codes(HEARING_TYPES)),
            hearing_status_code=lookup_col(status[hi, hs], codes(HEARING_STATUSES)),
            hearing_date=date_col(hearing[hi, hs]),
            listed_minutes=int_col(minutes[hi, hs]),
        ),
        arrival_of_event(rng, hearing[hi, hs]),
    )

    # ---------------------------------------------------------------- outcomes
    off_verdict = c["off_verdict"][kc][ci, si]
    off_disposal = c["off_disposal"][kc][ci, si]
    off_length = c["off_length"][kc][ci, si]
    off_fine = c["off_fine"][kc][ci, si]
    has_length = np.isin(off_disposal, [IMPRISONMENT, SUSPENDED, COMMUNITY])
    outcome_day = completed[ci]
    outcomes = Events(
        Frame(
            outcome_id=OUTCOME_ID(alloc.take("outcome", ci.size)),
            case_offence_id=CASE_OFFENCE_ID(co_number[ci, si]),
            verdict_code=lookup_col(off_verdict, codes(VERDICTS)),
            disposal_code=lookup_col(
                np.maximum(off_disposal, 0), codes(DISPOSALS), off_disposal < 0
            ),
            sentence_length_days=int_col(off_length, ~has_length),
            fine_amount=money_col(off_fine, off_disposal != FINE),
            outcome_date=date_col(outcome_day),
        ),
        arrival_of_event(rng, outcome_day),
    )
    return {
        f"{SYSTEM}.defendants": defendants.build(),
        f"{SYSTEM}.cases": cases.build(),
        f"{SYSTEM}.case_offences": case_offences,
        f"{SYSTEM}.hearings": hearings,
        f"{SYSTEM}.outcomes": outcomes,
        TRUTH: truth,
    }
