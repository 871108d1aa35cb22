"""One memory budget for a DuckDB build: dbt's DuckDB and the person linkage's own DuckDB.

A DuckDB build runs two DuckDB engines in one process: dbt's connection to the warehouse (the
profile's ``memory_limit``) and, while the person linkage models run, Splink's own in-memory
connection (``derived_tables.linkage``). Their limits add up, so they are chosen together from
one setting, ``DERIVED_MEMORY_BUDGET_MB`` (default 3250): 1500MB for the linkage, or a quarter of
a budget above 6000MB, at most half the budget (at scale 10 the full linkage fails with 1000MB, its
final result cannot spill; at scale 100 its blocked pairs spill tens of GB under 1500MB), the rest
for dbt's DuckDB (1750MB by default). Either can still be set on its own (``DUCKDB_MEMORY_LIMIT``,
``DERIVED_LINKAGE_MEMORY_LIMIT``, DuckDB size strings such as ``2GB``), which wins over the
budget.

Each engine spills to its temporary folder beyond its limit, and the process holds more than
the two limits (the Arrow copies of the records the linkage reads and returns, Python, dbt), so
the budget is below the peak it keeps the build under: at scale 10 the default keeps the whole
build's process tree under 4 GiB (README, docs/performance.md). ``profiles.yml`` computes the
same split in Jinja (its ``dev`` target); ``tests/python/test_memory.py`` checks that both agree.
"""

from __future__ import annotations

from collections.abc import Mapping

BUDGET_ENV = "DERIVED_MEMORY_BUDGET_MB"
DEFAULT_BUDGET_MB = 3250
LINKAGE_SHARE_MB = 1500
#: The linkage's share of a large budget (scale 100): a quarter of it.
LINKAGE_SHARE_FRACTION = 4
DBT_LIMIT_ENV = "DUCKDB_MEMORY_LIMIT"
LINKAGE_LIMIT_ENV = "DERIVED_LINKAGE_MEMORY_LIMIT"


def budget_mb(environ: Mapping[str, str]) -> int:
    """The build's memory budget in MB (``DERIVED_MEMORY_BUDGET_MB``, default 3250)."""
    raw = environ.get(BUDGET_ENV) or str(DEFAULT_BUDGET_MB)
    try:
        budget = int(raw)
    except ValueError:
        raise ValueError(f"{BUDGET_ENV} must be a whole number of MB, got {raw!r}") from None
    if budget <= 0:
        raise ValueError(f"{BUDGET_ENV} must be positive, got {budget}")
    return budget


def dbt_memory_mb(environ: Mapping[str, str]) -> int:
    """dbt's DuckDB share of the budget: what the linkage's share leaves."""
    return budget_mb(environ) - linkage_memory_mb(environ)


def linkage_memory_mb(environ: Mapping[str, str]) -> int:
    """The linkage's share of the budget: 1500MB or a quarter of the budget, whichever is
    larger, at most half the budget."""
    budget = budget_mb(environ)
    return min(max(LINKAGE_SHARE_MB, budget // LINKAGE_SHARE_FRACTION), budget // 2)


def dbt_memory_limit(environ: Mapping[str, str]) -> str:
    """The ``memory_limit`` of dbt's DuckDB (profiles.yml's dev target)."""
    return environ.get(DBT_LIMIT_ENV) or f"{dbt_memory_mb(environ)}MB"


def linkage_memory_limit(environ: Mapping[str, str]) -> str:
    """The ``memory_limit`` of the person linkage's own DuckDB: the rest of the budget."""
    return environ.get(LINKAGE_LIMIT_ENV) or f"{linkage_memory_mb(environ)}MB"
