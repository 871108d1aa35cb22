"""``derived spark-cluster up|down|status``: a Spark standalone cluster on this machine.

A master and two workers, each its own JVM, bound to 127.0.0.1 and started from the pyspark
distribution installed by the ``spark`` extra (``pyspark/sbin/spark-daemon.sh`` running
``org.apache.spark.deploy.master.Master`` and ``...worker.Worker`` through ``bin/spark-class``;
the pip package has no ``start-master.sh``). Everything the daemons write goes to the
git-ignored ``warehouse/spark-cluster/`` (``SPARK_CLUSTER_DIR``): ``logs/`` (one log per daemon),
``pids/`` (the pid files ``down`` stops them by) and ``work/`` (each executor's folder, with its
stdout/stderr).

The ``spark_cluster`` target of profiles.yml points dbt at the master
(``spark.master=spark://127.0.0.1:7077``, the ``session`` method: the driver stays in the dbt
process, its executors run in the workers' JVMs), so a build on the cluster is
``derived build --target spark_cluster``. ``status`` reads the master's JSON
(``http://127.0.0.1:<web UI port>/json/``): the alive workers and the applications running,
with the cores each holds.

Nothing listens beyond 127.0.0.1, nothing is downloaded: the jars are pyspark's own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from derived_tables.publish import default_project_dir

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
HOST = "127.0.0.1"
IDENT = "derived"
CLUSTER_DIR_ENV = "SPARK_CLUSTER_DIR"
DEFAULT_CLUSTER_DIR = Path("warehouse") / "spark-cluster"
#: How long ``up`` waits for the master to list every worker as ALIVE.
START_TIMEOUT_SECONDS = 180.0


@dataclass(frozen=True)
class ClusterSettings:
    """Where the daemons live and how big they are (every value from an option or default)."""

    folder: Path
    port: int
    webui_port: int
    workers: int
    worker_cores: int
    worker_memory: str

    @property
    def master_url(self) -> str:
        return f"spark://{HOST}:{self.port}"

    @property
    def json_url(self) -> str:
        return f"http://{HOST}:{self.webui_port}/json/"

    def environment(self, spark_home: Path) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            SPARK_HOME=str(spark_home),
            SPARK_LOG_DIR=str(self.folder / "logs"),
            SPARK_PID_DIR=str(self.folder / "pids"),
            SPARK_WORKER_DIR=str(self.folder / "work"),
            SPARK_IDENT_STRING=IDENT,
            SPARK_LOCAL_IP=HOST,
            SPARK_MASTER_HOST=HOST,
        )
        env.pop("SPARK_NO_DAEMONIZE", None)  # daemonise: pid files are how `down` stops them
        return env


DEFAULT_PORT = 7077
DEFAULT_WEBUI_PORT = 8090
DEFAULT_WORKERS = 2
DEFAULT_WORKER_CORES = 1
DEFAULT_WORKER_MEMORY = "2g"


def default_settings(project_dir: Path) -> ClusterSettings:
    """The cluster ``make spark-cluster-up`` starts (what the ``spark_cluster`` target expects)."""
    return ClusterSettings(
        folder=resolve_folder(project_dir),
        port=DEFAULT_PORT,
        webui_port=DEFAULT_WEBUI_PORT,
        workers=DEFAULT_WORKERS,
        worker_cores=DEFAULT_WORKER_CORES,
        worker_memory=DEFAULT_WORKER_MEMORY,
    )


def spark_home() -> Path:
    """The pyspark distribution's folder (``bin/spark-class``, ``sbin/spark-daemon.sh``)."""
    try:
        import pyspark
    except ImportError:
        raise click.ClickException(
            "pyspark is not installed: run `make install-spark` (the spark extra and Java)"
        ) from None
    home = Path(pyspark.__file__).parent
    if not (home / "sbin" / "spark-daemon.sh").exists():
        raise click.ClickException(f"{home} has no sbin/spark-daemon.sh: not a full pyspark")
    if shutil.which("java") is None:
        raise click.ClickException("no java on the PATH: run `make install-spark`")
    return home


