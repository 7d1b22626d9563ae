"""Kills, interrupts and failures lose nothing and leave nothing running.

These start the real command in a process of its own and signal it as a terminal or a user would:
``kill -9`` of the parent, Ctrl-C to the whole process group (what a terminal sends), a full disk.
Waits have generous limits as hang guards; they are not benchmarks.
"""

from __future__ import annotations

import contextlib
import errno
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from click.testing import CliRunner

from ctdild_sim.cli import main
from ctdild_sim.runs.export import STAGING_MARK, remove_stale_staging, write_tables
from ctdild_sim.runs.results import list_runs

from conftest import BASE_SCENARIO, ROOT, cpu_seconds

pytestmark = pytest.mark.signals

QUEUED_LOTS = """\
extends: {base}
name: many queued lots
product:
  vial_cells: 1.0e+8
  lots:
    yield_cells: {{dist: fixed, value: 1.0e+8}}
    lead_time_days: {{dist: fixed, value: 1}}
    qc_release_days: {{dist: fixed, value: 1}}
    shelf_life_days: 30
    failure_probability: 0.5
    max_parallel_campaigns: 1
  min_remaining_shelf_life_days: 0
  initial_stock_age_days: 0
  policy: {{kind: reorder_point, reorder_point_vials: 500}}
"""
"""One-vial lots that fail half the time and last a month, one campaign at a time: about a thousand
lots wait in the campaign queue of every replicate."""


def _start(args: list[str], extra_env: dict | None = None, **kwargs) -> subprocess.Popen:
    """The command in a new process group, with Ctrl-C at its default (as from a terminal)."""
    return subprocess.Popen(
        [sys.executable, "-m", "ctdild_sim", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(extra_env or {})},
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        **kwargs,
    )


