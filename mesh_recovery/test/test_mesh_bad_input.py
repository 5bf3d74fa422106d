"""Every kind of bad input to the mesh_recovery node, in turn, to one running node: each is warned about and
counted in /diagnostics as bad_input_<kind>, and the good message sent after it still gets its body."""
from __future__ import annotations

import math

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point, Pose
from rclpy.qos import DurabilityPolicy, QoSProfile
from sensor_msgs.msg import Image, RegionOfInterest
from std_msgs.msg import Header

from graph_testing import Listener, answer_arrival, assert_each_kind_counted, diagnostics_after, start_node, stop_node
from presstrack_common.conversions import array_to_image
from presstrack_msgs.msg import MatInfo, PersonPressure, PersonPressureArray, SmplBodyArray
from test_mesh_node import person

PERIOD_NS = 66_666_667
MAX_PEOPLE = 2
LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
GOOD_ID = 4
MIP_YAW = Pose().orientation
MIP_YAW.z, MIP_YAW.w = 1.0, 0.0  # the MIP mat: yaw pi, columns along world -x


class Feed:
    """The test's side of /presstrack/persons and /mat/info: one person standing, messages 15 Hz apart."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.persons = listener.node.create_publisher(PersonPressureArray, "/presstrack/persons", 10)
        self.info_pub = listener.node.create_publisher(MatInfo, "/mat/info", LATCHED)
        self.stamp = 100 * 1_000_000_000

    def time(self, stamp: int | None = None) -> Time:
        if stamp is None:
            self.stamp += PERIOD_NS
            stamp = self.stamp
        return Time(sec=stamp // 1_000_000_000, nanosec=stamp % 1_000_000_000)

    def good_person(self, track_id: int = GOOD_ID, confidence: float = 0.9) -> PersonPressure:
        good = person(track_id, [(90, 50), (110, 70)], Time())
        good.confidence = confidence
        return good

    def send(self, *people: PersonPressure, stamp: int | None = None) -> None:
        time = self.time(stamp)
        for one in people:
            one.crop.header.stamp = time
        self.persons.publish(PersonPressureArray(header=Header(stamp=time, frame_id="mat"), persons=list(people)))

    def changed(self, **fields) -> None:
        """A message with the good person, ``fields`` of it changed (dotted names reach into crop and box)."""
        one = self.good_person()
        for name, value in fields.items():
            owner, _, attribute = name.rpartition(".")
            setattr(getattr(one, owner) if owner else one, attribute, value)
        self.send(one)

    def crop_with(self, where, value) -> None:
        one = self.good_person()
        cells = np.frombuffer(one.crop.data, dtype=np.float32).reshape(one.crop.height, one.crop.width).copy()
        cells[where] = value
        one.crop = array_to_image(cells, one.crop.header)
        self.send(one)

    def info(self, pause: float = 0.3, **changes) -> None:
        fields = dict(rows=238, cols=120, cell_pitch=0.01, pressure_unit="kPa", full_scale=600.0, noise_floor=1.0,
                      world_frame="world", mat_pose=Pose(position=Point(x=1.17, y=1.83), orientation=MIP_YAW))
        self.info_pub.publish(MatInfo(header=Header(frame_id="mat"), **(fields | changes)))
        self.listener.spin_for(pause)  # /mat/info and /presstrack/persons are separate streams: let it land first

    def answered_good_message(self) -> float:
        """Send the good person; the wall-clock arrival of the node's bodies for that stamp."""
        self.send(self.good_person())
        arrival = answer_arrival(self.listener, "/presstrack/bodies", self.stamp)
        assert arrival is not None, "mesh_recovery answers no good message"
        return arrival


def noise_storm(feed: Feed, people: int = 300) -> None:
    rng = np.random.default_rng(0)
    storm = []
    for track_id in range(1000, 1000 + people):
        one = feed.good_person(track_id, confidence=float(rng.uniform(0.1, 0.5)))
        one.crop = array_to_image(rng.uniform(0, 50, (8, 8)).astype(np.float32), Header())
        one.crop_row0, one.crop_col0 = int(rng.integers(0, 230)), int(rng.integers(0, 112))
        storm.append(one)
    feed.send(feed.good_person(), *storm)


def mismatching_mat_info(feed: Feed) -> None:
    feed.info(rows=20, cols=20)  # the person tracked stays on the 238 x 120 mat: the 20 x 20 one is refused
    feed.answered_good_message()
    feed.info()