def resolve_folder(project_dir: Path) -> Path:
    raw = Path(os.environ.get(CLUSTER_DIR_ENV) or DEFAULT_CLUSTER_DIR).expanduser()
    return (raw if raw.is_absolute() else project_dir / raw).resolve()


def daemon(settings: ClusterSettings, home: Path, action: str, *args: str) -> None:
    """``spark-daemon.sh <action> <args>``; raises naming the daemon's log when it fails."""
    command = [str(home / "sbin" / "spark-daemon.sh"), action, *args]
    result = subprocess.run(
        command,
        env=settings.environment(home),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise click.ClickException(
            f"{' '.join(command[1:])} failed ({result.returncode}): "
            f"{(result.stdout + result.stderr).strip()} (logs in {settings.folder / 'logs'})"
        )
    output = (result.stdout + result.stderr).strip()
    if output:
        click.echo(f"[spark-cluster] {output}")


def master_state(settings: ClusterSettings, timeout: float = 5.0) -> dict[str, Any] | None:
    """The master's JSON status, or None when it does not answer."""
    try:
        with urllib.request.urlopen(settings.json_url, timeout=timeout) as response:
            return dict(json.loads(response.read().decode("utf-8")))
    except (OSError, ValueError):
        return None


def alive_workers(state: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not state:
        return []
    return [w for w in state.get("workers", []) if w.get("state") == "ALIVE"]


def describe(state: dict[str, Any] | None, settings: ClusterSettings) -> str:
    if state is None:
        return f"no master answers on {settings.json_url}"
    workers = alive_workers(state)
    lines = [
        f"master {state.get('url')} {state.get('status')}: {len(workers)} alive worker(s), "
        f"{state.get('cores')} cores, {state.get('memory')} MiB",
    ]
    lines += [
        f"  worker {w.get('id')} {w.get('host')}: {w.get('cores')} cores "
        f"({w.get('coresused')} used), {w.get('memory')} MiB"
        for w in workers
    ]
    for app in state.get("activeapps", []):
        lines.append(
            f"  application {app.get('id')} {app.get('name')}: {app.get('cores')} cores, "
            f"{app.get('state')}"
        )
    return "\n".join(lines)


def up(settings: ClusterSettings) -> dict[str, Any]:
    home = spark_home()
    for sub in ("logs", "pids", "work"):
        (settings.folder / sub).mkdir(parents=True, exist_ok=True)
    if alive_workers(master_state(settings)):
        raise click.ClickException(
            f"a master already answers on {settings.json_url}: run `make spark-cluster-down` "
            "first (or choose other ports)"
        )
    daemon(
        settings,
        home,
        "start",
        MASTER_CLASS,
        "1",
        "--host",
        HOST,
        "--port",
        str(settings.port),
        "--webui-port",
        str(settings.webui_port),
    )
    for number in range(1, settings.workers + 1):
        daemon(
            settings,
            home,
            "start",
            WORKER_CLASS,
            str(number),
            "--host",
            HOST,
            "--cores",
            str(settings.worker_cores),
            "--memory",
            settings.worker_memory,
            "--webui-port",
            str(settings.webui_port + number),
            "--work-dir",
            str(settings.folder / "work"),
            settings.master_url,
        )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    state = master_state(settings)
    while len(alive_workers(state)) < settings.workers:
        if time.monotonic() > deadline:
            down(settings)
            raise click.ClickException(
                f"the master did not list {settings.workers} alive workers within "
                f"{START_TIMEOUT_SECONDS:.0f} s ({describe(state, settings)}); stopped them. "
                f"Logs: {settings.folder / 'logs'}"
            )
        time.sleep(2)
        state = master_state(settings)
    assert state is not None
    return state


#: How long ``down`` waits for a stopped daemon's JVM to exit before it kills it.
STOP_TIMEOUT_SECONDS = 60.0


def pid_file(settings: ClusterSettings, daemon_class: str, number: int) -> Path:
    """Where ``spark-daemon.sh`` keeps a daemon's pid (``spark-<ident>-<class>-<n>.pid``)."""
    return settings.folder / "pids" / f"spark-{IDENT}-{daemon_class}-{number}.pid"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) has stopped serving
        status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return status != "Z"


def wait_for_exit(pids: dict[str, int], timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """Wait until every process has exited; SIGKILL (with a message) any still up at the end.

    ``spark-daemon.sh stop`` only sends SIGTERM and returns, so without this wait the master can
    still answer (and hold its ports) for a while after ``down``: a ``status`` or ``up`` straight
    after would see the old cluster.
    """
    deadline = time.monotonic() + timeout
    waiting = {name: pid for name, pid in pids.items() if _running(pid)}
    while waiting and time.monotonic() < deadline:
        time.sleep(0.5)
        waiting = {name: pid for name, pid in waiting.items() if _running(pid)}
    for name, pid in waiting.items():
        click.echo(f"[spark-cluster] {name} (pid {pid}) still up after {timeout:.0f} s: SIGKILL")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)


def down(settings: ClusterSettings) -> None:
    """Stop the workers then the master by their pid files (a daemon not running is skipped).

    Returns once their JVMs have exited, so the master no longer answers.
    """
    home = spark_home()
    daemons = [(WORKER_CLASS, n) for n in range(settings.workers, 0, -1)] + [(MASTER_CLASS, 1)]
    pids: dict[str, int] = {}
    for daemon_class, number in daemons:
        path = pid_file(settings, daemon_class, number)
        with contextlib.suppress(OSError, ValueError):  # not started, or already stopped
            pids[f"{daemon_class.rsplit('.', 1)[-1].lower()} {number}"] = int(path.read_text())
        daemon(settings, home, "stop", daemon_class, str(number))
    wait_for_exit(pids)


# --------------------------------------------------------------------------------------------
# Command
# --------------------------------------------------------------------------------------------


@click.group("spark-cluster")
@click.option("--port", type=int, default=DEFAULT_PORT, show_default=True, help="Master port.")
@click.option(
    "--webui-port",
    type=int,
    default=DEFAULT_WEBUI_PORT,
    show_default=True,
    help="Master web UI and JSON port (worker N uses this + N).",
)
@click.option("--workers", type=click.IntRange(min=1), default=DEFAULT_WORKERS, show_default=True)
@click.option(
    "--worker-cores", type=click.IntRange(min=1), default=DEFAULT_WORKER_CORES, show_default=True
)
@click.option(
    "--worker-memory",
    default=DEFAULT_WORKER_MEMORY,
    show_default=True,
    help="Memory each worker offers its executors.",
)
@click.option(
    "--project-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Project folder (default: DBT_PROJECT_DIR, else the project root).",
)
@click.pass_context
def spark_cluster(
    context: click.Context,
    port: int,
    webui_port: int,
    workers: int,
    worker_cores: int,
    worker_memory: str,
    project_dir: Path | None,
) -> None:
    """A Spark standalone cluster on 127.0.0.1: a master and workers, each its own JVM.

    Logs, pid files and executor folders go to warehouse/spark-cluster/ (SPARK_CLUSTER_DIR).
    Build on it with `derived build --target spark_cluster`.
    """
    project = (project_dir or default_project_dir()).resolve()
    context.obj = dataclasses.replace(
        default_settings(project),
        port=port,
        webui_port=webui_port,
        workers=workers,
        worker_cores=worker_cores,
        worker_memory=worker_memory,
    )


@spark_cluster.command("up")
@click.pass_obj
def up_command(settings: ClusterSettings) -> None:
    """Start the master and the workers; wait until every worker is ALIVE."""
    state = up(settings)
    click.echo(describe(state, settings))
    click.echo(f"[spark-cluster] up: {settings.master_url}; logs in {settings.folder / 'logs'}")


@spark_cluster.command("down")
@click.pass_obj
def down_command(settings: ClusterSettings) -> None:
    """Stop the workers and the master (by their pid files)."""
    down(settings)
    click.echo("[spark-cluster] down")


@spark_cluster.command("status")
@click.pass_obj
def status_command(settings: ClusterSettings) -> None:
    """The master's view: alive workers, cores, running applications (exit 1 if none)."""
    state = master_state(settings)
    click.echo(describe(state, settings))
    if state is None:
        raise click.exceptions.Exit(1)
