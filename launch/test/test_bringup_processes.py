"""The process supervisor behind `presstrack up`, with stand-in commands instead of nodes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from presstrack_bringup.processes import GraphAlreadyRunning, ProcessSpec, Supervisor, exclusive_graph

PYTHON = sys.executable


def _python(code: str) -> tuple[str, ...]:
    return (PYTHON, "-c", textwrap.dedent(code))


def _sleeper(pid_file: Path, ignore_sigint: bool = False, with_grandchild: bool = False) -> tuple[str, ...]:
    """A stand-in node: writes its pid (and its own child's), then sleeps until signalled."""
    return _python(f"""
        import os, signal, subprocess, sys, time
        if {ignore_sigint}:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        pids = [os.getpid()]
        if {with_grandchild}:
            pids.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]).pid)
        open({str(pid_file)!r}, "w").write(" ".join(map(str, pids)))
        time.sleep(60)
    """)


def _after(pid_file: Path, code: str) -> tuple[str, ...]:
    """A stand-in that runs ``code`` once another stand-in has written ``pid_file`` (no race on a slow start)."""
    return _python(f"""
        import os, time
        while not (os.path.exists({str(pid_file)!r}) and open({str(pid_file)!r}).read()):
            time.sleep(0.02)
        {code}
    """)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _all_gone(pids: list[int], within: float = 2.0) -> bool:
    """Whether every one of `pids` has ended within `within` seconds (a signal is delivered, and a process dies,
    a moment after it is sent)."""
    deadline = time.monotonic() + within
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(_alive(pid) for pid in pids)


def _pids(path: Path, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < deadline, f"{path} never written"
        time.sleep(0.05)
    return [int(p) for p in path.read_text().split()]


def test_a_node_that_dies_stops_the_graph_with_failure(tmp_path):
    survivor = tmp_path / "survivor.pid"
    supervisor = Supervisor([
        ProcessSpec("tracker", _sleeper(survivor, with_grandchild=True)),
        ProcessSpec("mesh", _after(survivor, "raise SystemExit(3)")),
    ], sigint_timeout=5.0)
    assert supervisor.run(duration=30) == 1
    assert _all_gone(_pids(survivor))


def test_the_driver_is_respawned_before_giving_up(tmp_path):
    starts = tmp_path / "starts"
    crash = _python(f"open({str(starts)!r}, 'a').write('x'); raise SystemExit(5)")
    supervisor = Supervisor([ProcessSpec("driver", crash, respawn=True, respawn_delay=0.1, max_respawns=2)])
    assert supervisor.run(duration=30) == 1
    assert starts.read_text() == "xxx"  # first start + 2 respawns


def test_a_respawned_driver_that_recovers_keeps_the_graph_up(tmp_path):
    starts = tmp_path / "starts"
    flaky = _python(f"""
        import time
        with open({str(starts)!r}, 'a') as f:
            f.write('x')
        if open({str(starts)!r}).read() == 'x':
            raise SystemExit(1)
        time.sleep(60)
    """)
    supervisor = Supervisor([ProcessSpec("driver", flaky, respawn=True, respawn_delay=0.1, max_respawns=3)])
    assert supervisor.run(duration=2.0) == 0
    assert starts.read_text() == "xx"


def test_a_node_that_finishes_ends_the_graph_cleanly(tmp_path):
    other = tmp_path / "other.pid"
    supervisor = Supervisor([ProcessSpec("replay", _python("import time; time.sleep(0.5)")),
                             ProcessSpec("tracker", _sleeper(other))])
    assert supervisor.run(duration=30) == 0
    assert not _alive(_pids(other)[0])


SUPERVISOR_SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, {package_root!r})
from presstrack_bringup.processes import ProcessSpec, Supervisor
from test_bringup_processes import _sleeper
folder = Path({folder!r})
specs = [ProcessSpec("a", _sleeper(folder / "a.pid", with_grandchild=True)),
         ProcessSpec("b", _sleeper(folder / "b.pid", ignore_sigint=True))]
sys.exit(Supervisor(specs, sigint_timeout=1.0, sigterm_timeout=2.0).run())
"""


def test_ctrl_c_shuts_everything_down_without_orphans(tmp_path):
    script = SUPERVISOR_SCRIPT.format(package_root=str(Path(__file__).resolve().parents[1]), folder=str(tmp_path))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent)}
    supervisor = subprocess.Popen([PYTHON, "-c", script], env=env, start_new_session=True)
    try:
        pids = _pids(tmp_path / "a.pid") + _pids(tmp_path / "b.pid")
        assert all(_alive(pid) for pid in pids)
        supervisor.send_signal(signal.SIGINT)
        assert supervisor.wait(timeout=20) == 0
        # "b" ignores SIGINT and must have been escalated to SIGTERM; "a"'s own child went with it.
        assert not any(_alive(pid) for pid in pids)
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)


def test_a_child_that_cannot_start_stops_the_graph_at_once_with_status_2(tmp_path):
    starts = tmp_path / "starts"
    other = tmp_path / "other.pid"
    misconfigured = _after(other, f"open({str(starts)!r}, 'a').write('x'); raise SystemExit(2)")
    supervisor = Supervisor([ProcessSpec("driver", misconfigured, respawn=True, respawn_delay=0.1, max_respawns=3),
                             ProcessSpec("tracker", _sleeper(other))])
    assert supervisor.run(duration=30) == 2
    assert starts.read_text() == "x", "a configuration error is not retried"
    assert not _alive(_pids(other)[0])


def test_respawns_are_budgeted_per_time_window(tmp_path):
    """Crashes spaced wider than the window are each retried: a crash an hour later is not the fourth of one."""
    starts = tmp_path / "starts"
    crashes_four_times = _python(f"""
        import time
        with open({str(starts)!r}, 'a') as f:
            f.write('x')
        if len(open({str(starts)!r}).read()) <= 4:
            raise SystemExit(1)
        time.sleep(60)
    """)
    spec = ProcessSpec("driver", crashes_four_times, respawn=True, respawn_delay=0.4, max_respawns=1, respawn_window=0.3)
    assert Supervisor([spec]).run(duration=4.0) == 0
    assert starts.read_text() == "xxxxx"


def test_a_recorder_that_dies_is_reported_and_the_graph_goes_on(tmp_path):
    lines: list[str] = []
    node = tmp_path / "node.pid"
    supervisor = Supervisor([ProcessSpec("tracker", _sleeper(node)),
                             ProcessSpec("recorder", _python("raise SystemExit(1)"), essential=False)],
                            log=lines.append)
    assert supervisor.run(duration=1.5) == 0
    assert any("recorder died (status 1); the graph goes on without it" in line for line in lines)


KILLED_SUPERVISOR_SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, {package_root!r})
from presstrack_bringup.processes import ProcessSpec, Supervisor
from test_bringup_processes import _sleeper
folder = Path({folder!r})
specs = [ProcessSpec("a", _sleeper(folder / "a.pid")), ProcessSpec("b", _sleeper(folder / "b.pid", ignore_sigint=True))]
sys.exit(Supervisor(specs).run())
"""


def test_children_die_with_a_supervisor_killed_by_sigkill(tmp_path):
    script = KILLED_SUPERVISOR_SCRIPT.format(package_root=str(Path(__file__).resolve().parents[1]), folder=str(tmp_path))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent)}
    supervisor = subprocess.Popen([PYTHON, "-c", script], env=env, start_new_session=True)
    pids = _pids(tmp_path / "a.pid") + _pids(tmp_path / "b.pid")
    supervisor.kill()
    supervisor.wait(timeout=10)
    assert _all_gone(pids), "a node outlived its launcher"


def test_one_graph_per_ros_domain(tmp_path, monkeypatch):
    monkeypatch.setenv("ROS_HOME", str(tmp_path))
    with exclusive_graph("17") as lock:
        with pytest.raises(GraphAlreadyRunning, match=f"already runs on ROS_DOMAIN_ID 17 \\(launcher pid {os.getpid()}\\)"):
            with exclusive_graph("17"):
                pass
        with exclusive_graph("18"):
            pass  # another domain is another graph
        with exclusive_graph("17", namespace="/mat_b"):
            pass  # so is another namespace (a second mat)
    assert lock.exists()
    with exclusive_graph("17"):
        pass  # released with its holder