CASES = {  # kind counted: what is sent before the good message
    "stamp_not_increasing": lambda feed: feed.send(feed.good_person(), stamp=feed.stamp - 1_000_000_000),
    "stamp_jump": lambda feed: feed.send(feed.good_person(), stamp=feed.stamp + 3600 * 1_000_000_000),
    "duplicate_track_id": lambda feed: feed.send(feed.good_person(), feed.good_person()),
    "too_many_people": noise_storm,
    "malformed_person": lambda feed: feed.changed(**{"centroid.x": math.nan}),
    "crop_wrong_encoding": lambda feed: feed.changed(crop=array_to_image(np.zeros((128, 128), np.uint8), Header(),
                                                                         "mono8")),
    "crop_oversize": lambda feed: feed.changed(crop=array_to_image(np.zeros((5000, 5000), np.float32), Header())),
    "crop_empty": lambda feed: feed.changed(crop=Image(encoding="32FC1")),
    "crop_malformed": lambda feed: feed.changed(**{"crop.data": bytes(100)}),
    "person_off_mat": lambda feed: feed.changed(crop_row0=10_000),
    "crop_nonfinite_cells": lambda feed: feed.crop_with((60, slice(0, 3)), [np.nan, np.inf, -np.inf]),
    "crop_negative_cells": lambda feed: feed.crop_with((60, slice(0, 4)), -20.0),
    "crop_cells_above_full_scale": lambda feed: feed.crop_with((60, 60), 1e30),
    "bad_mat_info": lambda feed: feed.info(cell_pitch=0.0),
    "mat_info_contradicts_persons": mismatching_mat_info,
}
# More cases of a kind already in CASES: (kind, what is sent).
MORE_CASES = [
    ("too_many_people", lambda feed: feed.send(*(feed.good_person(i) for i in (4, 5, 6)))),
    ("malformed_person", lambda feed: feed.changed(confidence=math.nan)),
    ("malformed_person", lambda feed: feed.changed(state=7)),
    ("malformed_person", lambda feed: feed.changed(total_force=-1.0)),
    ("person_off_mat", lambda feed: feed.changed(box=RegionOfInterest(x_offset=500, y_offset=0, width=10,
                                                                        height=10))),
    ("malformed_person", lambda feed: feed.changed(track_id=2**31)),  # beyond what an int32 consumer holds
    ("bad_mat_info", lambda feed: feed.info(cell_pitch=-0.01)),
    ("bad_mat_info", lambda feed: feed.info(rows=0)),
    ("bad_mat_info", lambda feed: feed.info(mat_pose=Pose(position=Point(x=math.nan)))),
]


def assert_every_message_accounted_for(listener, feed: Feed) -> None:
    """A burst of 1000 persons messages: what the subscription queue dropped is counted (messages_missing,
    from the stamps), so the messages the node took in and the ones counted missing are every one sent."""
    def counts(values):
        return {key: int(value) for key, value in values.items() if key.startswith(("frames", "bad_input_", "bursts"))}
    before = counts(diagnostics_after(listener, "mesh_recovery", feed.answered_good_message()))
    first_stamp = feed.stamp
    for _ in range(1000):
        feed.send(feed.good_person())
    after = counts(diagnostics_after(listener, "mesh_recovery", feed.answered_good_message()))
    sent = round((feed.stamp - first_stamp) / PERIOD_NS)
    change = {key: after[key] - before.get(key, 0) for key in after}
    # Each message that arrived was processed (frames), skipped once the node was over max_lag behind, or
    # refused by the stamp check (a gap of lost messages over 5 s makes the next one a jump).
    arrived = change["frames"] + change["frames_skipped"] + change.get("bad_input_stamp_jump", 0)
    assert arrived + change["bad_input_messages_missing"] == sent, str({k: v for k, v in change.items() if v})
    assert change["bursts"] >= 1, change  # counted as what it is, not as bad input


@pytest.fixture
def listener():
    listener = Listener()
    yield listener
    listener.close()


def test_every_kind_of_bad_input_is_counted_and_the_next_good_message_answered(tmp_path, listener,
                                                                               default_body_path):
    listener.listen("/presstrack/bodies", SmplBodyArray)
    listener.listen("/diagnostics", DiagnosticArray)
    feed = Feed(listener)
    node = start_node("mesh_recovery", {"smpl_model_path": str(default_body_path), "publish_meshes": False,
                                        "max_people": MAX_PEOPLE}, tmp_path)
    try:
        assert listener.spin_until(lambda: feed.persons.get_subscription_count() > 0, 30.0), "node did not start"
        feed.info()
        for _ in range(2):  # and one more inside assert_each_kind_counted
            feed.answered_good_message()
        assert_each_kind_counted(listener, "mesh_recovery", [*CASES.items(), *MORE_CASES], feed, feed.answered_good_message)
        bodies = listener.messages["/presstrack/bodies"][-1].bodies
        assert [b.track_id for b in bodies] == [GOOD_ID], "the good person still gets a body"
        assert_every_message_accounted_for(listener, feed)
    finally:
        assert stop_node(node) == 0
    log = (tmp_path / "mesh_recovery.log").read_text()
    assert "Traceback" not in log
    for kind in CASES:
        assert f"bad input ({kind}," in log, f"no warning about {kind}"
