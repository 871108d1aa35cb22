"""The offender population: people and their journeys through courts, prisons and probation.

One chunk of people is simulated at a time, each with its own random generator, so memory stays
bounded and the result does not depend on how many chunks there are before it. A person's cases
follow one another (loop over the case number ``k``, vectorised over people): the next offence
comes after the person is free again (case completed, or released from prison). Each case
carries everything the three systems need: offences, hearing dates, verdicts, disposals, remand
and custody (conditional release date, release), licence and recall, community orders and their
terminations, as the typed records of :mod:`cases`. :mod:`courts`, :mod:`prisons` and
:mod:`probation` turn the journeys into curated tables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from derived_tables.generator import calendar as cal
from derived_tables.generator.cases import (
    Cases,
    CommunityOrder,
    CourtRoute,
    Custody,
    Journeys,
    Licence,
    Offences,
    Outcome,
)
from derived_tables.generator.identity import NEVER, People, make_people, region_of_postcode
from derived_tables.generator.reference import Reference

# People appearing in court for the first time in the world, per year, at scale 1.
OFFENDERS_PER_YEAR = 10_500
OFFENDER_YEAR_FACTOR = {
    2017: 1.0,
    2018: 1.0,
    2019: 1.0,
    2020: 0.82,
    2021: 0.93,
    2022: 0.98,
    2023: 1.0,
    2024: 1.02,
}
CHUNK_PEOPLE = 20_000
MAX_CASES = 8
MAX_OFFENCES = 5
MAX_HEARINGS = 10

# Codes used as small integers inside the generator.
VERDICTS = ("GUILTY", "NOT_GUILTY", "WITHDRAWN", "DISMISSED")
GUILTY, NOT_GUILTY, WITHDRAWN, DISMISSED = range(4)
DISPOSALS = ("IMPRISONMENT", "SUSPENDED", "COMMUNITY", "FINE", "DISCHARGE")
IMPRISONMENT, SUSPENDED, COMMUNITY, FINE, DISCHARGE = range(5)
NO_DISPOSAL = -1
RELEASE_REASONS = ("CONDITIONAL_RELEASE", "HOME_DETENTION_CURFEW", "SENTENCE_EXPIRY")
TERMINATIONS = (
    "COMPLETED",
    "EARLY_GOOD_PROGRESS",
    "REVOKED_BREACH",
    "REVOKED_RECONVICTION",
    "RECALLED",
    "DECEASED",
)
T_COMPLETED, T_EARLY, T_BREACH, T_RECONVICTION, T_RECALLED, T_DECEASED = range(6)

# Disposal mix of the principal offence by severity band: not imprisonable, summary, either way
# up to 7 years, either way over 7 years, indictable only.
DISPOSAL_P = np.array(
    [
        [0.00, 0.00, 0.00, 0.86, 0.14],
        [0.04, 0.05, 0.13, 0.64, 0.14],
        [0.11, 0.14, 0.25, 0.38, 0.12],
        [0.30, 0.22, 0.22, 0.20, 0.06],
        [0.62, 0.16, 0.12, 0.07, 0.03],
    ]
)
CUSTODY_MEDIAN_DAYS = np.array([0, 56, 150, 540, 1460], dtype=np.float64)
FINE_MEDIAN_POUNDS = np.array([180, 250, 400, 800, 1500], dtype=np.float64)
# Median days from offence to charge, by offence category (seed order).
CHARGE_LAG_BY_CATEGORY = {
    "Violence against the person": 12,
    "Sexual offences": 220,
    "Robbery": 20,
    "Theft offences": 9,
    "Fraud offences": 140,
    "Criminal damage and arson": 10,
    "Drug offences": 35,
    "Possession of weapons": 4,
    "Public order offences": 6,
    "Miscellaneous crimes against society": 15,
    "Summary motoring": 30,
    "Summary non-motoring": 60,
}
# Court backlogs: multiplier of the time from first hearing to completion, by year.
BACKLOG = {
    2017: 0.9,
    2018: 0.9,
    2019: 0.95,
    2020: 1.35,
    2021: 1.55,
    2022: 1.5,
    2023: 1.45,
    2024: 1.4,
    2025: 1.35,
}
REOFFEND_P = (0.42, 0.5, 0.55, 0.58, 0.6, 0.6, 0.6, 0.6)

D = cal.to_days
SDS40_DAY = D(dt.date(2024, 9, 10))
SDS40_TRANCHE2_DAY = D(dt.date(2024, 10, 22))
TWO_THIRDS_FROM = D(dt.date(2020, 4, 1))
TWO_THIRDS_WIDER_FROM = D(dt.date(2022, 6, 28))
MAGS_12_MONTHS = (
    (D(dt.date(2022, 5, 2)), D(dt.date(2023, 3, 29))),
    (D(dt.date(2024, 11, 18)), cal.WORLD_END_DAY + 5000),
)


def offenders_in_year(year: int, scale: float) -> int:
    """People first appearing in court in ``year`` at ``scale``."""
    factor = OFFENDER_YEAR_FACTOR.get(year, 1.0 if year < 2017 else 1.03)
    return round(OFFENDERS_PER_YEAR * scale * factor)


def chunk_sizes(total: int, chunk: int) -> list[int]:
    """Split ``total`` into nearly equal chunks of at most ``chunk``."""
    if total <= 0:
        return []
    parts = -(-total // chunk)
    base, extra = divmod(total, parts)
    return [base + (i < extra) for i in range(parts)]


def _lognormal(
    rng: np.random.Generator, median: np.ndarray | float, sigma: float, n: int
) -> np.ndarray:
    return np.asarray(median, dtype=np.float64) * np.exp(sigma * rng.standard_normal(n))


def _by_year(table: dict[int, float], days: np.ndarray, default: float) -> np.ndarray:
    years = cal.year_of(days)
    out = np.full(years.shape, default, dtype=np.float64)
    for year, value in table.items():
        out[years == year] = value
    first = min(table)
    out[years < first] = table[first]  # before the table: as in its first year
    return out


def _round_sentence(days: np.ndarray) -> np.ndarray:
    """Sentences are given in weeks under a year, in months above."""
    weeks = np.maximum(1, np.round(days / 7)) * 7
    months = np.round(days / 30.4375) * 30.4375
    return np.where(days < 365, weeks, np.round(months)).astype(np.int64)


def _pick_by_region(
    rng: np.random.Generator,
    region: np.ndarray,
    candidates: np.ndarray,
    cand_region: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:
    """One of ``candidates`` in each row's region, drawn with ``weights``."""
    out = np.empty(region.size, dtype=np.int64)
    for r in np.unique(region):
        sel = np.flatnonzero(region == r)
        pool = candidates[cand_region[candidates] == r]
        w = weights[pool] / weights[pool].sum()
        out[sel] = rng.choice(pool, size=sel.size, p=w)
    return out


