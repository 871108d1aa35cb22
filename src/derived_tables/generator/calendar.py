"""Dates as integer day numbers, court working days and seasonality.

Inside the generator a date is an ``int`` number of days since 1970-01-01 (Arrow's ``date32``)
and a timestamp an ``int`` number of seconds since 1970-01-01 UTC, so that everything stays in
NumPy arrays. This module converts them, knows the bank holidays of England and Wales (from the
``holidays`` package), moves court dates onto working days and applies the seasonal dips
(August, Christmas) and the court closures of spring 2020.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays
import numpy as np

EPOCH = dt.date(1970, 1, 1)
SECONDS_PER_DAY = 86_400

#: The generator's world starts eight years before the data so that courts, prisons and
#: probation hold a steady-state caseload (repeat offenders, long sentences) on its first day.
WORLD_START = dt.date(2011, 1, 1)
#: First date of the curated history (docs/curated-schema.md).
DATA_START = dt.date(2019, 1, 1)
#: Last year in which new people can appear; also the last allowed extraction date.
LAST_YEAR = 2045
WORLD_END = dt.date(LAST_YEAR, 12, 31)

# The calendar lookup tables cover a margin around the world.
_CAL_START = dt.date(2008, 1, 1)
_CAL_END = dt.date(LAST_YEAR + 15, 12, 31)


def to_days(value: dt.date) -> int:
    """Day number of a date."""
    return (value - EPOCH).days


def from_days(days: int) -> dt.date:
    """Date of a day number."""
    return EPOCH + dt.timedelta(days=int(days))


def to_seconds(value: dt.date) -> int:
    """Seconds since the epoch at midnight UTC starting ``value``."""
    return to_days(value) * SECONDS_PER_DAY


CAL_START_DAY = to_days(_CAL_START)
CAL_END_DAY = to_days(_CAL_END)
DATA_START_DAY = to_days(DATA_START)
WORLD_START_DAY = to_days(WORLD_START)
WORLD_END_DAY = to_days(WORLD_END)


def bank_holidays(year: int) -> set[dt.date]:
    """Bank holidays of England and Wales in ``year`` that close the courts.

    From the maintained ``holidays`` package (one-off holidays included): the holidays that
    fall on a weekday. A holiday at a weekend is replaced by a substitute weekday, which the
    package lists too (``... (observed)``); the weekend day itself changes nothing here.
    """
    return {day for day in _england_holidays(year) if day.weekday() < 5}


def _england_holidays(year: int) -> holidays.HolidayBase:
    # England and Wales share their bank holidays; the package names the subdivision ENG.
    return holidays.country_holidays("GB", subdiv="ENG", years=year)


@lru_cache(maxsize=1)
def _tables() -> dict[str, np.ndarray]:
    n = CAL_END_DAY - CAL_START_DAY + 1
    day = np.arange(CAL_START_DAY, CAL_END_DAY + 1, dtype=np.int64)
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    holidays = {
        to_days(h)
        for year in range(_CAL_START.year, _CAL_END.year + 1)
        for h in bank_holidays(year)
    }
    working = weekday < 5
    working[np.isin(day, np.fromiter(holidays, dtype=np.int64))] = False
    # next working day on or after each day, previous working day on or before it
    idx = np.where(working, np.arange(n), n)
    nxt = np.minimum.accumulate(idx[::-1])[::-1]
    nxt = np.minimum(nxt, n - 1)
    idx = np.where(working, np.arange(n), -1)
    prv = np.maximum.accumulate(idx)
    prv = np.maximum(prv, 0)
    dates = day.astype("datetime64[D]")
    month = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    return {
        "working": working,
        "next": nxt + CAL_START_DAY,
        "prev": prv + CAL_START_DAY,
        "weekday": weekday,
        "month": month,
        "dom": dom,
    }


def _index(days: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(days, dtype=np.int64), CAL_START_DAY, CAL_END_DAY) - CAL_START_DAY


def next_working_day(days: np.ndarray) -> np.ndarray:
    """The first court working day (Monday to Friday, not a bank holiday) on or after each day."""
    return _tables()["next"][_index(days)]


def previous_working_day(days: np.ndarray) -> np.ndarray:
    """The last working day on or before each day (prisons bring weekend releases forward)."""
    return _tables()["prev"][_index(days)]


def weekday(days: np.ndarray) -> np.ndarray:
    """Day of week, Monday = 0."""
    return _tables()["weekday"][_index(days)]


def month(days: np.ndarray) -> np.ndarray:
    """Month number 1-12."""
    return _tables()["month"][_index(days)]


def day_of_month(days: np.ndarray) -> np.ndarray:
    """Day of the month 1-31."""
    return _tables()["dom"][_index(days)]


def seasonal_factor(days: np.ndarray) -> np.ndarray:
    """Relative activity of the justice system on each day (1 = normal).

    Courts and offices slow down in August (holidays) and from the week before Christmas to
    New Year.
    """
    m = month(days)
    d = day_of_month(days)
    factor = np.ones(np.shape(days), dtype=np.float64)
    factor[m == 8] = 0.78
    factor[(m == 12) & (d >= 20)] = 0.35
    factor[(m == 1) & (d <= 3)] = 0.5
    return factor


COVID_CLOSURE = (to_days(dt.date(2020, 3, 23)), to_days(dt.date(2020, 6, 30)))


def court_schedule(days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Move intended court dates onto real sitting days.

    Hearings that fall in a quiet period are, with the probability of the dip, put back by a few
    weeks; most hearings due during the spring-2020 closure are put back by months; a hearing
    due at a weekend goes to a random weekday of the next week; bank holidays move to the next
    working day.
    """
    days = np.asarray(days, dtype=np.int64).copy()
    u = rng.random(days.shape)
    quiet = u > seasonal_factor(days)
    days[quiet] += rng.integers(10, 24, size=int(quiet.sum()))
    lo, hi = COVID_CLOSURE
    closed = (days >= lo) & (days <= hi) & (rng.random(days.shape) < 0.75)
    days[closed] = hi + 1 + rng.integers(0, 150, size=int(closed.sum()))
    wd = weekday(days)
    weekend = wd >= 5
    days[weekend] += 7 - wd[weekend] + rng.integers(0, 5, size=int(weekend.sum()))
    return next_working_day(days)


def year_start_days(year: int) -> int:
    """Day number of 1 January of ``year``."""
    return to_days(dt.date(year, 1, 1))


def year_of(days: np.ndarray) -> np.ndarray:
    """Calendar year of each day number."""
    return (
        np.asarray(days, dtype=np.int64)
        .astype("datetime64[D]")
        .astype("datetime64[Y]")
        .astype(np.int64)
        + 1970
    )


def seasonal_days_in_year(
    year: int, n: int, rng: np.random.Generator, *, weekend_weight: float = 1.0
) -> np.ndarray:
    """``n`` day numbers in ``year`` drawn with the seasonal profile (and a weekend weight)."""
    start = year_start_days(year)
    end = year_start_days(year + 1)
    days = np.arange(start, end, dtype=np.int64)
    weights = seasonal_factor(days)
    weights = np.where(weekday(days) >= 5, weights * weekend_weight, weights)
    weights /= weights.sum()
    return rng.choice(days, size=n, p=weights)


def office_time(
    rng: np.random.Generator, n: int, start_hour: int = 8, end_hour: int = 18
) -> np.ndarray:
    """Seconds after midnight during office hours, for version and movement timestamps."""
    return rng.integers(start_hour * 3600, end_hour * 3600, size=n, dtype=np.int64)
