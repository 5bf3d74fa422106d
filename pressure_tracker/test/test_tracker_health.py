"""The tracker's /diagnostics tells the truth: ERROR while the mat is pressed and no one is tracked, OK once
someone is, STALE when the frames stop. The node runs in this process and gets its frames by direct call,
paced in real time (the checks are on the wall clock)."""
from __future__ import annotations

import math
import time

import pytest
from builtin_interfaces.msg import Time
from rclpy.parameter import Parameter
from std_msgs.msg import Header

from graph_testing import NodeInProcess
from painted_footprints import Walker, walking_scene
from presstrack_common.conversions import array_to_image
from presstrack_common.health import ERROR, OK, STALE

PERIOD_S = 1 / 15


@pytest.fixture
def tracker(tmp_path, monkeypatch):
    monkeypatch.setenv("ROS_HOME", str(tmp_path))
    from pressure_tracker.node import PressureTrackerNode

    # min_hits beyond any run: the walker is never confirmed, as if the tracker core had stopped tracking.
    harness = NodeInProcess(PressureTrackerNode, min_hits=1000, publish_debug_image=False)
    yield harness
    harness.close()


def feed(node, frames, start: int, seconds: float) -> int:
    """Frames 15 Hz apart in stamps and at least as far apart in real time, for ``seconds``; the index after the
    last one sent. Each frame waits a period after the one before it, never catching up after a stall of a
    loaded host: frames sent back to back would be a burst, which the node rightly reports as a warning."""
    t0 = time.monotonic()
    index = start
    while (sent := time.monotonic()) - t0 < seconds:
        stamp_ns = 100_000_000_000 + round(index * PERIOD_S * 1e9)
        header = Header(stamp=Time(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9), frame_id="mat")
        node.on_pressure(array_to_image(frames[index % len(frames)], header))
        index += 1
        time.sleep(max(0.0, sent + PERIOD_S - time.monotonic()))
    return index


def test_pressed_with_no_one_tracked_is_an_error_then_ok_then_stale_when_frames_stop(tracker):
    walker = Walker((0.6, 0.3), math.pi / 2, speed=0.6, step_length=0.5, turn_back_after=1.6)
    frames = walking_scene([walker], 90, seed=1).pressure
    index = feed(tracker.node, frames, 0, 1.5)
    status = tracker.status()
    assert status.level == bytes([OK]), status  # pressed for 1.5 s: not yet
    index = feed(tracker.node, frames, index, 2.5)
    status = tracker.status()
    assert status.level == bytes([ERROR]) and "the mat is pressed but no one is tracked" in status.message, status

    tracker.node.set_parameters([Parameter("min_hits", value=3)])
    feed(tracker.node, frames, index, 2.0)
    status = tracker.status()
    assert status.level == bytes([OK]), status

    time.sleep(1.2)  # no frame for over SILENT_AFTER_S
    status = tracker.status()
    assert status.level == bytes([STALE]) and status.message.startswith("no frames"), status
