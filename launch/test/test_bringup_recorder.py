"""`presstrack record`: live topics from an rclpy publisher into a rosbag2 MCAP bag, read back with rosbags."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import TransformStamped
from presstrack_msgs.msg import MatInfo, PersonPressure, PersonPressureArray
from rclpy.context import Context
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rosbags.rosbag2 import Reader
from sensor_msgs.msg import Image
from tf2_msgs.msg import TFMessage

from bringup_bags import mcap_channel_metadata
from presstrack_bringup.bagfile import suite_typestore

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE)
RELIABLE = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)


def _pressure(index: int) -> Image:
    image = Image(height=2, width=3, encoding="32FC1", is_bigendian=0, step=12)
    image.header.frame_id = "mat"
    image.header.stamp.sec = 1000 + index
    image.data = bytes([index % 256]) * 24
    return image


def _persons(index: int) -> PersonPressureArray:
    person = PersonPressure(track_id=7, state=PersonPressure.STATE_CONFIRMED, confidence=0.5)
    person.box.x_offset, person.box.y_offset, person.box.width, person.box.height = 10, 20 + index, 30, 40
    array = PersonPressureArray(persons=[person])
    array.header.stamp.sec = 1000 + index
    return array


def _start_recorder(out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-m", "presstrack_bringup.cli", "record", str(out), *extra], env=env)


def _wait_for_subscriber(*publishers, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not all(p.get_subscription_count() > 0 for p in publishers):
        assert time.monotonic() < deadline, "the recorder never subscribed"
        time.sleep(0.05)


@pytest.fixture
def node():
    context = Context()
    rclpy.init(context=context)
    node = Node("recorder_test_publisher", context=context)
    yield node
    node.destroy_node()
    rclpy.shutdown(context=context)


def test_records_every_topic_with_its_content(node, tmp_path):
    info = MatInfo(rows=2, cols=3, cell_pitch=0.01, pressure_unit="kPa", full_scale=600.0, world_frame="world")
    info.header.frame_id = "mat"
    node.create_publisher(MatInfo, "/mat/info", LATCHED).publish(info)  # before the recorder exists: latched
    static = TransformStamped(child_frame_id="mat")
    static.header.frame_id = "world"
    static.transform.translation.x = 1.175
    node.create_publisher(TFMessage, "/tf_static", LATCHED).publish(TFMessage(transforms=[static]))
    pressure = node.create_publisher(Image, "/mat/pressure", qos_profile_sensor_data)
    persons = node.create_publisher(PersonPressureArray, "/presstrack/persons", RELIABLE)
    diagnostics = node.create_publisher(DiagnosticArray, "/diagnostics", RELIABLE)
    unrelated = node.create_publisher(Image, "/camera/image", RELIABLE)

    bag = tmp_path / "session.mcap"
    recorder = _start_recorder(bag, "--split", "0.5")
    try:
        _wait_for_subscriber(pressure, persons, diagnostics)
        time.sleep(0.3)  # let the best-effort reader settle before counting on it
        crop = node.create_publisher(Image, "/presstrack/persons/person_7/pressure", RELIABLE)  # a person appears
        _wait_for_subscriber(crop)
        for index in range(20):
            pressure.publish(_pressure(index))
            persons.publish(_persons(index))
            crop.publish(_pressure(100 + index))
            unrelated.publish(_pressure(index))
            time.sleep(0.05)
        diagnostics.publish(DiagnosticArray(status=[DiagnosticStatus(name="mat_driver", message="ok")]))
        time.sleep(1.0)
    finally:
        recorder.send_signal(signal.SIGINT)
        assert recorder.wait(timeout=20) == 0

    assert (tmp_path / "session" / "metadata.yaml").is_file()
    assert len(list((tmp_path / "session").glob("session_*.mcap"))) >= 2  # split into closed segments
    typestore = suite_typestore()
    received: dict[str, list] = {}
    with Reader(tmp_path / "session") as reader:
        assert reader.topics["/presstrack/persons"].msgtype == "presstrack_msgs/msg/PersonPressureArray"
        assert "PersonPressure[] persons" in reader.topics["/presstrack/persons"].msgdef.data  # definition embedded
        for connection, _, data in reader.messages():
            received.setdefault(connection.topic, []).append(typestore.deserialize_cdr(data, connection.msgtype))
    assert set(received) == {"/mat/info", "/tf_static", "/mat/pressure", "/presstrack/persons",
                             "/presstrack/persons/person_7/pressure", "/diagnostics"}
    assert received["/mat/info"][0].world_frame == "world" and received["/mat/info"][0].cols == 3
    assert received["/tf_static"][0].transforms[0].transform.translation.x == pytest.approx(1.175)
    assert [m.persons[0].box.y_offset for m in received["/presstrack/persons"]] == [20 + i for i in range(20)]
    assert received["/presstrack/persons"][0].persons[0].track_id == 7
    assert [m.header.stamp.sec for m in received["/presstrack/persons/person_7/pressure"]] == [1100 + i for i in range(20)]
    # Every segment's channels name their type's RIHS01 hash, as rosbag2 records them.
    hashes = {topic: metadata["topic_type_hash"] for segment in (tmp_path / "session").glob("session_*.mcap")
              for topic, metadata in mcap_channel_metadata(segment).items()}
    assert set(hashes) == set(received) and all(h.startswith("RIHS01_") for h in hashes.values()), hashes
    assert bytes(received["/presstrack/persons/person_7/pressure"][5].data) == bytes([105]) * 24
    assert len(received["/mat/pressure"]) >= 15  # best effort: a loss is allowed, an empty topic is not
    assert all(bytes(m.data) == bytes([m.header.stamp.sec - 1000]) * 24 for m in received["/mat/pressure"])
    assert received["/diagnostics"][0].status[0].message == "ok"


def test_a_killed_recorder_leaves_a_readable_bag(node, tmp_path):
    persons = node.create_publisher(PersonPressureArray, "/presstrack/persons", RELIABLE)
    bag = tmp_path / "crash"
    recorder = _start_recorder(bag, "--split", "0.3")
    try:
        _wait_for_subscriber(persons)
        for index in range(30):
            persons.publish(_persons(index))
            time.sleep(0.05)
        time.sleep(0.5)  # past at least one split
    finally:
        recorder.kill()
        recorder.wait(timeout=10)
    assert recorder.returncode == -signal.SIGKILL

    typestore = suite_typestore()
    with Reader(bag) as reader:
        offsets = [typestore.deserialize_cdr(data, c.msgtype).persons[0].box.y_offset
                   for c, _, data in reader.messages()]
    # Every closed segment is there, in order; at most the open one (< 0.3 s + one poll) is lost.
    assert len(offsets) >= 20
    assert offsets == [20 + i for i in range(len(offsets))]


@pytest.mark.parametrize("kill_after_s", [1.0, 3.5, 30.0])
def test_a_recorder_killed_at_any_time_leaves_a_bag_that_lacks_at_most_2_s(node, tmp_path, kill_after_s):
    """With the default split: the bag opens however early the kill (counted from when the bag appears), and
    what it holds reaches to within 2 s of the kill."""
    persons = node.create_publisher(PersonPressureArray, "/presstrack/persons", RELIABLE)
    bag = tmp_path / "killed"
    recorder = _start_recorder(bag)
    try:
        deadline = time.monotonic() + 60.0
        while not (bag / "metadata.yaml").is_file():  # the recorder's start (python and its imports) is not counted
            assert time.monotonic() < deadline and recorder.poll() is None, "the recorder made no bag"
            time.sleep(0.01)
        started, subscribed = time.time_ns(), None
        index = 0
        while time.time_ns() - started < kill_after_s * 1e9:
            if subscribed is None and persons.get_subscription_count() > 0:
                subscribed = time.time_ns()  # what came before the recorder listened is not owed
            persons.publish(_persons(index))
            index += 1
            time.sleep(0.05)
        killed = time.time_ns()
    finally:
        recorder.kill()
        recorder.wait(timeout=10)
    with Reader(bag) as reader:  # raises if the bag cannot be opened
        stamps = [timestamp for _, timestamp, _ in reader.messages()]
    covered_until = max(stamps, default=subscribed or killed)
    assert killed - covered_until <= 2_000_000_000, f"the bag ends {(killed - covered_until) / 1e9:.2f} s before the kill"
