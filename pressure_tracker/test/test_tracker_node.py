"""The pressure_tracker node over real DDS: people out, per-person topics that come and go, bad input counted."""
from __future__ import annotations

import math

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from graph_testing import Listener, start_node, stop_node
from presstrack_common.conversions import array_to_image, image_to_array
from presstrack_msgs.msg import PersonPressure, PersonPressureArray, TrackedIds
from painted_footprints import Walker, walking_scene
from pressure_tracker.tracker import TrackerConfig


@pytest.fixture
def listener():
    listener = Listener()
    yield listener
    listener.close()


def per_person_topics(listener) -> set[str]:
    return {name for name, _ in listener.node.get_topic_names_and_types()
            if name.startswith("/presstrack/persons/person_")}


def test_tracks_people_and_counts_bad_frames(tmp_path, listener):
    walkers = [Walker((0.40, 0.20), math.pi / 2, speed=0.6, step_length=0.5),
               Walker((0.85, 2.20), -math.pi / 2, speed=0.6, step_length=0.5, start_time=0.1)]
    scene = walking_scene(walkers, n_frames=60, seed=1)
    listener.listen("/presstrack/persons", PersonPressureArray)
    listener.listen("/presstrack/persons/tracked", TrackedIds)
    listener.listen("/presstrack/debug_image", Image, qos_profile_sensor_data)
    listener.listen("/diagnostics", DiagnosticArray)
    publisher = listener.node.create_publisher(Image, "/mat/pressure", qos_profile_sensor_data)
    node = start_node("pressure_tracker", {}, tmp_path)
    try:
        assert listener.spin_until(lambda: publisher.get_subscription_count() > 0, 20.0)
        topics_seen = set()
        for index, frame in enumerate(scene.pressure):
            header = Header(stamp=Time(sec=50, nanosec=index * 66_000_000), frame_id="mat")
            publisher.publish(array_to_image(frame, header))
            if index == 30:  # bad input in the middle: wrong encoding, NaN cells, a stamp going back
                publisher.publish(array_to_image(frame.astype(np.uint8), header, "mono8"))
                nan_frame = frame.copy()
                nan_frame[0, :5] = np.nan
                publisher.publish(array_to_image(nan_frame, Header(stamp=Time(sec=50, nanosec=index * 66_000_000 + 1),
                                                                   frame_id="mat")))
                publisher.publish(array_to_image(frame, Header(stamp=Time(sec=1), frame_id="mat")))
            listener.spin_for(0.03)
            topics_seen |= per_person_topics(listener)
        assert listener.spin_until(lambda: len(listener.messages["/presstrack/persons"]) >= 55, 10.0)
        # Frames stop: the people's topics go away once their tracks end (lost tracks live lost_time seconds).
        for index in range(60, 65 + math.ceil(TrackerConfig.lost_time * 15)):
            header = Header(stamp=Time(sec=50, nanosec=index * 66_000_000 % 1_000_000_000 + 0), frame_id="mat")
            header.stamp.sec = 50 + index * 66_000_000 // 1_000_000_000
            publisher.publish(array_to_image(np.zeros_like(scene.pressure[0]), header))
            listener.spin_for(0.02)
        assert listener.spin_until(lambda: not per_person_topics(listener), 10.0), "per-person topics linger"
        assert listener.spin_until(lambda: len(listener.messages["/diagnostics"]) >= 2, 5.0)
    finally:
        assert stop_node(node) == 0

    confirmed = [{p.track_id for p in msg.persons if p.state == PersonPressure.STATE_CONFIRMED}
                 for msg in listener.messages["/presstrack/persons"][:60]]
    assert len(confirmed[40]) == 2, "both walkers tracked"
    assert confirmed[40] == confirmed[55], "ids stay stable"
    assert {f"/presstrack/persons/person_{i}/pressure" for i in confirmed[40]} <= topics_seen
    tracked = [msg.ids.tolist() for msg in listener.messages["/presstrack/persons/tracked"]]
    assert sorted(confirmed[40]) in tracked
    person = listener.messages["/presstrack/persons"][40].persons[0]
    crop = image_to_array(person.crop)
    assert crop.shape == (128, 128) and crop.max() > 0
    debug = listener.messages["/presstrack/debug_image"]
    assert debug and debug[-1].encoding == "rgb8"

    values = {kv.key: kv.value for kv in listener.messages["/diagnostics"][-1].status[0].values}
    assert int(values["bad_input_wrong_encoding"]) == 1
    assert int(values["bad_input_stamp_not_increasing"]) == 1
    assert int(values["bad_input_nonfinite_cells"]) == 1


