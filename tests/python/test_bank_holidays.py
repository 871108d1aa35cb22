"""The bank holidays of the seed, of the generator and of the `holidays` package agree.

`seeds/ref_bank_holidays.csv` gives `dim_date.is_bank_holiday`; the generator moves court dates
off bank holidays. Both must be the bank holidays of England and Wales as the maintained
`holidays` package knows them (substitute days included), for every year the seed covers.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import holidays
import numpy as np
import pytest

from derived_tables.generator import calendar as cal

SEED = Path(__file__).resolve().parents[2] / "seeds" / "ref_bank_holidays.csv"


def _seed_rows() -> dict[dt.date, dict[str, str]]:
    with SEED.open(newline="") as f:
        return {dt.date.fromisoformat(row["holiday_date"]): row for row in csv.DictReader(f)}


def _seed_years() -> range:
    years = sorted({day.year for day in _seed_rows()})
    return range(years[0], years[-1] + 1)


def _package_weekday_holidays(years: range) -> dict[dt.date, str]:
    package = holidays.country_holidays("GB", subdiv="ENG", years=years)
    return {day: name for day, name in package.items() if day.weekday() < 5}


def test_seed_lists_exactly_the_package_bank_holidays() -> None:
    seed = _seed_rows()
    package = _package_weekday_holidays(_seed_years())
    missing = sorted(set(package) - set(seed))
    extra = sorted(set(seed) - set(package))
    assert not missing, f"ref_bank_holidays.csv lacks bank holidays: {missing}"
    assert not extra, f"ref_bank_holidays.csv has days that are no bank holiday: {extra}"


def test_seed_substitute_days_are_the_package_observed_days() -> None:
    package = _package_weekday_holidays(_seed_years())
    wrong = [
        (day.isoformat(), row["is_substitute_day"], package[day])
        for day, row in sorted(_seed_rows().items())
        if (row["is_substitute_day"] == "true") != ("(observed)" in package[day])
    ]
    assert not wrong, f"ref_bank_holidays.is_substitute_day disagrees with the package: {wrong}"


@pytest.mark.parametrize("year", list(_seed_years()))
def test_generator_calendar_closes_courts_on_the_seed_holidays(year: int) -> None:
    seed_days = sorted(day for day in _seed_rows() if day.year == year)
    assert cal.bank_holidays(year) == set(seed_days)
    days = np.array([cal.to_days(day) for day in seed_days], dtype=np.int64)
    # a hearing listed on a bank holiday moves to a later working day
    assert (cal.next_working_day(days) > days).all()
