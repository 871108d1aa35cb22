"""`derived bench` plumbing: measuring children, step sequencing, environment, JSON and table.

No real scale run: the generator and dbt steps are replaced by small Python children whose time
and memory are known, so the measurement itself is what is tested.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from derived_tables import bench
from derived_tables.bench import Step

MIB = 2**20


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def _allocating(mib: int, seconds: float = 0.6) -> list[str]:
    # b"x" * n writes every page, so the memory is resident (a zeroed bytearray may not be).
    return _python(
        f"""
        import time
        block = b"x" * ({mib} * 2**20)
        time.sleep({seconds})
        """
    )


def test_measure_reports_wall_time_and_peak_rss_of_the_child(tmp_path: Path) -> None:
    step = Step("alloc", _allocating(200))
    m = bench.measure(step, {}, tmp_path, tmp_path / "logs" / "alloc.log", sample_seconds=0.05)
    assert m.status == "ok" and m.exit_code == 0
    assert m.seconds is not None and 0.6 <= m.seconds < 30
    assert m.peak_rss_bytes is not None and 200 * MIB <= m.peak_rss_bytes < 400 * MIB
    assert m.peak_tree_rss_bytes is not None and m.peak_tree_rss_bytes >= 200 * MIB
    assert Path(m.log or "").exists()


def test_peaks_cover_grandchildren_like_dbt_under_derived_build(tmp_path: Path) -> None:
    grandchild = _allocating(250, seconds=1.0)
    parent = _python(
        f"""
        import subprocess
        subprocess.run({grandchild!r}, check=True)
        """
    )
    m = bench.measure(Step("tree", parent), {}, tmp_path, tmp_path / "tree.log", 0.05)
    assert m.status == "ok"
    assert m.peak_rss_bytes is not None and m.peak_rss_bytes >= 250 * MIB
    assert m.peak_tree_rss_bytes is not None and m.peak_tree_rss_bytes >= 250 * MIB


def test_a_small_child_measures_small(tmp_path: Path) -> None:
    # Linux keeps a process's RSS high-water mark across fork and exec, so a child's ru_maxrss
    # starts at its parent's size. Measure from a fresh, small parent, as `derived bench` is,
    # not from this pytest process (which grows with the suite's other tests).
    code = f"""
        import sys
        from pathlib import Path
        from derived_tables import bench
        from derived_tables.bench import Step
        work = Path({str(tmp_path)!r})
        m = bench.measure(Step("small", [sys.executable, "-c", "pass"]), {{}}, work, work / "s.log")
        print(m.peak_rss_bytes)
        """
    out = subprocess.run(_python(code), capture_output=True, text=True, check=True)
    peak = int(out.stdout.split()[-1])
    assert peak < 150 * MIB


def test_output_and_exit_code_are_kept(tmp_path: Path) -> None:
    step = Step("fails", _python("import sys; print('boom on stdout'); sys.exit(3)"))
    m = bench.measure(step, {}, tmp_path, tmp_path / "f.log")
    assert (m.status, m.exit_code) == ("failed", 3)
    assert "boom on stdout" in Path(m.log or "").read_text()


def test_failed_required_step_skips_the_rest(tmp_path: Path) -> None:
    steps = [
        Step("one", _python("pass")),
        Step("two", _python("raise SystemExit(1)")),
        Step("three", _python("pass")),
    ]
    seen: list[str] = []
    results = bench.run_steps(steps, {}, tmp_path, tmp_path / "logs", lambda s: seen.append(s.name))
    assert [(m.step, m.status) for m in results] == [
        ("one", "ok"),
        ("two", "failed"),
        ("three", "skipped"),
    ]
    assert seen == ["one", "two"]
    assert results[2].seconds is None and results[2].peak_rss_bytes is None
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["01-one.log", "02-two.log"]


def test_failed_optional_step_lets_the_run_go_on(tmp_path: Path) -> None:
    steps = [
        Step("build", _python("raise SystemExit(1)"), required=False),
        Step("after", _python("pass")),
    ]
    results = bench.run_steps(steps, {}, tmp_path, tmp_path / "logs")
    assert [m.status for m in results] == ["failed", "ok"]


def test_children_run_in_the_work_folder_with_the_given_environment(tmp_path: Path) -> None:
    step = Step(
        "env",
        _python(
            """
            import os, pathlib
            pathlib.Path("seen.txt").write_text(os.environ["DERIVED_DATA_DIR"])
            """
        ),
    )
    assert bench.measure(step, {"DERIVED_DATA_DIR": "xyz"}, tmp_path, tmp_path / "e.log").status
    assert (tmp_path / "seen.txt").read_text() == "xyz"


def test_default_steps_are_the_five_benchmarked_commands(tmp_path: Path) -> None:
    project, work = tmp_path / "project", tmp_path / "work"
    steps = bench.default_steps(0.5, 7, project, work)
    assert [s.name for s in steps] == [
        "generate",
        "build (full)",
        "model floor",
        "generate --next-day",
        "build (incremental)",
    ]
    assert [s.required for s in steps] == [True, False, False, True, False]
    assert all(s.argv[:3] == [sys.executable, "-m", "derived_tables.cli"] for s in steps)
    generate, full, floor, next_day, incremental = (s.argv[3:] for s in steps)

    def value(argv: list[str], option: str) -> str:
        return argv[argv.index(option) + 1]

    assert generate[0] == "generate" and "--next-day" not in generate
    assert (value(generate, "--scale"), value(generate, "--seed")) == ("0.5", "7")
    assert next_day[:2] == ["generate", "--next-day"] and "--scale" not in next_day
    for argv in (generate, next_day):  # never the project's own data or truth file
        assert value(argv, "--out") == str(work / "data" / "curated")
        assert value(argv, "--truth-out") == str(work / "data" / "truth")
    assert full[0] == "build" and "--full-refresh" in full
    assert incremental[0] == "build" and "--full-refresh" not in incremental
    for argv in (generate, full, next_day, incremental):
        assert value(argv, "--project-dir") == str(project)
    # The floor reads what the full build wrote, and writes only into the work folder.
    assert floor[0] == "floor"
    assert value(floor, "--manifest") == str(work / "target" / "manifest.json")
    assert value(floor, "--warehouse") == str(work / "warehouse" / "derived_tables.duckdb")
    assert value(floor, "--json-out") == str(bench.floor_json(work))
    assert Path(value(floor, "--work-dir")).is_relative_to(work)


@pytest.mark.parametrize(
    ("engine", "target"), [("spark", "spark"), ("spark-cluster", "spark_cluster")]
)
def test_spark_steps_are_generate_and_the_full_build_on_the_engines_target(
    tmp_path: Path, engine: str, target: str
) -> None:
    project, work = tmp_path / "project", tmp_path / "work"
    duckdb_steps = bench.default_steps(0.5, 7, project, work)
    steps = bench.spark_steps(0.5, 7, project, work, engine)
    assert [s.name for s in steps] == ["generate", "build (full)"]
    assert steps[0] == duckdb_steps[0]
    build = steps[1].argv
    assert build[: len(duckdb_steps[1].argv)] == duckdb_steps[1].argv
    assert build[build.index("--target") + 1] == target
    when = dt.datetime(2024, 1, 31, 12, tzinfo=dt.UTC)
    assert bench.results_path(Path("out"), 0.5, when, engine) == Path(
        f"out/bench-{engine}-0.5-2024-01-31.json"
    )


def test_environment_keeps_everything_in_the_work_folder(tmp_path: Path) -> None:
    work, project = tmp_path / "work", tmp_path / "project"
    env = bench.bench_environment(work, project)
    for name in (
        "DERIVED_DATA_DIR",
        "DERIVED_WAREHOUSE",
        "DUCKDB_TEMP_DIRECTORY",
        "DERIVED_SPARK_WAREHOUSE",
        "DBT_TARGET_PATH",
        "DBT_LOG_PATH",
    ):
        assert Path(env[name]).is_relative_to(work), name
    assert env["DERIVED_WAREHOUSE"].endswith("derived_tables.duckdb")
    assert env["DBT_PROJECT_DIR"] == str(project)


@pytest.mark.parametrize(("scale", "text"), [(1.0, "1"), (0.5, "0.5"), (100.0, "100")])
def test_scale_in_file_names(scale: float, text: str) -> None:
    when = dt.datetime(2024, 1, 31, 12, tzinfo=dt.UTC)
    assert bench.results_path(Path("out"), scale, when) == Path(f"out/bench-{text}-2024-01-31.json")


def _fake_steps(fail: str | None = None) -> Callable[..., list[Step]]:
    """Stand-ins for the five commands, writing what the real ones would into the work folder."""

    def steps(scale: float, seed: int, project_dir: Path, work_dir: Path) -> list[Step]:
        writes_data = _python(
            """
            import os, pathlib
            part = pathlib.Path(os.environ["DERIVED_DATA_DIR"]) / "nomis/offenders/d=1/p.parquet"
            part.parent.mkdir(parents=True, exist_ok=True)
            part.write_bytes(b"p" * 1000)
            """
        )
        writes_warehouse = _python(
            """
            import os, pathlib
            warehouse = pathlib.Path(os.environ["DERIVED_WAREHOUSE"])
            warehouse.parent.mkdir(parents=True, exist_ok=True)
            warehouse.write_bytes(b"w" * 4096)
            """
        )
        writes_run_results = f"""
            import json, os, pathlib, time
            time.sleep(0.3)
            target = pathlib.Path({str(work_dir / "target")!r})
            target.mkdir(parents=True, exist_ok=True)
            timing = [{{"name": "execute", "started_at": "2024-01-01T00:00:00Z",
                        "completed_at": "2024-01-01T00:00:02.5Z"}}]
            results = [{{"unique_id": "model.p.a", "timing": timing}},
                       {{"unique_id": "test.p.t1", "timing": timing}},
                       {{"unique_id": "test.p.t2", "timing": timing}}]
            (target / "run_results.json").write_text(json.dumps({{"results": results}}))
            """
        build = _python(writes_warehouse[-1] + textwrap.dedent(writes_run_results))
        writes_floor = _python(
            f"""
            import json, pathlib
            path = pathlib.Path({str(bench.floor_json(work_dir))!r})
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({{"floor_seconds": 0.1, "models": []}}))
            """
        )
        failing = _python("raise SystemExit(2)")
        names = [
            "generate",
            "build (full)",
            "model floor",
            "generate --next-day",
            "build (incremental)",
        ]
        argvs = [writes_data, build, writes_floor, writes_data, build]
        return [
            Step(name, failing if name == fail else argv, required=name.startswith("generate"))
            for name, argv in zip(names, argvs, strict=True)
        ]

    return steps


def test_command_prints_a_table_and_writes_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "default_steps", _fake_steps())
    work, out = tmp_path / "work", tmp_path / "out"
    result = CliRunner().invoke(
        bench.bench,
        ["--scale", "0.5", "--seed", "3", "--work-dir", str(work), "--output-dir", str(out)],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    for name in (
        "generate",
        "build (full)",
        "model floor",
        "generate --next-day",
        "build (incremental)",
    ):
        assert name in result.output
    assert "full build / model floor = " in result.output
    [path] = out.glob("bench-0.5-*.json")
    assert path.name == f"bench-0.5-{dt.datetime.now(dt.UTC).date().isoformat()}.json"
    data = json.loads(path.read_text())
    assert data["ok"] is True and data["scale"] == 0.5 and data["seed"] == 3
    assert [s["status"] for s in data["steps"]] == ["ok"] * 5
    assert all(s["seconds"] > 0 and s["peak_rss_bytes"] > 0 for s in data["steps"])
    assert data["outputs"]["curated_parquet"] == {"files": 1, "bytes": 1000}
    assert data["outputs"]["warehouse_bytes"] == 4096
    # Ratios from the measured steps and the floor's own JSON.
    steps = {s["step"]: s["seconds"] for s in data["steps"]}
    summary = data["summary"]
    assert summary["floor_seconds"] == 0.1
    assert summary["full_over_floor"] == pytest.approx(steps["build (full)"] / 0.1, rel=1e-2)
    assert summary["incremental_over_full"] == pytest.approx(
        steps["build (incremental)"] / steps["build (full)"], rel=1e-2
    )
    assert summary["peak_tree_rss_bytes"] == max(s["peak_tree_rss_bytes"] for s in data["steps"])
    # Each build's run results are summarised by node type (kept before the next build).
    for build in ("build (full)", "build (incremental)"):
        assert data["outputs"]["dbt_node_seconds"][build] == {
            "model": {"nodes": 1, "seconds": 2.5},
            "test": {"nodes": 2, "seconds": 5.0},
        }
    assert (out / "bench-chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert data["host"]["cpu_count"] and data["host"]["versions"]["dbt-core"]
    assert work.exists()  # an explicit work folder is kept


def test_failed_build_is_reported_and_exits_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "default_steps", _fake_steps(fail="build (full)"))
    out = tmp_path / "out"
    work = tmp_path / "tmp-work"
    monkeypatch.setattr(bench.tempfile, "mkdtemp", lambda prefix: str(work.mkdir() or work))
    result = CliRunner().invoke(bench.bench, ["--output-dir", str(out)], terminal_width=200)
    assert result.exit_code == 1
    assert "build (full) failed (exit 2)" in result.output
    data = json.loads(next(out.glob("bench-1-*.json")).read_text())
    assert data["ok"] is False
    assert [s["status"] for s in data["steps"]] == ["ok", "failed", "ok", "ok", "ok"]
    assert data["summary"]["full_over_floor"] is None
    assert data["summary"]["incremental_over_full"] is None
    assert work.exists()  # kept for its logs, since a step failed


def test_temporary_work_folder_is_removed_after_success(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "default_steps", _fake_steps())
    work = tmp_path / "tmp-work"
    monkeypatch.setattr(bench.tempfile, "mkdtemp", lambda prefix: str(work.mkdir() or work))
    result = CliRunner().invoke(bench.bench, ["--output-dir", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert not work.exists()


def test_failed_generate_skips_the_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "default_steps", _fake_steps(fail="generate"))
    out = tmp_path / "out"
    args = ["--work-dir", str(tmp_path / "w"), "--output-dir", str(out)]
    assert CliRunner().invoke(bench.bench, args).exit_code == 1
    data = json.loads(next(out.glob("*.json")).read_text())
    assert [s["status"] for s in data["steps"]] == ["failed"] + ["skipped"] * 4


def test_non_empty_work_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "old.txt").write_text("x")
    result = CliRunner().invoke(bench.bench, ["--work-dir", str(tmp_path / "w")])
    assert result.exit_code != 0 and "is not empty" in result.output


def _result_json(folder: Path, scale: float, started: str, seconds: float) -> None:
    steps = [
        {"step": name, "status": "ok", "seconds": seconds * k, "peak_tree_rss_bytes": 2**30 * k}
        for k, name in enumerate(("generate", "build (full)", "model floor"), start=1)
    ]
    payload = {"scale": scale, "started_at": started, "steps": steps, "host": {}}
    (folder / f"bench-{scale:g}-{started[:10]}.json").write_text(json.dumps(payload))


def test_chart_is_drawn_from_the_latest_result_at_each_scale(tmp_path: Path) -> None:
    _result_json(tmp_path, 1.0, "2024-01-01T10:00:00+00:00", 10.0)
    _result_json(tmp_path, 1.0, "2024-01-02T10:00:00+00:00", 20.0)
    _result_json(tmp_path, 10.0, "2024-01-02T11:00:00+00:00", 200.0)
    (tmp_path / "bench-junk.json").write_text("not json")
    spark = {"scale": 1.0, "engine": "spark", "started_at": "2024-01-03T10:00:00+00:00"}
    (tmp_path / "bench-spark-1-2024-01-03.json").write_text(json.dumps(spark))
    latest = bench.latest_results_by_scale(tmp_path)
    assert [(r["scale"], r["steps"][0]["seconds"]) for r in latest] == [(1.0, 20.0), (10.0, 200.0)]
    chart = bench.write_chart(tmp_path)
    assert chart == tmp_path / "bench-chart.png"
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000


def test_no_chart_without_results(tmp_path: Path) -> None:
    assert bench.write_chart(tmp_path) is None
    assert not (tmp_path / "bench-chart.png").exists()


def test_dbt_node_seconds_sums_execute_timings_by_node_type() -> None:
    def row(uid: str, start: str, end: str) -> dict[str, object]:
        compile_ = {"name": "compile", "started_at": "2024-01-01T00:00:00Z",
                    "completed_at": "2024-01-01T00:01:00Z"}  # fmt: skip
        execute = {"name": "execute", "started_at": start, "completed_at": end}
        return {"unique_id": uid, "timing": [compile_, execute]}

    run_results = {
        "results": [
            row("model.p.a", "2024-01-01T00:00:00Z", "2024-01-01T00:00:01.5Z"),
            row("test.p.b", "2024-01-01T00:00:00Z", "2024-01-01T00:00:02Z"),
            row("test.p.c", "2024-01-01T00:00:00Z", "2024-01-01T00:00:03Z"),
            {"unique_id": "seed.p.s", "timing": []},  # skipped: no timing
        ]
    }
    assert bench.dbt_node_seconds(run_results) == {
        "model": {"nodes": 1, "seconds": 1.5},
        "test": {"nodes": 2, "seconds": 5.0},
        "seed": {"nodes": 1, "seconds": 0.0},
    }


def test_commit_of_a_git_archive_export_comes_from_git_archival(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    export = tmp_path / "export"
    export.mkdir()
    archive = subprocess.run(
        ["git", "archive", "HEAD", ".git_archival.txt"], cwd=repo, capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(export)], input=archive.stdout, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "--short=7", "HEAD"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    assert bench.project_commit(export) == head
    assert bench.project_commit(tmp_path) is None


def test_nodes_running_at_the_peak_are_those_whose_timing_spans_it() -> None:
    def row(uid: str, start: str, end: str) -> dict[str, object]:
        return {
            "unique_id": uid,
            "timing": [{"name": "execute", "started_at": start, "completed_at": end}],
        }

    run_results = {
        "results": [
            row("model.p.linked", "2024-01-01T00:00:00Z", "2024-01-01T00:00:10Z"),
            row("test.p.t", "2024-01-01T00:00:05Z", "2024-01-01T00:00:06Z"),
            row("model.p.later", "2024-01-01T00:00:11Z", "2024-01-01T00:00:12Z"),
            {"unique_id": "seed.p.s", "timing": []},
        ]
    }
    at = "2024-01-01T00:00:05.500000+00:00"
    assert bench.nodes_running_at(run_results, at) == ["model.p.linked", "test.p.t"]
    assert bench.nodes_running_at(run_results, "2024-01-01T00:00:30+00:00") == []


def test_measure_records_when_the_tree_peaked(tmp_path: Path) -> None:
    step = Step("alloc", _allocating(200))
    before = dt.datetime.now(dt.UTC)
    m = bench.measure(step, {}, tmp_path, tmp_path / "logs" / "alloc.log", sample_seconds=0.05)
    after = dt.datetime.now(dt.UTC)
    assert m.peak_tree_at is not None
    assert before <= dt.datetime.fromisoformat(m.peak_tree_at) <= after


def test_build_phases_are_read_from_the_lines_derived_build_prints() -> None:
    log = "\n".join(
        [
            "[derived build] as-of date 2026-12-05 (from the machine's UTC date)",
            "[derived build] pin in 0.3 s",
            "[derived build] prepare candidate in 12.5 s",
            "12:00:00  1 of 4 OK created sql table model main.x ... [OK in 2.00s]",
            "[derived build] dbt build in 88.0 s",
            "[derived build] export in 20.1 s",
            "[derived build] checkpoint and publish in 3.0 s",
            "[derived build] published /w/derived_tables.duckdb in 124s",
        ]
    )
    assert bench.build_phases(log) == {
        "pin": 0.3,
        "prepare candidate": 12.5,
        "dbt build": 88.0,
        "export": 20.1,
        "checkpoint and publish": 3.0,
    }


def test_a_step_reports_its_time_and_peaks_as_it_ends() -> None:
    m = bench.Measurement(
        step="build (full)",
        command=[],
        status="ok",
        seconds=12.345,
        peak_rss_bytes=3 * 1024**3,
        peak_tree_rss_bytes=None,
    )
    assert bench.step_line(m) == "build (full): ok in 12.3 s, peak 3,072 MiB (process tree - MiB)"