def _wait_for(condition, what: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _children(proc: subprocess.Popen, wanted) -> list[psutil.Process]:
    """The command's live children whose command line is ``wanted`` (a zombie, or a child ending
    while it is looked at, is none of them)."""
    found = []
    for child in psutil.Process(proc.pid).children():
        with contextlib.suppress(psutil.Error):
            if wanted(" ".join(child.cmdline())) and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
    return found


def _workers(proc: subprocess.Popen) -> list[psutil.Process]:
    return _children(proc, lambda command: "resource_tracker" not in command)


def _gone(processes: list[psutil.Process]) -> bool:
    return all(not p.is_running() or p.status() == psutil.STATUS_ZOMBIE for p in processes)


def _ctrl_c(proc: subprocess.Popen) -> float:
    """Send Ctrl-C to the command's process group as a terminal does; seconds until it exits."""
    os.killpg(proc.pid, signal.SIGINT)
    started = time.monotonic()
    proc.wait(timeout=120)
    return time.monotonic() - started


@pytest.mark.slow
@pytest.mark.parametrize("scheduler", [[], ["--scheduler", "local"]], ids=["pool", "local dask"])
def test_a_killed_run_leaves_no_worker_running(tmp_path, scheduler):
    # one long task per worker: a worker never goes back to the task queue to find its parent gone
    proc = _start(
        [
            "run",
            str(BASE_SCENARIO),
            "-n",
            "100000",
            "-j",
            "2",
            "--chunk-size",
            "50000",
            "--results",
            str(tmp_path),
            "--quiet",
            *scheduler,
        ]
    )
    _wait_for(lambda: len(_workers(proc)) >= 2 and cpu_seconds(proc.pid) > 2, "the two workers to simulate")
    workers = _workers(proc)
    proc.kill()  # kill -9: no handler runs in the parent
    proc.wait(timeout=30)
    try:
        _wait_for(lambda: _gone(workers), "the workers to die with their parent", timeout=15)
    finally:
        for worker in workers:  # never leave orphans behind, even when the test fails
            if worker.is_running():
                worker.kill()


def test_a_killed_runs_staging_folder_is_removed_by_the_next_run(tmp_path):
    store = tmp_path / "results"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = store / f".20260101-000000-x{STAGING_MARK}{dead.pid}-abc"
    left.mkdir(parents=True)
    (left / "events.parquet").write_bytes(b"half written")
    alive = store / f".20260101-000001-y{STAGING_MARK}{os.getpid()}-def"  # a writer still running keeps its folder
    alive.mkdir()
    old = time.time() - 3600
    os.utime(left, (old, old))
    os.utime(alive, (old, old))
    result = CliRunner().invoke(
        main, ["run", str(BASE_SCENARIO), "-n", "2", "-j", "1", "--results", str(store), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert not left.exists() and alive.exists()
    assert [r.problem for r in list_runs(store)] == [None]


@pytest.mark.slow
def test_ctrl_c_with_many_queued_lots_stops_at_once(tmp_path):
    scenario = tmp_path / "queued.yaml"
    scenario.write_text(QUEUED_LOTS.format(base=BASE_SCENARIO))
    proc = _start(["run", str(scenario), "-n", "100000", "-j", "1", "--results", str(tmp_path / "r"), "--quiet"])
    _wait_for(
        lambda: proc.poll() is not None or cpu_seconds(proc.pid) > 4,
        "the replicates (each queues about a thousand lots)",
    )
    assert proc.poll() is None, proc.communicate()
    seconds = _ctrl_c(proc)
    err = proc.stderr.read()
    assert proc.returncode == 130, err
    assert err.strip() == "Interrupted: nothing was written."
    assert seconds < 5, f"took {seconds:.1f} s to stop"  # a hang guard: measured well under a second
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


SLOW_SAVE = """
import sys, time
import pandas as pd
write = pd.DataFrame.to_parquet
def slow(self, *args, **kwargs):
    write(self, *args, **kwargs)
    time.sleep(0.5)
pd.DataFrame.to_parquet = slow
from ctdild_sim.cli import main
sys.argv[0] = "ctdild-sim"
main()
"""


def test_ctrl_c_during_the_save_exits_130_and_leaves_nothing(tmp_path):
    store = tmp_path / "results"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SLOW_SAVE,
            "run",
            str(BASE_SCENARIO),
            "-n",
            "4",
            "-j",
            "1",
            "--results",
            str(store),
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    _wait_for(lambda: store.is_dir() and any(STAGING_MARK in p.name for p in store.iterdir()), "the save to start")
    _ctrl_c(proc)
    err = proc.stderr.read()
    assert proc.returncode == 130, err
    assert "Interrupted: nothing was written." in err and "Traceback" not in err
    assert list(store.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["as its workers start", "once they compute"])
def test_ctrl_c_on_a_local_dask_cluster_exits_at_once_without_a_traceback(tmp_path, moment):
    """Ignored while the cluster started its workers, a Ctrl-C was lost and the run went on
    (finishing 21-34 s later); once they computed it took 4.4-5.2 s."""
    proc = _start(
        ["run", str(BASE_SCENARIO), "-n", "100000", "-j", "2", "--scheduler", "local", "--no-store", "--quiet"]
    )
    _wait_for(lambda: len(_workers(proc)) >= (1 if moment == "as its workers start" else 2), "the dask workers")
    if moment == "once they compute":
        _wait_for(lambda: sum(cpu_seconds(w.pid) for w in _workers(proc)) > 6, "the workers to simulate")
    workers = _workers(proc)
    seconds = _ctrl_c(proc)
    err = proc.stderr.read()
    assert proc.returncode == 130, err
    assert err.strip() == "Interrupted: nothing was written.", err
    assert seconds < 1.0
    _wait_for(lambda: _gone(workers), "the dask workers to end", timeout=15)


def test_ctrl_c_before_a_command_takes_charge_is_130_not_clicks_aborted(tmp_path):
    """Between loading and a command's own guard (reading the scenario, say), click turned a Ctrl-C
    into "Aborted!" and status 1."""
    script = (
        "import ctdild_sim.cli as cli\n"
        "def interrupted(*args, **kwargs):\n    raise KeyboardInterrupt\n"
        "cli._load = interrupted\n"
        f"cli.run_command(['run', {str(BASE_SCENARIO)!r}, '--results', "
        f"{str(tmp_path / 'results')!r}])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 130 and done.stderr.strip() == "Interrupted: nothing was written.", done.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("after", [0.2, 0.4, 0.7])
def test_ctrl_c_while_the_command_loads_exits_130_at_once_without_a_traceback(tmp_path, after):
    """A Ctrl-C in the first half second (while pandas and the rest load) printed a KeyboardInterrupt
    traceback."""
    proc = _start(["run", str(BASE_SCENARIO), "-n", "200", "--results", str(tmp_path / "results")])
    time.sleep(after)
    seconds = _ctrl_c(proc)
    err = proc.stderr.read()
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert err.strip() == "Interrupted: nothing was written.", err
    assert seconds < 1.0 and not (tmp_path / "results").exists()


@pytest.mark.slow
def test_a_local_dask_cluster_runs_quietly_when_its_usual_port_is_taken(tmp_path):
    """Dask's dashboard once took port 8787 and warned on stderr when another program held it (a
    test failed then, passing alone): it takes a free port now."""
    held = socket.socket()
    try:
        held.bind(("0.0.0.0", 8787))
        held.listen()
    except OSError:
        pass  # another program holds it already: the case to test
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "ctdild_sim",
                "run",
                str(BASE_SCENARIO),
                "-n",
                "8",
                "-j",
                "2",
                "--scheduler",
                "local",
                "--no-store",
                "--quiet",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        held.close()
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_the_run_is_saved_before_the_report(tmp_path, monkeypatch):
    def broken_report(*args, **kwargs):
        raise RuntimeError("the report broke")

    monkeypatch.setattr("ctdild_sim.views.plan.plan_view", broken_report)
    store = tmp_path / "results"
    result = CliRunner().invoke(main, ["run", str(BASE_SCENARIO), "-n", "3", "-j", "1", "--results", str(store)])
    [run] = list_runs(store)
    assert result.exit_code == 1 and run.problem is None
    assert f"the run is saved as {run.run_id}" in result.stderr and "the report broke" in result.stderr


def test_a_full_disk_gives_a_message_and_leaves_nothing(tmp_path, monkeypatch):
    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    store = tmp_path / "results"
    result = CliRunner().invoke(main, ["run", str(BASE_SCENARIO), "-n", "2", "-j", "1", "--results", str(store)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "could not be written (No space left on device); nothing was left behind" in result.stderr
    assert list(store.iterdir()) == []
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["run", str(BASE_SCENARIO), "-n", "2", "-j", "1", "--no-store", "--out", str(out)]
    )
    assert result.exit_code == 1 and "No space left on device" in result.stderr
    assert list(tmp_path.iterdir()) == [store]


def _export(out: Path, writer: int, rounds: int, barrier) -> None:
    tables = [(f"t{k}", pd.DataFrame({"writer": [writer] * 1000, "k": range(1000)})) for k in range(4)]
    tables.insert(0, ("metrics", pd.DataFrame({"writer": [writer]})))
    for _ in range(rounds):
        barrier.wait()
        write_tables(out, tables)


def test_two_exports_to_the_same_folder_at_once_do_not_collide(tmp_path):
    out = tmp_path / "out"
    barrier = multiprocessing.Barrier(2)
    writers = [multiprocessing.Process(target=_export, args=(out, w, 15, barrier)) for w in (1, 2)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(timeout=120)
    assert [w.exitcode for w in writers] == [0, 0]
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"{n}.{ext}" for n in ("metrics", "t0", "t1", "t2", "t3") for ext in ("parquet", "csv"))
    owners = {int(pd.read_parquet(out / f"{n}.parquet")["writer"].iloc[0]) for n in ("metrics", "t0", "t3")}
    assert len(owners) == 1  # one writer's complete set, never a mixture
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert remove_stale_staging(tmp_path) == []


@pytest.mark.slow
def test_ctrl_c_while_chromium_prints_a_pdf_ends_both_and_writes_nothing(tmp_path):
    """Chromium got the terminal's Ctrl-C too, and the report said "could not be written
    (Directory not empty)" with status 1: its helpers were still writing the folder being removed."""
    store = tmp_path / "results"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ctdild_sim",
            "run",
            str(BASE_SCENARIO),
            "-n",
            "4",
            "-j",
            "1",
            "--results",
            str(store),
            "--quiet",
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    [run] = list_runs(store)
    out = tmp_path / "pack.pdf"
    scratch = tmp_path / "tmp"  # the command's temporary folders, to see that it leaves none
    scratch.mkdir()
    proc = _start(
        ["report", run.run_id, "--results", str(store), "--format", "pdf", "--out", str(out)],
        extra_env={"TMPDIR": str(scratch)},
    )

    def browsers() -> list[psutil.Process]:
        return [p for p in psutil.Process(proc.pid).children(recursive=True) if "chrom" in p.name().lower()]

    _wait_for(lambda: browsers() or proc.poll() is not None, "Chromium to start")
    printing = browsers()
    seconds = _ctrl_c(proc)
    err = proc.stderr.read()
    assert proc.returncode == 130 and err.strip() == "Interrupted: nothing was written.", err
    assert seconds < 1.0 and not out.exists() and list(scratch.iterdir()) == []
    _wait_for(lambda: _gone(printing), "Chromium to end", timeout=15)


def _waiting(pid: int) -> bool:
    """Loaded (a second of CPU) and now waiting: under 0.05 s of CPU in the next 0.3 s."""
    before = cpu_seconds(pid)
    time.sleep(0.3)
    return before > 1 and cpu_seconds(pid) - before < 0.05


def _local_dask_workers(proc: subprocess.Popen) -> list[psutil.Process]:
    return _children(proc, lambda command: "local_dask" in command)


@pytest.mark.slow
def test_a_local_dask_worker_killed_mid_run_is_replaced_and_the_run_finishes(tmp_path):
    """Without Dask's nanny, a run whose only worker was killed (as the kernel kills for memory)
    waited for ever."""
    proc = _start(
        [
            "run",
            str(BASE_SCENARIO),
            "-n",
            "3000",
            "-j",
            "1",
            "--chunk-size",
            "100",
            "--scheduler",
            "local",
            "--no-store",
            "--quiet",
        ]
    )
    _wait_for(lambda: sum(cpu_seconds(w.pid) for w in _local_dask_workers(proc)) > 3, "the worker to compute")
    [worker] = _local_dask_workers(proc)
    worker.kill()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Replicates" in out


@pytest.mark.slow
def test_ctrl_c_while_connecting_to_an_unreachable_scheduler_is_130(tmp_path):
    """Ctrl-C was only noted while Dask tried to connect, for its 30 s timeout."""
    proc = _start(["run", str(BASE_SCENARIO), "-n", "40", "--scheduler", "tcp://127.0.0.1:1", "--no-store", "--quiet"])
    _wait_for(lambda: _waiting(proc.pid), "the command to load and try to connect")
    seconds = _ctrl_c(proc)
    err = proc.stderr.read()
    assert proc.returncode == 130 and err.strip() == "Interrupted: nothing was written.", err
    assert seconds < 1.0


INTERRUPTED_FROM_PYTHON = """
import os, signal, sys, threading, time
import psutil
from ctdild_sim.runs.runner import run_scenario
from ctdild_sim.scenario.loading import load_scenario

def ctrl_c():
    while not psutil.Process().children():
        time.sleep(0.01)
    os.kill(os.getpid(), signal.SIGINT)

threading.Thread(target=ctrl_c, daemon=True).start()
try:
    run_scenario(load_scenario(sys.argv[1]), 2000, 1, workers=2, scheduler="local")
except KeyboardInterrupt:
    print("interrupted")
print([c.pid for c in psutil.Process().children() if c.status() != psutil.STATUS_ZOMBIE])
print(sorted(t.name for t in threading.enumerate()))
"""


def test_a_local_dask_run_interrupted_in_python_leaves_no_worker_or_thread(tmp_path):
    """Interrupted while its workers started, a run called from Python left them and the
    scheduler's thread running (the command line hid it: its workers end with it)."""
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_FROM_PYTHON, str(BASE_SCENARIO)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.stdout.split("\n")[:3] == ["interrupted", "[]", "['MainThread']"], done.stdout + done.stderr
