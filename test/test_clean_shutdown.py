"""Ctrl-C stops every node and thread of a busy graph cleanly: status 0, no traceback in any node's output."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from graph_testing import Listener
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