def simulate(ref: Reference, rng: np.random.Generator, year: int, n: int) -> Journeys | None:
    """People first charged in ``year`` and all their cases (into the future); None if nobody
    is charged within the world."""
    first_charge = cal.seasonal_days_in_year(year, n, rng, weekend_weight=0.8)
    age = np.clip(18 + rng.gamma(1.5, 9.0, n), 18, 85)
    people = make_people(
        ref,
        rng,
        n,
        first_charge,
        age,
        female_share=0.16,
        region_weights=ref.region_population.astype(np.float64),
        moves_p=(0.45, 0.30, 0.17, 0.08),
        move_span=(-400, 3650),
    )
    sim = _CaseSimulator(ref, rng, people)
    parts: list[Cases] = []
    active = np.ones(n, dtype=bool)
    free_day = first_charge.copy()
    for k in range(MAX_CASES):
        who = np.flatnonzero(active)
        if who.size == 0:
            break
        charge = first_charge[who] if k == 0 else _next_charge_day(rng, free_day[who])
        in_world = charge <= cal.WORLD_END_DAY
        who, charge = who[in_world], charge[in_world]
        active[:] = False
        if who.size == 0:
            break
        part = sim.case(k, who, charge)
        parts.append(part)
        free_day[who] = part.free_day
        goes_on = (rng.random(who.size) < REOFFEND_P[k]) & ~part.stops_offending
        active[who[goes_on]] = True
    if not parts:
        return None
    cases = Cases.concatenate(parts)
    _apply_revocations(cases, parts, sim.revocations)
    return Journeys(people, cases.take(np.lexsort((cases.sequence, cases.person))))


def _next_charge_day(rng: np.random.Generator, free_day: np.ndarray) -> np.ndarray:
    """The charge day of a further case: some time after the person is free again."""
    gap = np.maximum(7, _lognormal(rng, 320.0, 0.9, free_day.size)).astype(np.int64)
    charge = free_day + gap
    quiet = rng.random(free_day.size) > cal.seasonal_factor(charge)
    return charge + quiet * rng.integers(5, 20, free_day.size)


