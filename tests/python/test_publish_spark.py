"""Write-audit-publish on Spark (`derived build --target spark`): the candidate folder and the
published link, without a JVM.

dbt itself is replaced by a stand-in (`run_spark_dbt`) that writes what a Spark build leaves in
its candidate folder (a table file and a metastore folder) and the run results of a passing or
failing audit, so every path of publish_spark.py runs in well under a second: publish, the
previous link, a failed audit leaving the published link as it was, rollback, stale candidates,
and the refusal to publish over a folder dbt wrote directly.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from derived_tables import publish, publish_spark
from derived_tables.publish import build, rollback

PROFILES = """
    tiny:
      target: "{{ env_var('DBT_TARGET', 'dev') }}"
      outputs:
        dev:
          type: duckdb
          path: warehouse/tiny.duckdb
        spark:
          type: spark
          method: session
          host: localhost
          schema: derived
    """


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "dbt_project.yml").write_text("name: tiny\nprofile: tiny\n", encoding="utf-8")
    (tmp_path / "profiles.yml").write_text(textwrap.dedent(PROFILES), encoding="utf-8")
    for name in ("DBT_TARGET", "DBT_TARGET_PATH", publish_spark.SPARK_WAREHOUSE_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DBT_PROJECT_DIR", str(tmp_path))
    return tmp_path


class FakeSparkDbt:
    """Stands in for `python -m derived_tables.spark_dbt`: writes a build, or fails its audit."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.fail = False
        self.calls: list[list[str]] = []
        self.envs: list[dict[str, str]] = []

    def __call__(
        self, args: list[str], candidate: Path, project_dir: Path, extra_env: Mapping[str, str]
    ) -> int:
        self.calls.append(args)
        self.envs.append(dict(extra_env))
        (candidate / "tables").mkdir(exist_ok=True)
        (candidate / "metastore_db").mkdir(exist_ok=True)
        (candidate / "tables" / "build.txt").write_text(str(len(self.calls)), encoding="utf-8")
        status = "fail" if self.fail else "pass"
        results = {"results": [{"unique_id": "test.tiny.audit", "status": status}]}
        target = project_dir / "target"
        target.mkdir(exist_ok=True)
        time.sleep(0.01)  # run_results newer than the step's start
        (target / "run_results.json").write_text(json.dumps(results), encoding="utf-8")
        return 1 if self.fail else 0


