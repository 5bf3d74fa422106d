"""The mesh node's /diagnostics tells the truth: ERROR when people are tracked but no bodies go out, or bodies go
out but no meshes (the mesh worker dying each time: restarted and counted), STALE when persons stop coming.
The node runs in this process and gets its persons by direct call, paced in real time (the checks are on the
wall clock)."""
from __future__ import annotations

import time

import pytest
from builtin_interfaces.msg import Time
from std_msgs.msg import Header

from graph_testing import NodeInProcess, status_values
from presstrack_common.health import ERROR, OK, STALE
from presstrack_msgs.msg import PersonPressureArray
from test_mesh_node import person

PERIOD_S = 1 / 15


@pytest.fixture
def mesh_node(default_body_path):
    from mesh_recovery.node import MeshRecoveryNode

    harness = NodeInProcess(MeshRecoveryNode, smpl_model_path=str(default_body_path))
    yield harness
    harness.close()


def feed(node, seconds: float, start: int = 0) -> int:
    """One standing person, 15 Hz apart in stamps and at least as far apart in real time, for ``seconds``; the
    next index. Never caught up back to back after a stall of a loaded host: that would be a burst (a warning)."""
    t0, index = time.monotonic(), start
    while (sent := time.monotonic()) - t0 < seconds:
        stamp_ns = 100_000_000_000 + round(index * PERIOD_S * 1e9)
        stamp = Time(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)
        node.on_persons(PersonPressureArray(header=Header(stamp=stamp, frame_id="mat"),
                                            persons=[person(4, [(90, 50), (110, 70)], stamp)]))
        index += 1
        time.sleep(max(0.0, sent + PERIOD_S - time.monotonic()))
    return index


def test_meshes_stopping_while_bodies_flow_is_an_error_and_each_worker_death_is_counted(mesh_node):
    node = mesh_node.node
    index = feed(node, 1.5)
    assert mesh_node.status().level == bytes([OK]), mesh_node.status()

    def broken_markers(bodies, ended_ids):
        raise OverflowError("injected: the meshes cannot be built")

    node.markers = broken_markers
    index = feed(node, 3.0, index)
    status = mesh_node.status()
    assert status.level == bytes([ERROR]) and "bodies flow but no meshes go out" in status.message, status
    assert int(status_values(status)["mesh_worker_restarts"]) >= 3
    assert node.mesh_worker._thread.is_alive(), "a worker still serves"

    time.sleep(1.2)  # no persons message for over SILENT_AFTER_S
    status = mesh_node.status()
    assert status.level == bytes([STALE]) and status.message.startswith("no persons messages"), status


def test_people_without_bodies_is_an_error(mesh_node):
    node = mesh_node.node

    def broken_update(people):
        raise FloatingPointError("injected: the estimator fails")

    node.estimator.update_frame = broken_update
    feed(node, 2.8)
    status = mesh_node.status()
    assert status.level == bytes([ERROR]) and "people are tracked but no bodies go out" in status.message, status
    assert int(status_values(status)["bad_input_processing_error"]) > 20
