"""One memory budget splits into dbt's DuckDB limit and the linkage's, the same in profiles.yml
and in derived_tables.memory (which the linkage models and `derived floor` read)."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
import yaml

from derived_tables import floor, memory

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _dev_memory_limit(environ: dict[str, str]) -> str:
    """profiles.yml's dev `memory_limit`, rendered with `env_var` reading `environ`."""
    profiles = yaml.safe_load((PROJECT_ROOT / "profiles.yml").read_text(encoding="utf-8"))
    template = profiles["derived_tables"]["outputs"]["dev"]["settings"]["memory_limit"]

    def env_var(name: str, default: str | None = None) -> str:
        value = environ.get(name, default)
        assert value is not None, name
        return value

    return jinja2.Environment().from_string(template).render(env_var=env_var).strip()


@pytest.mark.parametrize(
    ("environ", "dbt_limit", "linkage_limit"),
    [
        ({}, "1750MB", "1500MB"),
        ({"DERIVED_MEMORY_BUDGET_MB": "6000"}, "4500MB", "1500MB"),
        ({"DERIVED_MEMORY_BUDGET_MB": "7000"}, "5250MB", "1750MB"),
        ({"DERIVED_MEMORY_BUDGET_MB": "16000"}, "12000MB", "4000MB"),
        ({"DERIVED_MEMORY_BUDGET_MB": "1001"}, "501MB", "500MB"),
        ({"DUCKDB_MEMORY_LIMIT": "3GB"}, "3GB", "1500MB"),
        ({"DERIVED_LINKAGE_MEMORY_LIMIT": "2GB"}, "1750MB", "2GB"),
    ],
)
def test_one_budget_splits_the_same_in_the_profile_and_in_python(
    environ: dict[str, str], dbt_limit: str, linkage_limit: str
) -> None:
    assert memory.dbt_memory_limit(environ) == dbt_limit
    assert _dev_memory_limit(environ) == dbt_limit
    assert memory.linkage_memory_limit(environ) == linkage_limit
    assert floor.profile_settings(environ, Path("w"))["memory_limit"] == dbt_limit


@pytest.mark.parametrize("raw", ["3GB", "-1", "0"])
def test_a_budget_that_is_not_a_positive_number_of_mb_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="DERIVED_MEMORY_BUDGET_MB"):
        memory.budget_mb({"DERIVED_MEMORY_BUDGET_MB": raw})
