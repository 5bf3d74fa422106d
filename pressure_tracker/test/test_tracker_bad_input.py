"""Every kind of bad input to the pressure_tracker node, in turn, to one running node: each is warned about and
counted in /diagnostics as bad_input_<kind>, and the good frame sent after it is still tracked."""
from __future__ import annotations

import math

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point, Pose
from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from graph_testing import Listener, answer_arrival, assert_each_kind_counted, diagnostics_after, start_node, stop_node
from presstrack_common.conversions import array_to_image
from presstrack_common.faults import noise_storm
from presstrack_msgs.msg import MatInfo, PersonPressure, PersonPressureArray
from painted_footprints import Walker, walking_scene

ROWS, COLS = 238, 120
PERIOD_NS = 66_666_667
MAX_PEOPLE = 2
LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)


class Feed:
    """The test's side of /mat/pressure and /mat/info: one person pacing the mat, stamps 15 Hz apart."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.pressure = listener.node.create_publisher(Image, "/mat/pressure", qos_profile_sensor_data)
        self.info_pub = listener.node.create_publisher(MatInfo, "/mat/info", LATCHED)
        walker = Walker((0.6, 0.3), math.pi / 2, speed=0.6, step_length=0.5, turn_back_after=1.6)
        self.walking = walking_scene([walker], 90, seed=1).pressure
        # Four people off the pacing person's lane, two more than MAX_PEOPLE (a newcomer next to a tracked person
        # may be taken for that person's step: the margin keeps the count above MAX_PEOPLE).
        crowd = [Walker((x, y), math.pi / 2, speed=0.6, step_length=0.5)
                 for x, y in ((0.15, 0.3), (0.15, 1.4), (1.05, 0.8), (1.05, 1.9))]
        self.crowd = walking_scene(crowd, 12, seed=2).pressure[10]
        self.index = 0
        self.stamp = 100 * 1_000_000_000

    def header(self, stamp: int | None = None) -> Header:
        """Stamped ``stamp`` [ns], by default one period after the last good frame."""
        if stamp is None:
            self.stamp += PERIOD_NS
            stamp = self.stamp
        return Header(stamp=Time(sec=stamp // 1_000_000_000, nanosec=stamp % 1_000_000_000), frame_id="mat")

    def frame(self, cells: np.ndarray | None = None, stamp: int | None = None, encoding: str = "32FC1") -> None:
        if cells is None:
            self.index += 1
            cells = self.walking[self.index % len(self.walking)]
        self.pressure.publish(array_to_image(cells, self.header(stamp), encoding))

    def image(self, **fields) -> None:
        self.pressure.publish(Image(header=self.header(), **fields))

    def info(self, pause: float = 0.3, **changes) -> None:
        fields = dict(rows=ROWS, cols=COLS, cell_pitch=0.01, pressure_unit="kPa", full_scale=600.0, noise_floor=1.0,
                      world_frame="world", mat_pose=Pose(position=Point(x=1.17, y=1.83)))
        self.info_pub.publish(MatInfo(header=Header(frame_id="mat"), **(fields | changes)))
        self.listener.spin_for(pause)  # /mat/info and /mat/pressure are separate streams: let it land first

    def answered_good_frame(self) -> float:
        """Publish a good frame; the wall-clock arrival of the tracker's answer to it. Best effort may lose a
        frame on the way (more so right after a burst), so a lost one is followed by another."""
        for _ in range(3):
            self.frame()
            arrival = answer_arrival(self.listener, "/presstrack/persons", self.stamp, timeout=3.0)
            if arrival is not None:
                return arrival
        raise AssertionError("the tracker answers no good frame")

    def frame_with(self, where, value) -> None:
        """The next walking frame, with ``cells[where] = value``."""
        self.index += 1
        cells = self.walking[self.index % len(self.walking)].copy()
        cells[where] = value
        self.frame(cells)


def mismatching_mat_info(feed: Feed) -> None:
    feed.info(rows=100, cols=50)  # what the frames contradict is counted; the 238 x 120 frames go on being tracked
    feed.answered_good_frame()
    feed.info()


def mismatching_frame_after_info(feed: Feed) -> None:
    feed.info(rows=100, cols=50)
    feed.frame(np.zeros((ROWS, COLS + 1), np.float32))  # neither the frames' size nor /mat/info's: dropped
    feed.listener.spin_for(0.2)
    feed.info()


CASES = {  # kind counted: what is sent before the good frame
    "wrong_encoding": lambda feed: feed.frame(feed.walking[0].astype(np.uint8), encoding="mono8"),
    "empty_frame": lambda feed: feed.image(height=0, width=0, encoding="32FC1", step=0),
    "malformed_image": lambda feed: feed.image(height=ROWS, width=COLS, encoding="32FC1", step=COLS * 4,
                                               data=bytes(100)),
    "wrong_size": lambda feed: feed.frame(np.zeros((ROWS, COLS + 1), np.float32)),
    "nonfinite_cells": lambda feed: feed.frame_with((0, slice(0, 3)), [np.nan, np.inf, -np.inf]),
    "negative_cells": lambda feed: feed.frame_with((5, slice(0, 4)), -20.0),
    "cells_above_full_scale": lambda feed: feed.frame_with((5, 5), 1e30),
    "stamp_not_increasing": lambda feed: feed.frame(stamp=feed.stamp - 1_000_000_000),
    "stamp_jump": lambda feed: feed.frame(stamp=feed.stamp + 3600 * 1_000_000_000),
    "too_many_people": lambda feed: feed.frame(noise_storm((ROWS, COLS), np.random.default_rng(0))),
    "bad_mat_info": lambda feed: feed.info(cell_pitch=0.0),
    "mat_info_contradicts_frames": mismatching_mat_info,
}
# More cases of a kind already in CASES: (kind, what is sent).
MORE_CASES = [
    ("too_many_people", lambda feed: feed.frame(feed.crowd)),
    ("bad_mat_info", lambda feed: feed.info(cell_pitch=-0.01)),
    ("bad_mat_info", lambda feed: feed.info(rows=0)),
    ("bad_mat_info", lambda feed: feed.info(mat_pose=Pose(position=Point(x=math.nan)))),
    ("wrong_size", mismatching_frame_after_info),
]


def assert_every_frame_accounted_for(listener, feed: Feed) -> None:
    """A 5000 x 5000 frame and a burst of 1000: whatever the subscription queue or the transport dropped is
    counted (frames_missing, from the stamps), so received + missing is every frame sent."""
    def counts(values):
        return {key: int(values.get(key, 0)) for key in ("frames_received", "bad_input_frames_missing",
                                                         "bad_input_oversize_frame", "bursts")}
    def change(before, after):
        return {key: after[key] - before[key] for key in after}

    before = counts(diagnostics_after(listener, "pressure_tracker", feed.answered_good_frame()))
    first_stamp = feed.stamp
    feed.frame(np.zeros((5000, 5000), np.float32))
    after = counts(diagnostics_after(listener, "pressure_tracker", feed.answered_good_frame()))
    sent, oversize = round((feed.stamp - first_stamp) / PERIOD_NS), change(before, after)
    # Delivered, it is refused unread (oversize_frame); lost on the way (best effort), it is missing.
    assert oversize["frames_received"] + oversize["bad_input_frames_missing"] == sent, oversize
    assert oversize["bad_input_oversize_frame"] + oversize["bad_input_frames_missing"] >= 1, oversize

    before, first_stamp = after, feed.stamp
    for _ in range(1000):
        feed.frame()
    after = counts(diagnostics_after(listener, "pressure_tracker", feed.answered_good_frame()))
    sent, burst = round((feed.stamp - first_stamp) / PERIOD_NS), change(before, after)
    assert burst["frames_received"] + burst["bad_input_frames_missing"] == sent, burst
    assert burst["bursts"] >= 1, burst  # counted as what it is, not as bad input


@pytest.fixture
def listener():
    listener = Listener()
    yield listener
    listener.close()


def test_every_kind_of_bad_input_is_counted_and_the_next_good_frame_tracked(tmp_path, listener):
    listener.listen("/presstrack/persons", PersonPressureArray)
    listener.listen("/diagnostics", DiagnosticArray)
    feed = Feed(listener)
    node = start_node("pressure_tracker", {"max_people": MAX_PEOPLE, "publish_debug_image": False}, tmp_path)
    try:
        assert listener.spin_until(lambda: feed.pressure.get_subscription_count() > 0, 20.0), "node did not start"
        feed.info()
        for _ in range(4):  # and one more inside assert_each_kind_counted
            feed.answered_good_frame()
        assert_each_kind_counted(listener, "pressure_tracker", [*CASES.items(), *MORE_CASES], feed, feed.answered_good_frame)
        for _ in range(5):
            feed.answered_good_frame()
        tracked = listener.messages["/presstrack/persons"][-1].persons
        assert any(p.state == PersonPressure.STATE_CONFIRMED for p in tracked), "the walker is tracked again"
        assert_every_frame_accounted_for(listener, feed)
    finally:
        assert stop_node(node) == 0
    log = (tmp_path / "pressure_tracker.log").read_text()
    assert "Traceback" not in log
    for kind in CASES:
        assert f"bad input ({kind}," in log, f"no warning about {kind}"
