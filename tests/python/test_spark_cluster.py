"""`derived spark-cluster`: the master's view is read and described, and a real cluster starts
(a master and 2 workers, each its own JVM, on 127.0.0.1) and stops by its pid files.

The JVM test uses its own ports and folder, so it never meets a developer's cluster; it is
skipped without Java or pyspark (`make install-spark`), failed with `DERIVED_REQUIRE_SPARK=1`.
Cost: about 20 s (three JVMs start, then stop).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from derived_tables import spark_cluster

STATE = {
    "url": "spark://127.0.0.1:7077",
    "status": "ALIVE",
    "cores": 2,
    "memory": 4096,
    "workers": [
        {"id": "worker-1", "host": "127.0.0.1", "cores": 1, "coresused": 1, "memory": 2048,
         "state": "ALIVE"},
        {"id": "worker-0", "host": "127.0.0.1", "cores": 1, "coresused": 0, "memory": 2048,
         "state": "DEAD"},
    ],
    "activeapps": [{"id": "app-1", "name": "derived-tables", "cores": 1, "state": "RUNNING"}],
}  # fmt: skip


def test_alive_workers_and_description() -> None:
    assert [w["id"] for w in spark_cluster.alive_workers(STATE)] == ["worker-1"]
    assert spark_cluster.alive_workers(None) == []
    settings = spark_cluster.default_settings(Path("/project"))
    text = spark_cluster.describe(STATE, settings)
    assert "1 alive worker(s)" in text and "worker-1" in text and "worker-0" not in text
    assert "application app-1 derived-tables: 1 cores, RUNNING" in text
    assert spark_cluster.describe(None, settings).startswith("no master answers on")


def test_daemons_write_only_into_the_cluster_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(spark_cluster.CLUSTER_DIR_ENV, "elsewhere/cluster")
    monkeypatch.setenv("SPARK_NO_DAEMONIZE", "1")
    settings = spark_cluster.default_settings(tmp_path)
    assert settings.folder == (tmp_path / "elsewhere" / "cluster").resolve()
    assert settings.master_url == "spark://127.0.0.1:7077"
    env = settings.environment(Path("/spark"))
    for name in ("SPARK_LOG_DIR", "SPARK_PID_DIR", "SPARK_WORKER_DIR"):
        assert Path(env[name]).is_relative_to(settings.folder), name
    assert env["SPARK_LOCAL_IP"] == "127.0.0.1"
    assert "SPARK_NO_DAEMONIZE" not in env  # daemons must leave the pid files `down` reads


def test_status_exits_1_when_no_master_answers(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        spark_cluster.spark_cluster,
        ["--webui-port", "1", "--project-dir", str(tmp_path), "status"],
    )
    assert result.exit_code == 1
    assert "no master answers on http://127.0.0.1:1/json/" in result.output


def _spark_missing() -> str | None:
    if shutil.which("java") is None:
        return "no java on PATH (make install-spark)"
    try:
        import pyspark  # noqa: F401
    except ImportError as error:
        return f"the spark extra is not installed ({error}); run make install-spark"
    return None


def test_a_master_and_two_workers_start_and_stop(tmp_path: Path) -> None:
    missing = _spark_missing()
    if missing and os.environ.get("DERIVED_REQUIRE_SPARK") == "1":
        pytest.fail(f"DERIVED_REQUIRE_SPARK=1 but {missing}", pytrace=False)
    if missing:
        pytest.skip(missing)
    settings = dataclasses.replace(
        spark_cluster.default_settings(tmp_path),
        folder=tmp_path / "cluster",
        port=17077,
        webui_port=18090,
        worker_memory="512m",
    )
    try:
        state = spark_cluster.up(settings)
        workers = spark_cluster.alive_workers(state)
        assert len(workers) == 2, state
        assert {w["host"] for w in workers} == {"127.0.0.1"}
        assert state["url"] == "spark://127.0.0.1:17077"
        pids = sorted((settings.folder / "pids").glob("*.pid"))
        assert len(pids) == 3, pids  # the master and both workers, each its own process
        running = [int(p.read_text()) for p in pids]
        assert len(set(running)) == 3
    finally:
        spark_cluster.down(settings)
    assert spark_cluster.master_state(settings) is None
    for pid in running:
        assert not Path(f"/proc/{pid}").exists() or "java" not in Path(
            f"/proc/{pid}/cmdline"
        ).read_text(errors="replace"), f"daemon {pid} still running after down"


def test_down_waits_for_the_daemons_to_exit() -> None:
    """``spark-daemon.sh stop`` only signals; ``down`` must not return while a JVM still serves."""
    quick = subprocess.Popen(["sleep", "1"])
    started = time.monotonic()
    spark_cluster.wait_for_exit({"worker 1": quick.pid}, timeout=30)
    assert time.monotonic() - started >= 0.9
    assert quick.poll() is not None or not spark_cluster._running(quick.pid)


def test_down_kills_a_daemon_that_ignores_sigterm(capsys: pytest.CaptureFixture[str]) -> None:
    stubborn = subprocess.Popen(["bash", "-c", "trap '' TERM; exec sleep 60"])
    try:
        spark_cluster.wait_for_exit({"master 1": stubborn.pid}, timeout=1)
        assert stubborn.wait(timeout=10) == -9
        assert (
            f"master 1 (pid {stubborn.pid}) still up after 1 s: SIGKILL" in capsys.readouterr().out
        )
    finally:
        if stubborn.poll() is None:
            stubborn.kill()
