"""Ctrl-C stops every node and thread of a busy graph cleanly: status 0, no traceback in any node's output."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from graph_testing import Listener, start_node, stop_node
from presstrack_msgs.msg import SmplBodyArray

PRESSTRACK = str(Path(sys.executable).parent / "presstrack")


def test_sigint_leaves_no_traceback_in_any_node(tmp_path):
    log = tmp_path / "up.log"
    listener = Listener("shutdown_test_listener")
    listener.listen("/presstrack/bodies", SmplBodyArray)
    # Nearly full meshes as often as the worker thread can build them, so Ctrl-C finds it busy.
    graph = subprocess.Popen([PRESSTRACK, "up", "source:=sim", "people:=3", "seed:=2",
                              "--set", "mesh_recovery.mesh_rate=100.0", "--set", "mesh_recovery.mesh_resolution=0.005"],
                             stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert listener.spin_until(lambda: len(listener.messages["/presstrack/bodies"]) > 45, 90.0), \
            log.read_text()[-3000:]
    finally:
        listener.close()
        os.killpg(graph.pid, signal.SIGINT)  # as the terminal's Ctrl-C: to presstrack, which passes it on
        started = time.monotonic()
        status = graph.wait(timeout=60)
    output = log.read_text()
    assert status == 0, output[-3000:]
    assert time.monotonic() - started < 15.0, "every node stops on the first SIGINT, none needs SIGKILL"
    assert "Traceback" not in output and "context is invalid" not in output, output[-3000:]
    assert "escalating" not in output, output[-3000:]


def test_sigint_while_the_simulated_driver_plans_its_scene_leaves_no_traceback(tmp_path):
    # A 30-minute scene is planned before the first frame (tens of seconds): Ctrl-C lands in the node's constructor.
    driver = start_node("mat_sim", {"people": 3, "episode_s": 1800.0}, tmp_path, node_name="mat_driver")
    time.sleep(3.0)
    assert driver.poll() is None, (tmp_path / "mat_driver.log").read_text()[-3000:]
    status = stop_node(driver, timeout=15.0)
    output = (tmp_path / "mat_driver.log").read_text()
    assert status == 0 and "Traceback" not in output, output[-3000:]


def _loading_torch(pid: int) -> bool:
    with open(f"/proc/{pid}/maps") as maps:
        return "libtorch" in maps.read()


@pytest.mark.parametrize("executable", ["mat_sim", "mesh_recovery"])
def test_sigint_while_the_node_imports_torch_leaves_no_traceback(tmp_path, executable):
    # Ctrl-C as soon as torch's library is mapped: the node's own modules are still importing (seconds under load).
    node = start_node(executable, {}, tmp_path)
    deadline = time.monotonic() + 60.0
    while node.poll() is None and not _loading_torch(node.pid) and time.monotonic() < deadline:
        time.sleep(0.005)
    status = stop_node(node, timeout=15.0)
    output = (tmp_path / f"{executable}.log").read_text()
    assert status == 0 and "Traceback" not in output, output[-3000:]
