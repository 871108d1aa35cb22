"""Typed records of the simulated cases that :mod:`people` draws and the systems read.

A chunk's cases are held column by column: every field is a NumPy array with one entry per case
(or one row per case and a column per offence or hearing slot), sorted by person then by the
person's case number. Days are day numbers (:mod:`calendar`); ``-1`` means "no such day" unless
a field says otherwise; codes are small integers indexing the tuples of :mod:`people` or the
reference data. The records group what one step of the simulation draws, so that
:mod:`courts`, :mod:`prisons` and :mod:`probation` read ``cases.court.completion_day`` rather
than a string key.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from derived_tables.generator.common import ArrayRecord
from derived_tables.generator.identity import People


@dataclasses.dataclass
class Offences(ArrayRecord):
    """The offences charged in each case, most serious (the principal offence) first."""

    count: np.ndarray  # 1..MAX_OFFENCES
    offence: np.ndarray  # (case, MAX_OFFENCES) index into the offence seed, -1 past `count`
    offence_day: np.ndarray  # (case, MAX_OFFENCES) day the offence was committed

    @property
    def principal(self) -> np.ndarray:
        """The principal (most serious) offence of each case."""
        return self.offence[:, 0]


@dataclasses.dataclass
class CourtRoute(ArrayRecord):
    """Where and when each case was heard."""

    region: np.ndarray  # region of the defendant's home when charged
    is_crown_court: np.ndarray  # sent to the Crown Court after its first hearing
    magistrates_court: np.ndarray  # index into the court seed
    crown_court: np.ndarray  # index into the court seed (used when is_crown_court)
    is_remanded: np.ndarray  # remanded in custody at the first hearing
    first_hearing_day: np.ndarray
    hearing_count: np.ndarray  # 1..MAX_HEARINGS
    hearing_day: np.ndarray  # (case, MAX_HEARINGS) non-decreasing; -1 past `hearing_count`
    completion_day: np.ndarray  # day of the last hearing (the verdict or sentence)


@dataclasses.dataclass
class Outcome(ArrayRecord):
    """How each case ended: verdict and disposal of the principal offence, then of every offence."""

    verdict: np.ndarray  # index into VERDICTS (of the principal offence)
    is_discontinued: np.ndarray  # the prosecution withdrew the case
    is_contested: np.ndarray  # a not-guilty plea or a trial
    disposal: np.ndarray  # index into DISPOSALS, NO_DISPOSAL unless guilty
    length_days: np.ndarray  # custody, suspended or community length; 0 for other disposals
    fine_pounds: np.ndarray  # the fine if the disposal is a fine
    is_murder: np.ndarray  # murder: a life sentence, `length_days` is the minimum tariff
    offence_verdict: np.ndarray  # (case, MAX_OFFENCES), -1 past the offence count
    offence_disposal: np.ndarray  # (case, MAX_OFFENCES), NO_DISPOSAL unless guilty
    offence_length_days: np.ndarray  # (case, MAX_OFFENCES)
    offence_fine_pounds: np.ndarray  # (case, MAX_OFFENCES), 0 unless fined


@dataclasses.dataclass
class Custody(ArrayRecord):
    """Remand, custody and release of each case (release dates as prisons compute them).

    CRD: the conditional release date (automatic release, on licence, part-way through the
    sentence); SLED: the sentence and licence expiry date.
    """

    is_bailed: np.ndarray  # remanded, then bailed before the case completed
    bail_day: np.ndarray
    remand_credit_days: np.ndarray  # days on remand that count towards the sentence
    is_imprisoned: np.ndarray  # sentenced to immediate custody
    is_life_sentence: np.ndarray
    continues_remand: np.ndarray  # sentenced while on remand: the same prison booking goes on
    crd_initial_day: np.ndarray  # CRD as first computed at sentence
    crd_final_day: np.ndarray  # CRD after any recalculation
    recalculation_day: np.ndarray  # when the CRD was recalculated (SDS40, added days), or -1
    sled_day: np.ndarray
    release_day: np.ndarray  # -1 if not imprisoned, NEVER for a life sentence
    release_reason: np.ndarray  # index into RELEASE_REASONS


@dataclasses.dataclass
class Licence(ArrayRecord):
    """Supervision after release: licence, recall to prison and post-sentence supervision."""

    has_licence: np.ndarray
    is_recalled: np.ndarray
    recall_day: np.ndarray
    recall_release_day: np.ndarray  # release after the recall, -1 if not recalled
    recall_release_reason: np.ndarray  # index into RELEASE_REASONS
    licence_end_reason: np.ndarray  # index into TERMINATIONS
    licence_end_day: np.ndarray
    has_pss: np.ndarray  # post-sentence supervision (short sentences): to a year after release
    pss_scheduled_end_day: np.ndarray  # a year after release
    pss_end_reason: np.ndarray  # index into TERMINATIONS
    pss_end_day: np.ndarray


@dataclasses.dataclass
class CommunityOrder(ArrayRecord):
    """The community order or suspended sentence order of each case, if it has one."""

    has_order: np.ndarray
    is_suspended_sentence: np.ndarray  # a suspended sentence order (else a community order)
    length_days: np.ndarray
    end_reason: np.ndarray  # index into TERMINATIONS (revoked on reconviction too)
    end_day: np.ndarray


@dataclasses.dataclass
class Cases(ArrayRecord):
    """Every case of a chunk of people, sorted by person then by the person's case number."""

    person: np.ndarray  # index into the chunk's People
    sequence: np.ndarray  # the person's 0-based case number
    charge_day: np.ndarray
    offences: Offences
    court: CourtRoute
    outcome: Outcome
    custody: Custody
    licence: Licence
    order: CommunityOrder
    free_day: np.ndarray  # when the person is next free to offend (completion or release)
    stops_offending: np.ndarray  # died or serving life: no further case

    @property
    def size(self) -> int:
        """Number of cases."""
        return int(self.person.size)


@dataclasses.dataclass
class Journeys:
    """People of a chunk and their cases."""

    people: People
    cases: Cases