@pytest.fixture()
def fake_dbt(project: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSparkDbt:
    fake = FakeSparkDbt(project)
    monkeypatch.setattr(publish_spark, "run_spark_dbt", fake)
    return fake


def _build(project: Path, *args: str) -> click.testing.Result:
    return CliRunner().invoke(build, ["--target", "spark", "--project-dir", str(project), *args])


def _published_build(project: Path) -> str:
    return (project / "warehouse" / "spark" / "tables" / "build.txt").read_text(encoding="utf-8")


def test_target_type_reads_the_profile(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert publish_spark.target_type(project, project, "spark") == "spark"
    assert publish_spark.target_type(project, project, None) == "duckdb"
    monkeypatch.setenv("DBT_TARGET", "spark")
    assert publish_spark.target_type(project, project, None) == "spark"
    assert publish_spark.target_type(project, project, "missing") is None


def test_builds_publish_through_the_link_and_keep_the_previous(
    project: Path, fake_dbt: FakeSparkDbt
) -> None:
    first = _build(project)
    assert first.exit_code == 0, first.output
    link = project / "warehouse" / "spark"
    assert link.is_symlink() and _published_build(project) == "1"
    first_folder = link.resolve()
    assert first_folder.parent == project / "warehouse" / "spark-builds"
    assert all("--full-refresh" in call for call in fake_dbt.calls)  # a new folder: full build
    assert all(t in fake_dbt.calls[0] for t in publish_spark.SPARK_EXCLUDED_TESTS)

    second = _build(project)
    assert second.exit_code == 0, second.output
    assert _published_build(project) == "2"
    assert (project / "warehouse" / "spark.previous").resolve() == first_folder
    assert sorted(p.name for p in (project / "warehouse" / "spark-builds").iterdir()) == sorted(
        [first_folder.name, link.resolve().name]
    )

    third = _build(project)  # the build before the previous one is deleted
    assert third.exit_code == 0, third.output
    assert not first_folder.exists()
    assert len(list((project / "warehouse" / "spark-builds").iterdir())) == 2


def test_failed_audit_leaves_the_published_link_and_deletes_the_candidate(
    project: Path, fake_dbt: FakeSparkDbt
) -> None:
    assert _build(project).exit_code == 0
    link = project / "warehouse" / "spark"
    published = link.resolve()
    fake_dbt.fail = True
    failed = _build(project)
    assert failed.exit_code == publish.EXIT_AUDIT_FAILED
    assert "audit failed" in failed.output and "test audit [fail]" in failed.output
    assert link.resolve() == published and _published_build(project) == "1"
    assert [p for p in (project / "warehouse" / "spark-builds").iterdir()] == [published]


def test_rollback_swaps_the_links(project: Path, fake_dbt: FakeSparkDbt) -> None:
    assert _build(project).exit_code == 0
    assert _build(project).exit_code == 0
    runner = CliRunner()
    args = ["--target", "spark", "--project-dir", str(project)]
    assert runner.invoke(rollback, args).exit_code == 0
    assert _published_build(project) == "1"
    assert runner.invoke(rollback, args).exit_code == 0
    assert _published_build(project) == "2"


def test_select_is_refused_and_a_folder_written_by_dbt_is_not_replaced(
    project: Path, fake_dbt: FakeSparkDbt
) -> None:
    refused = _build(project, "--select", "some_model")
    assert refused.exit_code != 0 and "--select is not supported on Spark" in refused.output
    (project / "warehouse" / "spark").mkdir(parents=True)
    kept = _build(project)
    assert kept.exit_code != 0 and "is a folder, not the link" in kept.output
    assert fake_dbt.calls == []


def test_stale_candidates_are_removed(project: Path, fake_dbt: FakeSparkDbt) -> None:
    stale = project / "warehouse" / "spark-builds" / "20000101T000000Z-1"
    stale.mkdir(parents=True)
    result = _build(project)
    assert result.exit_code == 0, result.output
    assert not stale.exists() and "removed a build folder no link names" in result.output
    assert os.path.islink(project / "warehouse" / "spark")


def _curated_file(project: Path, date: str) -> Path:
    folder = project / "data" / "curated" / "nomis" / "movements" / f"extraction_date={date}"
    folder.mkdir(parents=True)
    (folder / "part-0.parquet").write_bytes(b"PAR1 not read here")
    return folder / "part-0.parquet"


def test_curated_partitions_are_pinned_in_the_candidate_with_the_as_of_date(
    project: Path, fake_dbt: FakeSparkDbt, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DERIVED_DATA_DIR", raising=False)
    source = _curated_file(project, "2025-06-30")
    result = _build(project, "--as-of", "2025-06-30")
    assert result.exit_code == 0, result.output
    env = fake_dbt.envs[0]
    assert env["DERIVED_AS_OF"] == "2025-06-30"
    pinned = Path(env["DERIVED_DATA_DIR"])
    published = (project / "warehouse" / "spark").resolve()
    assert pinned == published / "curated", "the sources must read files kept with the build"
    kept = pinned / "nomis" / "movements" / "extraction_date=2025-06-30" / "part-0.parquet"
    assert kept.read_bytes() == source.read_bytes()


def test_a_future_dated_partition_is_refused_and_nothing_is_published(
    project: Path, fake_dbt: FakeSparkDbt, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DERIVED_DATA_DIR", raising=False)
    _curated_file(project, "2025-07-01")
    result = _build(project, "--as-of", "2025-06-30")
    assert result.exit_code == 65, result.output
    assert "2025-07-01" in result.output
    assert not fake_dbt.calls, "dbt ran on refused input"
    assert not (project / "warehouse" / "spark").exists()
    assert not any((project / "warehouse" / "spark-builds").iterdir())
