"""Faults of the live graph (`presstrack up`) as a careless user or a crashing host makes them: the
launcher killed with SIGKILL, a configuration error, a second launcher on the same domain."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

PRESSTRACK = str(Path(sys.executable).parent / "presstrack")
NODE_NAMES = ("__node:=mat_driver", "__node:=pressure_tracker", "__node:=mesh_recovery")


def graph_processes(launcher: psutil.Process) -> list[psutil.Process]:
    return [p for p in launcher.children(recursive=True) if any(n in " ".join(p.cmdline()) for n in NODE_NAMES)]


def wait_for(condition, timeout: float, period: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(period)
    return True


def test_killing_the_launcher_with_sigkill_takes_the_graph_down_within_2_s(tmp_path):
    env = {**os.environ, "ROS_HOME": str(tmp_path)}
    launcher = subprocess.Popen([PRESSTRACK, "up", "people:=1", "--record", str(tmp_path / "bag")],
                                stdout=open(tmp_path / "up.log", "w"), stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    try:
        parent = psutil.Process(launcher.pid)
        assert wait_for(lambda: len(graph_processes(parent)) == 3, 60.0), (tmp_path / "up.log").read_text()
        children = parent.children(recursive=True)  # the nodes and the recorder
        launcher.kill()
        launcher.wait(timeout=10)
        assert wait_for(lambda: not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children), 2.0), \
            [" ".join(c.cmdline()[:3]) for c in children if c.is_running()]
        # The lock died with its holder: the next launcher starts (and is refused nothing).
        again = subprocess.run([PRESSTRACK, "up", "people:=1", "--duration", "3"], env=env, capture_output=True,
                               text=True, timeout=120)
        assert again.returncode == 0, again.stderr
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)


def test_a_configuration_error_ends_the_graph_at_once_with_status_2(tmp_path):
    env = {**os.environ, "ROS_HOME": str(tmp_path)}
    result = subprocess.run([PRESSTRACK, "up", "--set", "mat_driver.rate=0.0", "--duration", "60"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "respawn" not in result.stderr and "Traceback" not in result.stderr
    assert "could not start" in result.stderr
    assert result.stderr.count("started mat_driver") == 1, "a configuration error is not retried"


def test_a_second_launcher_on_the_same_domain_is_refused_in_one_line(tmp_path):
    env = {**os.environ, "ROS_HOME": str(tmp_path)}
    first = subprocess.Popen([PRESSTRACK, "up", "people:=1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=env, start_new_session=True)
    try:
        assert wait_for(lambda: len(graph_processes(psutil.Process(first.pid))) == 3, 60.0)
        second = subprocess.run([PRESSTRACK, "up", "people:=1", "--duration", "5"], env=env, capture_output=True,
                                text=True, timeout=60)
        assert second.returncode == 2
        assert second.stderr.count("\n") == 1 and "already runs on ROS_DOMAIN_ID" in second.stderr
    finally:
        os.killpg(first.pid, signal.SIGINT)
        first.wait(timeout=30)


def test_a_duration_run_without_a_single_frame_exits_3_in_one_line(tmp_path):
    """A source that never delivers (a UDP mat that sends nothing): the graph runs its duration for nothing."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "ROS_HOME": str(tmp_path)}
    result = subprocess.run([PRESSTRACK, "up", "source:=udp", "--set", "mat_driver.udp_host=127.0.0.1",
                             "--set", f"mat_driver.udp_port={port}", "--duration", "15"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert "no frame published in" in result.stderr and "source udp: starting" in result.stderr, result.stderr
    assert result.stderr.count("produced no output") == 1


def test_a_bad_checkpoint_ends_the_composed_graph_with_status_2_in_one_line(tmp_path):
    """Separate processes share the nodes' runner, whose configuration errors the test above checks; the
    composed graph builds its nodes itself (and printed a traceback for a bad checkpoint:=)."""
    bad = tmp_path / "bad.pt"
    bad.write_text("not a checkpoint")
    env = {**os.environ, "ROS_HOME": str(tmp_path)}
    result = subprocess.run([PRESSTRACK, "up", "--composed", "backend:=learned", f"checkpoint:={bad}", "--duration",
                             "60"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count(f"cannot start: {bad}: not a readable checkpoint") == 1, result.stderr