def test_a_restarted_tracker_never_reuses_an_id(tmp_path, listener, monkeypatch):
    import os
    import signal

    monkeypatch.setenv("ROS_HOME", str(tmp_path / "ros_home"))
    walkers = [Walker((0.40, 0.20), math.pi / 2, speed=0.6, step_length=0.5)]
    scene = walking_scene(walkers, n_frames=40, seed=2)
    listener.listen("/presstrack/persons", PersonPressureArray)
    publisher = listener.node.create_publisher(Image, "/mat/pressure", qos_profile_sensor_data)

    def publish(frame, stamp_ns: int) -> None:
        stamp = Time(sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000)
        publisher.publish(array_to_image(frame, Header(stamp=stamp, frame_id="mat")))

    def run_until_confirmed(first_stamp_ns: int) -> set[int]:
        node = start_node("pressure_tracker", {}, tmp_path)
        try:
            # Empty frames until the node answers: a killed node stays discovered for a while, so a
            # subscription count says nothing about whether its successor listens yet.
            persons = listener.messages["/presstrack/persons"]
            persons.clear()
            for k in range(300):
                publish(np.zeros_like(scene.pressure[0]), first_stamp_ns - 1_000_000_000 + k * 1_000_000)
                if listener.spin_until(lambda: persons, 0.1):
                    break
            assert persons, "the tracker did not start"
            persons.clear()
            for index, frame in enumerate(scene.pressure):
                publish(frame, first_stamp_ns + index * 66_666_667)
                listener.spin_for(0.03)
            listener.spin_for(0.5)
            return {p.track_id for m in persons for p in m.persons if p.state == PersonPressure.STATE_CONFIRMED}
        finally:
            os.killpg(node.pid, signal.SIGKILL)  # a crash, not a clean stop
            node.wait()

    before = run_until_confirmed(100 * 1_000_000_000)
    after = run_until_confirmed(1000 * 1_000_000_000)
    assert before and after
    assert min(after) > max(before), f"ids {sorted(after)} after the restart reuse {sorted(before)}"


def test_a_renamed_person_says_the_id_they_were_published_under(tmp_path, listener, monkeypatch):
    """Two people stand, the lighter leaves and comes back: tentative under a provisional id until weighed, then
    confirmed under their own id. The message of that frame says which id they had (`renamed_from`), so the mesh
    node carries their body over; no other person is marked renamed."""
    monkeypatch.setenv("ROS_HOME", str(tmp_path / "ros_home"))

    def standing(col: int, row: int, kpa: float) -> np.ndarray:
        """Two 26 x 9-cell soles 20 cm apart, heels at `row`, left sole from column `col`."""
        frame = np.zeros((238, 120), dtype=np.float32)
        for left in (col, col + 20):
            frame[row:row + 26, left:left + 9] = kpa
        return frame

    light, heavy, back = standing(30, 40, 60.0), standing(50, 170, 90.0), standing(60, 20, 60.0)
    frames = [frame for frame, seconds in ((light + heavy, 2), (heavy, 5), (back + heavy, 3))
              for _ in range(15 * seconds)]
    listener.listen("/presstrack/persons", PersonPressureArray, 500)
    publisher = listener.node.create_publisher(Image, "/mat/pressure", qos_profile_sensor_data)
    node = start_node("pressure_tracker", {}, tmp_path)
    try:
        assert listener.spin_until(lambda: publisher.get_subscription_count() > 0, 20.0)
        for index, frame in enumerate(frames):
            stamp = 100_000_000_000 + index * 66_666_667
            publisher.publish(array_to_image(frame, Header(stamp=Time(sec=stamp // 10**9, nanosec=stamp % 10**9),
                                                           frame_id="mat")))
            listener.spin_for(0.03)
        assert listener.spin_until(lambda: len(listener.messages["/presstrack/persons"]) >= len(frames) - 5, 10.0)
    finally:
        assert stop_node(node) == 0
    messages = listener.messages["/presstrack/persons"]
    renamed = [(k, p.track_id, p.renamed_from) for k, msg in enumerate(messages) for p in msg.persons
               if p.renamed_from]
    (light_id,) = {p.track_id for p in messages[20].persons if p.box.y_offset < 150}
    (k, track_id, provisional), = renamed                          # one rename: the returning person's
    assert track_id == light_id and provisional != light_id
    assert [(p.track_id, p.state) for p in messages[k - 1].persons if p.box.y_offset < 150] == \
        [(provisional, PersonPressure.STATE_TENTATIVE)]              # withheld under the provisional id ...
    assert [(p.track_id, p.state) for p in messages[-1].persons if p.box.y_offset < 150] == \
        [(light_id, PersonPressure.STATE_CONFIRMED)]                 # ... then confirmed as who they are