def _apply_revocations(
    cases: Cases, parts: list[Cases], revocations: list[tuple[int, np.ndarray, np.ndarray]]
) -> None:
    """A community or suspended order is revoked when its holder is convicted again."""
    offsets = np.concatenate([[0], np.cumsum([p.size for p in parts])])
    for k, pos, day in revocations:
        idx = offsets[k] + pos
        earlier = day < cases.order.end_day[idx]
        idx, day = idx[earlier], day[earlier]
        cases.order.end_day[idx] = day
        cases.order.end_reason[idx] = T_RECONVICTION


@dataclass(frozen=True)
class _Penalty:
    """Lengths and amounts drawn for the principal offence of each case."""

    length_days: np.ndarray  # by the disposal: custody (tariff if murder), suspended, community
    fine_pounds: np.ndarray
    operational_days: np.ndarray  # operational period of a suspended sentence order


class _CaseSimulator:
    """Draws the k-th case of a set of people (state carried between cases).

    Each step draws from the chunk's one random generator, so the steps run in a fixed order:
    offences, court route, verdict, disposal, penalty, every offence's outcome, custody,
    licence, community order, revocations.
    """

    def __init__(self, ref: Reference, rng: np.random.Generator, people: People) -> None:
        self.ref = ref
        self.rng = rng
        self.people = people
        n = people.n
        self.prior_guilty = np.zeros(n, dtype=np.int64)
        self.last_order_k = np.full(n, -1, dtype=np.int64)
        self.last_order_pos = np.full(n, -1, dtype=np.int64)
        self.last_order_start = np.zeros(n, dtype=np.int64)
        self.revocations: list[tuple[int, np.ndarray, np.ndarray]] = []
        self.offence_p = ref.offence_weight / ref.offence_weight.sum()
        max_custody = ref.offence_max_custody
        klass = ref.offence_class
        self.band = np.select(
            [max_custody == 0, klass == 2, (klass == 1) & (max_custody <= 2555), klass == 1],
            [0, 1, 2, 3],
            4,
        )
        self.murder = np.array([d == "VP01001" for d in ref.offence_codes.to_pylist()])
        lag = np.array(
            [CHARGE_LAG_BY_CATEGORY.get(c, 20) for c in ref.offence_categories], dtype=np.float64
        )
        self.charge_lag = lag[ref.offence_category]
        self.violent_or_sexual = np.isin(
            ref.offence_category,
            [
                ref.offence_category_index("Violence against the person"),
                ref.offence_category_index("Sexual offences"),
            ],
        )
        self.sexual = ref.offence_category == ref.offence_category_index("Sexual offences")
        self.courts = np.arange(len(ref.court_codes))

    # ------------------------------------------------------------------------------------
    def case(self, k: int, who: np.ndarray, charge: np.ndarray) -> Cases:
        """Everything about the k-th case of people ``who`` charged on ``charge``."""
        offences = self._offences(charge)
        court = self._court_route(who, charge, offences)
        outcome, operational_days = self._outcome(who, offences, court)
        custody = self._custody(court, outcome, offences.principal)
        term = np.where(custody.is_imprisoned & ~custody.is_life_sentence, outcome.length_days, 0)
        licence = self._licence(custody, term)
        order = self._order(outcome, court.completion_day, operational_days)
        self._record_orders(k, who, outcome.verdict == GUILTY, court.completion_day, order)
        recalled_release = np.where(
            licence.is_recalled, licence.recall_release_day, custody.release_day
        )
        died = licence.licence_end_reason == T_DECEASED
        return Cases(
            person=who,
            sequence=np.full(who.size, k, dtype=np.int64),
            charge_day=charge,
            offences=offences,
            court=court,
            outcome=outcome,
            custody=custody,
            licence=licence,
            order=order,
            free_day=np.where(custody.is_imprisoned, recalled_release, court.completion_day),
            stops_offending=(custody.is_life_sentence | died)
            | (order.has_order & (order.end_reason == T_DECEASED)),
        )

    # ------------------------------------------------------------------------------------
    def _offences(self, charge: np.ndarray) -> Offences:
        """The offences of each case, principal (most serious) first, and when committed."""
        ref, rng = self.ref, self.rng
        n = charge.size
        count = rng.choice(np.arange(1, MAX_OFFENCES + 1), size=n, p=[0.68, 0.19, 0.08, 0.03, 0.02])
        offence = rng.choice(len(self.offence_p), size=(n, MAX_OFFENCES), p=self.offence_p)
        present = np.arange(MAX_OFFENCES)[None, :] < count[:, None]
        severity = np.where(present, ref.offence_max_custody[offence], -1)
        order = np.argsort(-severity, axis=1, kind="stable")
        offence = np.take_along_axis(offence, order, axis=1)
        offence[~present] = -1
        lag = _lognormal(
            rng, self.charge_lag[np.maximum(offence, 0)].ravel(), 1.0, n * MAX_OFFENCES
        )
        offence_day = charge[:, None] - np.minimum(lag.reshape(n, MAX_OFFENCES), 3650).astype(
            np.int64
        )
        return Offences(count=count, offence=offence, offence_day=offence_day)

    def _most_serious_class(self, offences: Offences) -> np.ndarray:
        """0 indictable only, 1 either way, 2 summary: the most serious class of each case."""
        off = offences.offence
        return np.where(off >= 0, self.ref.offence_class[np.maximum(off, 0)], 9).min(axis=1)

    # ------------------------------------------------------------------------------------
    def _court_route(self, who: np.ndarray, charge: np.ndarray, offences: Offences) -> CourtRoute:
        """A magistrates' court of the home region, the Crown Court for serious cases; remand
        and the hearings from the first to completion."""
        ref, rng = self.ref, self.rng
        n = who.size
        band = self.band[offences.principal]
        klass = self._most_serious_class(offences)
        region = region_of_postcode(ref, self.people.postcode_at(who, charge))
        crown = (klass == 0) | ((klass == 1) & (rng.random(n) < 0.10 + 0.12 * (band >= 3)))
        mags_court = _pick_by_region(
            rng, region, self.courts[~ref.court_is_crown], ref.court_region, ref.court_weight
        )
        crown_court = _pick_by_region(
            rng, region, self.courts[ref.court_is_crown], ref.court_region, ref.court_weight
        )
        remand_p = np.select(
            [klass == 0, band >= 3, band == 2], [0.55, 0.2, 0.05], 0.008
        ) * np.where(self.people.is_female[who], 0.6, 1.0)
        remanded = rng.random(n) < remand_p
        postal = (klass == 2) & (ref.offence_max_custody[offences.principal] == 0)
        first_lag = np.where(
            postal, _lognormal(rng, 35.0, 0.5, n), _lognormal(rng, 14.0, 0.6, n)
        ).astype(np.int64)
        first = np.where(
            remanded,
            cal.next_working_day(charge + 1),
            cal.court_schedule(charge + np.maximum(first_lag, 1), rng),
        )
        hearing_count, hearing_day = self._hearings(first, crown, remanded, postal)
        return CourtRoute(
            region=region,
            is_crown_court=crown,
            magistrates_court=mags_court,
            crown_court=crown_court,
            is_remanded=remanded,
            first_hearing_day=first,
            hearing_count=hearing_count,
            hearing_day=hearing_day,
            completion_day=hearing_day[np.arange(n), hearing_count - 1],
        )

    def _hearings(
        self, first: np.ndarray, crown: np.ndarray, remanded: np.ndarray, postal: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """How many hearings each case has, and their days (``-1`` past the last)."""
        rng = self.rng
        n = first.size
        single = ~crown & (rng.random(n) < np.where(postal, 0.78, 0.38))
        n_hear = np.where(
            crown,
            np.minimum(3 + rng.poisson(1.3, n), MAX_HEARINGS),
            np.where(single, 1, np.minimum(2 + rng.poisson(0.6, n), 6)),
        )
        backlog = _by_year(BACKLOG, first, 1.3)
        duration = np.where(
            crown,
            _lognormal(rng, 170.0, 0.55, n) * backlog,
            _lognormal(rng, 35.0, 0.7, n) * (0.6 + 0.4 * backlog),
        ) * np.where(remanded, 0.75, 1.0)
        duration = np.where(n_hear == 1, 0, np.maximum(duration, 7 * (n_hear - 1))).astype(np.int64)
        frac = np.sort(rng.random((n, MAX_HEARINGS)), axis=1)
        frac[:, 0] = 0.0
        pos = np.arange(MAX_HEARINGS)[None, :]
        last = n_hear[:, None] - 1
        frac = np.where(pos >= last, 1.0, frac)
        if MAX_HEARINGS > 1:
            # PTPH about four weeks after sending
            frac[:, 1] = np.where(
                crown & (n_hear > 2),
                np.minimum(28 / np.maximum(duration, 29), frac[:, 1]),
                frac[:, 1],
            )
        hearing = first[:, None] + np.round(frac * duration[:, None]).astype(np.int64)
        hearing[:, 1:] = cal.court_schedule(hearing[:, 1:], rng)
        hearing = np.maximum.accumulate(hearing, axis=1)
        hearing[pos > last] = -1
        return n_hear, hearing

    # ------------------------------------------------------------------------------------
    def _outcome(
        self, who: np.ndarray, offences: Offences, court: CourtRoute
    ) -> tuple[Outcome, np.ndarray]:
        """Verdicts, disposals and penalties, and the operational period of a suspended
        sentence (drawn for every case)."""
        verdict, discontinued, contested = self._verdict(court)
        disposal = self._disposal(who, offences.principal, court.is_crown_court, verdict)
        murder = self.murder[offences.principal]
        penalty = self._penalty(who, offences.principal, court, disposal, murder)
        by_offence = self._offence_outcomes(offences, verdict, disposal, penalty)
        outcome = Outcome(
            verdict=verdict,
            is_discontinued=discontinued,
            is_contested=contested,
            disposal=disposal,
            length_days=penalty.length_days,
            fine_pounds=penalty.fine_pounds,
            is_murder=murder,
            offence_verdict=by_offence[0],
            offence_disposal=by_offence[1],
            offence_length_days=by_offence[2],
            offence_fine_pounds=by_offence[3],
        )
        return outcome, penalty.operational_days

    def _verdict(self, court: CourtRoute) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The verdict of each case, whether it was discontinued, and whether contested."""
        rng = self.rng
        crown = court.is_crown_court
        n = crown.size
        discontinued = rng.random(n) < np.where(crown, 0.09, 0.07)
        u = rng.random(n)
        p_guilty = np.where(crown, 0.78, 0.92)
        p_not_guilty = np.where(crown, 0.17, 0.04)
        verdict = np.where(
            u < p_guilty, GUILTY, np.where(u < p_guilty + p_not_guilty, NOT_GUILTY, DISMISSED)
        )
        verdict[discontinued] = WITHDRAWN
        guilty = verdict == GUILTY
        contested = (verdict == NOT_GUILTY) | (
            guilty & (court.hearing_count >= 2) & (rng.random(n) < np.where(crown, 0.25, 0.15))
        )
        return verdict, discontinued, contested

    def _disposal(
        self, who: np.ndarray, principal: np.ndarray, crown: np.ndarray, verdict: np.ndarray
    ) -> np.ndarray:
        """The disposal of the principal offence (more custody with prior convictions)."""
        p = DISPOSAL_P[self.band[principal]].copy()
        p[:, IMPRISONMENT] *= np.minimum(1 + 0.3 * self.prior_guilty[who], 2.0) * np.where(
            self.people.is_female[who], 0.6, 1.0
        )
        p[:, IMPRISONMENT] *= np.where(crown, 1.3, 1.0)
        p /= p.sum(axis=1, keepdims=True)
        cum = np.cumsum(p, axis=1)
        disposal = (self.rng.random(who.size)[:, None] > cum).sum(axis=1)
        disposal = np.minimum(disposal, DISCHARGE)
        disposal[self.murder[principal]] = IMPRISONMENT
        disposal[verdict != GUILTY] = NO_DISPOSAL
        return disposal

    def _penalty(
        self,
        who: np.ndarray,
        principal: np.ndarray,
        court: CourtRoute,
        disposal: np.ndarray,
        murder: np.ndarray,
    ) -> _Penalty:
        """Sentence length (custody, tariff, suspended, community) and fine of the principal."""
        rng = self.rng
        n = who.size
        band = self.band[principal]
        custody = self._custodial_term(who, principal, court)
        tariff = np.clip(_lognormal(rng, 6209.0, 0.2, n), 5479, 14610).astype(np.int64)
        max_custody = self.ref.offence_max_custody[principal]
        suspended_term = np.minimum(
            np.clip(_lognormal(rng, 120.0, 0.5, n), 14, 730), np.maximum(max_custody, 14)
        )
        suspended_term = _round_sentence(suspended_term)
        community_len = np.round(
            rng.choice(np.array([6, 12, 18, 24, 36]), n, p=[0.15, 0.4, 0.2, 0.18, 0.07]) * 30.4375
        ).astype(np.int64)
        operational = np.round(
            rng.choice(np.array([6, 12, 18, 24]), n, p=[0.1, 0.35, 0.25, 0.3]) * 30.4375
        ).astype(np.int64)
        length = np.select(
            [disposal == IMPRISONMENT, disposal == SUSPENDED, disposal == COMMUNITY],
            [np.where(murder, tariff, custody), suspended_term, community_len],
            0,
        )
        fine = np.maximum(
            20, np.round(_lognormal(rng, FINE_MEDIAN_POUNDS[band], 0.7, n) / 5) * 5
        ).astype(np.int64)
        fine = np.minimum(fine, np.where(band == 0, 2500, 50_000))
        return _Penalty(length_days=length, fine_pounds=fine, operational_days=operational)

    def _custodial_term(
        self, who: np.ndarray, principal: np.ndarray, court: CourtRoute
    ) -> np.ndarray:
        """Days of custody if imprisoned: within the offence's maximum and, in a magistrates'
        court, its sentencing power (six months, twelve in some periods)."""
        completion, crown = court.completion_day, court.is_crown_court
        n = who.size
        mags_cap = np.full(n, 182)
        for lo, hi in MAGS_12_MONTHS:
            mags_cap[(completion >= lo) & (completion <= hi)] = 365
        max_custody = self.ref.offence_max_custody[principal]
        custody = _lognormal(self.rng, CUSTODY_MEDIAN_DAYS[self.band[principal]], 0.7, n)
        custody = custody * np.where(crown, 1.4, 1.0)
        custody *= 1 + 0.15 * np.minimum(self.prior_guilty[who], 4)
        custody = np.minimum(
            custody, np.where(crown, max_custody, np.minimum(max_custody, mags_cap))
        )
        return np.maximum(_round_sentence(np.maximum(custody, 7)), 7)

    def _offence_outcomes(
        self, offences: Offences, verdict: np.ndarray, disposal: np.ndarray, penalty: _Penalty
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Verdict, disposal, length and fine of every offence of the cases (principal first)."""
        rng, ref = self.rng, self.ref
        n = verdict.size
        shape = (n, MAX_OFFENCES)
        present = offences.offence >= 0
        off = np.maximum(offences.offence, 0)
        u = rng.random(shape)
        sec_verdict = np.where(
            verdict[:, None] == GUILTY,
            np.where(u < 0.72, GUILTY, WITHDRAWN),
            np.where(u < 0.6, verdict[:, None], WITHDRAWN),
        )
        off_verdict = np.where(np.arange(MAX_OFFENCES)[None, :] == 0, verdict[:, None], sec_verdict)
        imprisonable = ref.offence_max_custody[off] > 0
        off_disposal = np.where(off_verdict == GUILTY, disposal[:, None], NO_DISPOSAL)
        needs_custody = np.isin(off_disposal, [IMPRISONMENT, SUSPENDED, COMMUNITY])
        off_disposal = np.where(needs_custody & ~imprisonable, FINE, off_disposal)
        band = self.band[off]
        own = _lognormal(rng, CUSTODY_MEDIAN_DAYS[band].ravel(), 0.7, n * MAX_OFFENCES).reshape(
            shape
        )
        own = np.minimum(own, ref.offence_max_custody[off])
        own = np.maximum(_round_sentence(np.maximum(own, 7)), 7)
        length = penalty.length_days[:, None]
        off_length = np.where(
            off_disposal == COMMUNITY,
            length,
            np.where(np.isin(off_disposal, [IMPRISONMENT, SUSPENDED]), np.minimum(own, length), 0),
        )
        off_length[:, 0] = penalty.length_days
        fine = np.maximum(
            20,
            np.round(_lognormal(rng, FINE_MEDIAN_POUNDS[band].ravel(), 0.7, n * MAX_OFFENCES) / 5)
            * 5,
        )
        off_fine = np.where(off_disposal == FINE, fine.reshape(shape).astype(np.int64), 0)
        off_fine[:, 0] = np.where(off_disposal[:, 0] == FINE, penalty.fine_pounds, 0)
        off_verdict[~present] = -1
        off_disposal[~present] = NO_DISPOSAL
        return off_verdict, off_disposal, off_length, off_fine

    # ------------------------------------------------------------------------------------
    def _custody(self, court: CourtRoute, outcome: Outcome, principal: np.ndarray) -> Custody:
        """Remand and bail, custody, the conditional release date and release."""
        rng = self.rng
        first, completion = court.first_hearing_day, court.completion_day
        n = completion.size
        # remand: some are bailed after a few weeks
        span = completion - first
        bailed = court.is_remanded & (span > 21) & (rng.random(n) < 0.25)
        bail_day = np.where(
            bailed, first + 7 + (rng.random(n) * np.minimum(83, span - 8)).astype(np.int64), -1
        )
        remand_end = np.where(bailed, bail_day, completion)
        credit = np.where(court.is_remanded, remand_end - first, 0)
        imprisoned = outcome.disposal == IMPRISONMENT
        life = imprisoned & outcome.is_murder
        term = np.where(imprisoned & ~life, outcome.length_days, 0)
        crd_initial, crd_final, recalc_day = self._conditional_release(
            completion, term, credit, imprisoned & ~life, principal
        )
        release, release_reason = self._release(
            completion, term, crd_final, imprisoned, life, self.violent_or_sexual[principal]
        )
        return Custody(
            is_bailed=bailed,
            bail_day=bail_day,
            remand_credit_days=credit,
            is_imprisoned=imprisoned,
            is_life_sentence=life,
            # a remanded defendant sentenced to custody stays in the same booking
            continues_remand=imprisoned & court.is_remanded & ~bailed,
            crd_initial_day=crd_initial,
            crd_final_day=crd_final,
            recalculation_day=recalc_day,
            sled_day=np.maximum(completion + term - credit, crd_final),
            release_day=release,
            release_reason=release_reason,
        )

    def _conditional_release(
        self,
        start: np.ndarray,
        term: np.ndarray,
        credit: np.ndarray,
        determinate: np.ndarray,
        principal: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The CRD at sentence, after recalculation (SDS40, added days), and the recalculation
        day (-1 if none)."""
        rng = self.rng
        n = start.size
        vs = self.violent_or_sexual[principal]
        two_thirds = vs & (
            ((start >= TWO_THIRDS_FROM) & (term >= 2557))
            | ((start >= TWO_THIRDS_WIDER_FROM) & (term >= 1461))
        )
        sds40_ok = ~two_thirds & ~self.sexual[principal] & ~(vs & (term >= 1461))
        frac = np.where(two_thirds, 2 / 3, np.where(sds40_ok & (start >= SDS40_DAY), 0.4, 0.5))
        crd_initial = start + np.ceil(frac * term).astype(np.int64) - credit
        crd_initial = np.maximum(crd_initial, start)
        # SDS40: prisoners in custody on 10 September 2024 had their release date recalculated
        sds40 = determinate & sds40_ok & (start < SDS40_DAY) & (crd_initial >= SDS40_DAY)
        crd_40 = np.maximum(
            start + np.ceil(0.4 * term).astype(np.int64) - credit,
            np.where(term < 1826, SDS40_DAY, SDS40_TRANCHE2_DAY),
        )
        sds40 &= crd_40 < crd_initial
        recalc_day = np.where(
            sds40, np.maximum(start + 1, D(dt.date(2024, 8, 20)) + rng.integers(0, 14, n)), -1
        )
        crd_final = np.where(sds40, crd_40, crd_initial)
        # other recalculations: added days for adjudications, corrected remand credit
        other = determinate & ~sds40 & (crd_initial - start > 20) & (rng.random(n) < 0.06)
        delta = np.where(rng.random(n) < 0.7, rng.integers(1, 43, n), -rng.integers(1, 21, n))
        other_day = start + (rng.uniform(0.2, 0.8, n) * (crd_initial - start)).astype(np.int64)
        recalc_day = np.where(other, other_day, recalc_day)
        crd_final = np.where(other, np.maximum(crd_initial + delta, other_day + 1), crd_final)
        return crd_initial, np.maximum(crd_final, start), recalc_day

    def _release(
        self,
        start: np.ndarray,
        term: np.ndarray,
        crd: np.ndarray,
        imprisoned: np.ndarray,
        life: np.ndarray,
        violent_or_sexual: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Release day (home detention curfew for some short sentences, otherwise at the CRD)
        and its reason."""
        rng = self.rng
        n = start.size
        hdc_ok = imprisoned & ~life & (term >= 84) & (term < 1461) & ~violent_or_sexual
        hdc = hdc_ok & (rng.random(n) < 0.28)
        hdc_days = np.maximum(14, (rng.uniform(0.3, 1.0, n) * np.minimum(180, term // 4))).astype(
            np.int64
        )
        release = np.where(hdc, crd - hdc_days, crd)
        hdc &= release > start + 14
        release = np.where(hdc, release, crd)
        release = np.maximum(cal.previous_working_day(release), start)
        release = np.where(life, NEVER, np.where(imprisoned, release, -1))
        return release, np.where(hdc, 1, 0)

    # ------------------------------------------------------------------------------------
    def _licence(self, custody: Custody, term: np.ndarray) -> Licence:
        """Licence after release, recall to prison, post-sentence supervision."""
        rng = self.rng
        release, sled = custody.release_day, custody.sled_day
        n = release.size
        determinate = custody.is_imprisoned & ~custody.is_life_sentence
        licence_days = sled - release
        has_lic = determinate & (licence_days >= 14) & (rng.random(n) < 0.92)
        recalled = has_lic & (rng.random(n) < 0.18)
        recall_day = np.where(
            recalled,
            release + np.maximum(1, (rng.uniform(0.05, 0.8, n) * licence_days).astype(np.int64)),
            -1,
        )
        fixed_term = rng.random(n) < 0.6
        recall_release = np.where(
            fixed_term,
            np.minimum(recall_day + np.where(term < 365, 14, 28), sled),
            np.minimum(recall_day + rng.integers(90, 400, n), sled),
        )
        recall_release = cal.previous_working_day(np.maximum(recall_release, recall_day + 1))
        recall_release = np.maximum(recall_release, recall_day + 1)
        recall_release_reason = np.where(recall_release >= sled, 2, 0)
        died = has_lic & ~recalled & (rng.random(n) < 0.004)
        end_day = np.where(
            recalled,
            recall_day,
            np.where(died, release + (rng.random(n) * licence_days).astype(np.int64), sled),
        )
        pss = self._post_sentence_supervision(custody, term, died)
        return Licence(
            has_licence=has_lic,
            is_recalled=recalled,
            recall_day=recall_day,
            recall_release_day=np.where(recalled, recall_release, -1),
            recall_release_reason=recall_release_reason,
            licence_end_reason=np.where(
                recalled, T_RECALLED, np.where(died, T_DECEASED, T_COMPLETED)
            ),
            licence_end_day=end_day,
            has_pss=pss[0],
            pss_scheduled_end_day=pss[1],
            pss_end_reason=pss[2],
            pss_end_day=pss[3],
        )

    def _post_sentence_supervision(
        self, custody: Custody, term: np.ndarray, died_on_licence: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Supervision to a year after release for short sentences: whether, scheduled end,
        end reason and end day."""
        rng = self.rng
        release, sled = custody.release_day, custody.sled_day
        n = release.size
        scheduled_end = release + 365
        has_pss = (
            custody.is_imprisoned
            & ~custody.is_life_sentence
            & (term < 730)
            & (scheduled_end > sled + 30)
            & ~died_on_licence
            & (rng.random(n) < 0.9)
        )
        breach = rng.random(n) < 0.14
        end_day = np.where(
            breach,
            sled + (rng.uniform(0.1, 0.9, n) * (scheduled_end - sled)).astype(np.int64),
            scheduled_end,
        )
        return has_pss, scheduled_end, np.where(breach, T_BREACH, T_COMPLETED), end_day

    # ------------------------------------------------------------------------------------
    def _order(
        self, outcome: Outcome, completion: np.ndarray, operational: np.ndarray
    ) -> CommunityOrder:
        """Community and suspended sentence orders: length, and how and when they end."""
        rng = self.rng
        n = completion.size
        is_co = outcome.disposal == COMMUNITY
        is_sso = outcome.disposal == SUSPENDED
        has_order = (is_co | is_sso) & (rng.random(n) < 0.97)
        order_len = np.where(is_co, outcome.length_days, operational)
        u = rng.random(n)
        reason = np.select(
            [u < 0.005, u < 0.155, is_co & (u < 0.255)],
            [T_DECEASED, T_BREACH, T_EARLY],
            T_COMPLETED,
        )
        share = np.select(
            [reason == T_DECEASED, reason == T_BREACH, reason == T_EARLY],
            [rng.uniform(0.05, 0.95, n), rng.uniform(0.1, 0.8, n), rng.uniform(0.55, 0.85, n)],
            1.0,
        )
        return CommunityOrder(
            has_order=has_order,
            is_suspended_sentence=is_sso,
            length_days=order_len,
            end_reason=reason,
            end_day=completion + np.maximum(1, (share * order_len).astype(np.int64)),
        )

    def _record_orders(
        self,
        k: int,
        who: np.ndarray,
        guilty: np.ndarray,
        completion: np.ndarray,
        order: CommunityOrder,
    ) -> None:
        """Reconviction while an earlier order was running revokes it (applied once every case
        is drawn); remember this case's orders and convictions for the next case."""
        rng = self.rng
        had = (self.last_order_k[who] >= 0) & guilty
        if had.any():
            sel = np.flatnonzero(had)
            later = completion[sel] > self.last_order_start[who[sel]]
            sel = sel[later & (rng.random(sel.size) < 0.6)]
            for kk in np.unique(self.last_order_k[who[sel]]):
                s = sel[self.last_order_k[who[sel]] == kk]
                self.revocations.append((int(kk), self.last_order_pos[who[s]], completion[s]))
        has_order = order.has_order
        self.last_order_k[who[has_order]] = k
        self.last_order_pos[who[has_order]] = np.flatnonzero(has_order)
        self.last_order_start[who[has_order]] = completion[has_order]
        self.prior_guilty[who] += guilty
