"""The main job across settings (issue 15): `derived robustness`.

The slow tests run the ``ci`` matrix: for each setting (the smallest scales, seeds other than
the suite's 42, as of a leap day and of a bank holiday after a clock-change weekend), a fresh
backfill and a `derived build` that must publish with no error-severity test failing. Each
prints its setting and the commands that reproduce it. The wider matrix (scales up to 1, the
year end, a clock-change Sunday) is `make robustness`. The fast tests check the runner itself:
a failed step fails the run, failing nodes are read from dbt's run results, settings parse.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from derived_tables import robustness
from derived_tables.robustness import Setting, parse_setting, read_failures, run_setting

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("setting", robustness.ci_matrix(), ids=lambda s: s.label)
def test_the_main_job_publishes(setting: Setting, tmp_path: Path) -> None:
    print(f"\n{setting.label} ({setting.note})\nreproduce: {setting.reproduce()}")
    result = run_setting(setting, tmp_path / "run", PROJECT_ROOT, step_timeout=1800)
    print(result.describe())
    assert result.ok, result.describe()
    assert (tmp_path / "run" / "warehouse" / "derived_tables.duckdb").is_file()


def test_the_ci_matrix_covers_the_stress_dates_at_tiny_scales() -> None:
    settings = robustness.ci_matrix()
    dates = {s.as_of for s in settings}
    assert dt.date(2024, 2, 29) in dates  # a leap day
    assert dt.date(2024, 4, 1) in dates  # Easter Monday, the day after the clocks went forward
    assert all(s.scale <= 0.02 for s in settings)
    assert len({s.seed for s in settings}) == len(settings) and 42 not in {s.seed for s in settings}


def test_the_wide_matrix_holds_the_issue_settings_and_every_stress_date() -> None:
    settings = robustness.wide_matrix()
    pairs = {(s.scale, s.seed) for s in settings if s.as_of is None}
    assert pairs == {
        (0.02, 42),
        (0.05, 42),
        (0.1, 42),
        (0.2, 42),
        (0.5, 42),
        (1, 42),
        (1, 7),
        (0.1, 7),
    }
    assert set(robustness.STRESS_DATES.values()) <= {s.as_of for s in settings}
    assert min(s.scale for s in settings) == robustness.SMALLEST_SCALE


def test_settings_parse_and_name_what_is_wrong() -> None:
    assert parse_setting("0.1:7") == Setting(0.1, 7)
    assert parse_setting("1:42:2024-02-29") == Setting(1.0, 42, dt.date(2024, 2, 29))
    for text, part in (
        ("0.1", "SCALE:SEED"),
        ("x:7", "scale"),
        ("0.1:y", "seed"),
        ("1:2:3", "as-of"),
    ):
        with pytest.raises(ValueError, match=part):
            parse_setting(text)
    today = dt.date(2026, 3, 1)
    assert Setting(0.1, 7).resolved(today).as_of == dt.date(2026, 2, 28)


def test_failed_nodes_and_warnings_are_read_from_run_results(tmp_path: Path) -> None:
    path = tmp_path / "run_results.json"
    results = [
        {"unique_id": "model.p.a", "status": "success", "message": "OK"},
        {"unique_id": "test.p.occupancy.1", "status": "fail", "message": "Got 141 results"},
        {"unique_id": "model.p.b", "status": "error", "message": "Catalog\n Error"},
        {"unique_id": "test.p.share.2", "status": "warn", "message": "Got 3 results"},
    ]
    path.write_text(json.dumps({"results": results}), encoding="utf-8")
    failures, warnings = read_failures(path)
    assert failures == [
        "test.p.occupancy.1 [fail] Got 141 results",
        "model.p.b [error] Catalog Error",
    ]
    assert warnings == 1
    assert read_failures(tmp_path / "missing.json") == ([], 0)


def test_a_failed_step_fails_the_run_and_says_how_to_reproduce(tmp_path: Path) -> None:
    # a scale the generator refuses: the run stops at generate, nothing is built
    setting = Setting(1000.0, 7, dt.date(2024, 2, 29), "too big")
    result = run_setting(setting, tmp_path / "run", PROJECT_ROOT)
    assert not result.ok
    assert result.step == "generate"
    assert "must be > 0" in result.output_tail
    assert "--scale 1000 --seed 7 --as-of 2024-02-29" in result.describe()


def test_robustness_has_help_and_refuses_a_bad_setting() -> None:
    runner = CliRunner()
    assert "--matrix" in runner.invoke(robustness.robustness, ["--help"]).output
    bad = runner.invoke(robustness.robustness, ["--setting", "0.1:seven"])
    assert bad.exit_code == 2
    assert "seed 'seven' is not an integer" in bad.output
