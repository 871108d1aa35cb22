"""common_platform (criminal courts): defendants, cases, case offences, hearings, outcomes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from derived_tables.generator import calendar as cal
from derived_tables.generator import ids
from derived_tables.generator.cases import Cases, Journeys
from derived_tables.generator.common import (
    TRUTH,
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
    Events,
    Frame,
    Versions,
    date_col,
    format_col,
    int_col,
    lookup,
    lookup_col,
    money_col,
)
from derived_tables.generator.identity import GENDER_CODES, RecordIdentity, record_identities
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
    """The common_platform tables (world rows) for one chunk of journeys.

    The random draws and identifier numbers are taken in a fixed order: defendants, cases,
    case offences, hearings, outcomes.
    """
    cases = journeys.cases
    is_kept = cases.court.completion_day >= cal.DATA_START_DAY
    opens_record = (cases.sequence == 0) | (rng.random(cases.size) < 0.25)
    records = SourceRecords.numbered(opens_record, cases.person, is_kept, alloc, "defendant")
    identity = record_identities(
        journeys.people,
        rng,
        records.person,
        p_nickname=0.05,
        p_typo=0.04,
        p_dob_swap=0.02,
        p_dob_other=0.01,
        p_gender_unknown=0.01,
        p_pnc=0.7,
    )
    charged_at = at(cases.charge_day, cal.office_time(rng, cases.size))
    defendants = _defendants(ref, journeys, rng, records, identity, charged_at)
    r = records.kept
    created_at = charged_at[records.first_entity]
    truth = truth_events(
        person_number[records.person[r]], SYSTEM, DEFENDANT_ID(records.number[r]), created_at[r]
    )
    kept_index = np.flatnonzero(is_kept)
    kept = cases.take(kept_index)
    case_number = alloc.take("case", kept.size)
    defendant_number = records.number[records.record_of_entity[kept_index]]
    opened_at = charged_at[kept_index]
    case_versions = _cases(ref, kept, rng, case_number, defendant_number, opened_at)
    ci, si = np.nonzero(np.arange(MAX_OFFENCES)[None, :] < kept.offences.count[:, None])
    offence_number = alloc.take("case_offence", ci.size)
    return {
        f"{SYSTEM}.defendants": defendants,
        f"{SYSTEM}.cases": case_versions,
        f"{SYSTEM}.case_offences": _case_offences(
            ref, kept, case_number, offence_number, ci, si, opened_at
        ),
        f"{SYSTEM}.hearings": _hearings(ref, kept, rng, alloc, case_number),
        f"{SYSTEM}.outcomes": _outcomes(kept, rng, alloc, offence_number, ci, si),
        TRUTH: truth,
    }


def _defendant_log(ref: Reference) -> ChangeLog:
    """An empty change log of common_platform defendants, with their columns."""
    return ChangeLog(
        {
            "defendant_id": DEFENDANT_ID,
            "pnc_id": pnc_col,
            "first_name": first_name_col,
            "last_name": last_name_col,
            "date_of_birth": date_col,
            "gender_code": lookup(codes(GENDER_CODES)),
            "postcode": lambda v, null: postcode_col(ref, v, null),
        }
    )


def _defendants(
    ref: Reference,
    journeys: Journeys,
    rng: np.random.Generator,
    records: SourceRecords,
    identity: RecordIdentity,
    charged_at: np.ndarray,
) -> Versions:
    """Defendant versions: created at the first charge, a new address at each later charge,
    a corrected first name for a few, and merged (deleted) duplicates."""
    cases = journeys.cases
    postcode = journeys.people.postcode_at(cases.person, cases.charge_day)
    created_at = charged_at[records.first_entity]
    defendants = _defendant_log(ref)
    r = records.kept
    number = records.number
    defendants.add(
        number[r],
        created_at[r],
        defendant_id=number[r],
        **identity_columns(identity, r),
        postcode=postcode[records.first_entity[r]],
    )
    record = records.record_of_entity
    later = records.later_entities()
    defendants.add(number[record[later]], charged_at[later], postcode=postcode[later])
    fix = r[(rng.random(r.size) < 0.02) & (identity.first_name[r] % SLOTS != 0)]
    defendants.add(
        number[fix],
        created_at[fix] + rng.integers(30, 700, fix.size) * 86_400,
        first_name=identity.first_name[fix] - identity.first_name[fix] % SLOTS,
    )
    last_completion = np.zeros(number.size, dtype=np.int64)
    np.maximum.at(last_completion, record, cases.court.completion_day)
    merged = r[~group_first(records.person)[r] & (rng.random(r.size) < 0.2)]
    defendants.add(
        number[merged],
        at(
            last_completion[merged] + rng.integers(30, 400, merged.size),
            cal.office_time(rng, merged.size),
        ),
        deleted=True,
    )
    return defendants.build()


def _cases(
    ref: Reference,
    kept: Cases,
    rng: np.random.Generator,
    case_number: np.ndarray,
    defendant_number: np.ndarray,
    opened_at: np.ndarray,
) -> Versions:
    """Case versions: opened at charge, sent to the Crown Court, completed, a few deleted."""
    m = kept.size
    urn = (
        ((1 + kept.court.region * 4 + rng.integers(0, 4, m)) * 676 + rng.integers(0, 676, m))
        * 100_000
        + rng.integers(0, 100_000, m)
    ) * 100 + cal.year_of(kept.charge_day) % 100
    log = ChangeLog(
        {
            "case_id": CASE_ID,
            "case_urn": lambda v, null: format_col(v, _urn, null),
            "defendant_id": DEFENDANT_ID,
            "court_code": lookup(ref.court_codes),
            "case_status_code": lookup(codes(CASE_STATUSES)),
            "charge_date": date_col,
            "completed_date": date_col,
        }
    )
    log.add(
        case_number,
        opened_at,
        case_id=case_number,
        case_urn=urn,
        defendant_id=defendant_number,
        court_code=kept.court.magistrates_court,
        case_status_code=0,
        charge_date=kept.charge_day,
        completed_date=(np.zeros(m, dtype=np.int64), np.ones(m, dtype=bool)),
    )
    crown = np.flatnonzero(kept.court.is_crown_court)
    log.add(
        case_number[crown],
        at(kept.court.first_hearing_day[crown], rng.integers(14 * 3600, 17 * 3600, crown.size)),
        court_code=kept.court.crown_court[crown],
    )
    completed = kept.court.completion_day
    log.add(
        case_number,
        at(completed, rng.integers(16 * 3600, 19 * 3600, m)),
        case_status_code=np.where(kept.outcome.is_discontinued, 2, 1),
        completed_date=(completed, np.zeros(m, dtype=bool)),
    )
    gone = np.flatnonzero(rng.random(m) < 0.002)
    log.add(
        case_number[gone],
        at(completed[gone] + rng.integers(10, 300, gone.size), 10 * 3600),
        deleted=True,
    )
    return log.build()


def _case_offences(
    ref: Reference,
    kept: Cases,
    case_number: np.ndarray,
    offence_number: np.ndarray,
    ci: np.ndarray,
    si: np.ndarray,
    opened_at: np.ndarray,
) -> Events:
    """One row per offence of a case (``ci``: case, ``si``: offence slot), with the case."""
    return Events(
        Frame(
            case_offence_id=CASE_OFFENCE_ID(offence_number),
            case_id=CASE_ID(case_number[ci]),
            offence_sequence=int_col(si + 1),
            offence_code=lookup_col(kept.offences.offence[ci, si], ref.offence_codes),
            offence_date=date_col(kept.offences.offence_day[ci, si]),
        ),
        opened_at[ci],
    )


def _hearing_types(kept: Cases) -> np.ndarray:
    """(case, hearing) type: first, mentions, a trial if contested, then sentence."""
    m = kept.size
    verdict = kept.outcome.verdict
    contested = kept.outcome.is_contested
    pos = np.arange(MAX_HEARINGS)[None, :]
    last = (kept.court.hearing_count - 1)[:, None]
    guilty = (verdict == GUILTY)[:, None]
    htype = np.full((m, MAX_HEARINGS), MENTION, dtype=np.int64)
    htype[:, 0] = FIRST
    last_type = np.where(
        kept.outcome.is_discontinued,
        MENTION,
        np.where(contested & (verdict != GUILTY), TRIAL, SENTENCE),
    )
    htype = np.where((pos == last) & (pos > 0), last_type[:, None], htype)
    trial_before = contested[:, None] & guilty & (pos == last - 1) & (pos > 0)
    return np.where(trial_before, TRIAL, htype)


def _hearing_statuses(kept: Cases, rng: np.random.Generator, htype: np.ndarray) -> np.ndarray:
    """(case, hearing) status: most early hearings adjourn; trials and the last are effective."""
    m = kept.size
    n_hear = kept.court.hearing_count
    pos = np.arange(MAX_HEARINGS)[None, :]
    u = rng.random((m, MAX_HEARINGS))
    status = np.where(u < 0.78, ADJOURNED, np.where(u < 0.88, VACATED, EFFECTIVE))
    status = np.where(htype == TRIAL, EFFECTIVE, status)
    status[:, 0] = np.where(kept.court.is_crown_court | (n_hear == 1), EFFECTIVE, ADJOURNED)
    return np.where(pos == (n_hear - 1)[:, None], EFFECTIVE, status)


def _listed_minutes(kept: Cases, rng: np.random.Generator, htype: np.ndarray) -> np.ndarray:
    """(case, hearing) minutes listed: short for mentions, longer for sentences and trials."""
    shape = (kept.size, MAX_HEARINGS)
    short = rng.choice(np.array([10, 15, 20, 30]), size=shape)
    sentence_minutes = rng.choice(np.array([20, 30, 45, 60]), size=shape)
    trial_minutes = np.where(
        kept.court.is_crown_court[:, None],
        np.clip(900 * np.exp(0.6 * rng.standard_normal(shape)), 180, 7200),
        np.clip(150 * np.exp(0.4 * rng.standard_normal(shape)), 60, 420),
    )
    return np.select(
        [htype == TRIAL, htype == SENTENCE],
        [np.round(trial_minutes / 15) * 15, sentence_minutes],
        short,
    ).astype(np.int64)


def _hearings(
    ref: Reference,
    kept: Cases,
    rng: np.random.Generator,
    alloc: IdAllocator,
    case_number: np.ndarray,
) -> Events:
    """Every hearing of the cases held within the data, in the case's court of the time."""
    hearing_day = kept.court.hearing_day
    pos = np.arange(MAX_HEARINGS)[None, :]
    htype = _hearing_types(kept)
    status = _hearing_statuses(kept, rng, htype)
    court = np.where(
        kept.court.is_crown_court[:, None] & (pos > 0),
        kept.court.crown_court[:, None],
        kept.court.magistrates_court[:, None],
    )
    minutes = _listed_minutes(kept, rng, htype)
    held = (pos <= (kept.court.hearing_count - 1)[:, None]) & (hearing_day >= cal.DATA_START_DAY)
    hi, hs = np.nonzero(held)
    return Events(
        Frame(
            hearing_id=HEARING_ID(alloc.take("hearing", hi.size)),
            case_id=CASE_ID(case_number[hi]),
            court_code=lookup_col(court[hi, hs], ref.court_codes),
            hearing_type_code=lookup_col(htype[hi, hs], codes(HEARING_TYPES)),
            hearing_status_code=lookup_col(status[hi, hs], codes(HEARING_STATUSES)),
            hearing_date=date_col(hearing_day[hi, hs]),
            listed_minutes=int_col(minutes[hi, hs]),
        ),
        arrival_of_event(rng, hearing_day[hi, hs]),
    )


def _outcomes(
    kept: Cases,
    rng: np.random.Generator,
    alloc: IdAllocator,
    offence_number: np.ndarray,
    ci: np.ndarray,
    si: np.ndarray,
) -> Events:
    """One outcome per case offence (``ci``, ``si``), dated the case's completion."""
    verdict = kept.outcome.offence_verdict[ci, si]
    disposal = kept.outcome.offence_disposal[ci, si]
    length = kept.outcome.offence_length_days[ci, si]
    fine = kept.outcome.offence_fine_pounds[ci, si]
    has_length = np.isin(disposal, [IMPRISONMENT, SUSPENDED, COMMUNITY])
    outcome_day = kept.court.completion_day[ci]
    return Events(
        Frame(
            outcome_id=OUTCOME_ID(alloc.take("outcome", ci.size)),
            case_offence_id=CASE_OFFENCE_ID(offence_number),
            verdict_code=lookup_col(verdict, codes(VERDICTS)),
            disposal_code=lookup_col(np.maximum(disposal, 0), codes(DISPOSALS), disposal < 0),
            sentence_length_days=int_col(length, ~has_length),
            fine_amount=money_col(fine, disposal != FINE),
            outcome_date=date_col(outcome_day),
        ),
        arrival_of_event(rng, outcome_day),
    )
