"""presstrack_msgs over real DDS between two processes: every field survives the round trip."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rclpy
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point, Pose, Quaternion, Vector3
from rclpy.node import Node
from sensor_msgs.msg import Image, RegionOfInterest
from std_msgs.msg import Header

from presstrack_msgs.msg import MatInfo, PersonPressure, PersonPressureArray, SmplBody, SmplBodyArray


def leaf_fields(msg, prefix=""):
    """Yield (dotted name, value) for every non-message field of a ROS message, recursing into
    nested messages and message sequences."""
    for name in msg.get_fields_and_field_types():
        value = getattr(msg, name)
        if hasattr(value, "get_fields_and_field_types"):
            yield from leaf_fields(value, f"{prefix}{name}.")
        elif isinstance(value, (list, tuple)) and value and hasattr(value[0], "get_fields_and_field_types"):
            for i, item in enumerate(value):
                yield from leaf_fields(item, f"{prefix}{name}[{i}].")
        else:
            yield f"{prefix}{name}", value


def assert_all_fields_set(msg):
    """A field left at its default would round-trip trivially and prove nothing."""
    default = type(msg)()
    defaults = dict(leaf_fields(default))
    for name, value in leaf_fields(msg):
        if name in defaults:
            assert not np.array_equal(np.asarray(value), np.asarray(defaults[name])), f"{name} left at default"


def header(frame_id: str, sec: int) -> Header:
    return Header(stamp=Time(sec=sec, nanosec=123_456_789), frame_id=frame_id)


def person(track_id: int) -> PersonPressure:
    crop = np.arange(128 * 128, dtype=np.float32).reshape(128, 128) / 7.0 + track_id
    return PersonPressure(
        track_id=track_id,
        state=PersonPressure.STATE_CONFIRMED,
        confidence=0.875,
        box=RegionOfInterest(x_offset=10 + track_id, y_offset=20, width=30, height=40, do_rectify=True),
        centroid=Point(x=0.25, y=1.5, z=0.001),
        heading=-1.25,
        total_force=712.5,
        contact_area=0.03125,  # exactly representable in float32
        crop=Image(header=header("mat", 7), height=128, width=128, encoding="32FC1", is_bigendian=1,
                   step=128 * 4, data=crop.tobytes()),
        crop_row0=-3,
        crop_col0=-5 - track_id,
        renamed_from=100 + track_id,
    )


def body(track_id: int) -> SmplBody:
    rng = np.random.default_rng(track_id)
    return SmplBody(
        track_id=track_id,
        betas=rng.normal(size=10).astype(np.float32),
        pose=rng.normal(size=72).astype(np.float32),
        transl=Vector3(x=0.5, y=-0.25, z=0.95),
        joints=[Point(x=float(x), y=float(y), z=float(z)) for x, y, z in rng.normal(size=(24, 3))],
        confidence=0.5,
        body_model="presstrack_default",
        backend="footprint",
    )


def test_mat_info_fields_documented_types():
    info = MatInfo(rows=238, cols=120, cell_pitch=0.01, pressure_unit="kPa", full_scale=600.0,
                   noise_floor=2.0, world_frame="world",
                   mat_pose=Pose(orientation=Quaternion(x=0.0, y=0.0, z=1.0, w=0.0)), dead_cells=3)
    assert info.rows * info.cols == 238 * 120
    assert info.mat_pose.orientation.z == 1.0


@pytest.fixture
def echo_process():
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("interface_echo.py"))])
    yield proc
    proc.terminate()
    proc.wait(timeout=10)


def exchange(node: Node, msg_type, name: str, sent, timeout: float = 20.0):
    received = []
    publisher = node.create_publisher(msg_type, f"/echo/in/{name}", 10)
    node.create_subscription(msg_type, f"/echo/out/{name}", received.append, 10)
    deadline = time.monotonic() + timeout
    # Publish until the echo is discovered and has answered once; discovery takes a moment.
    while not received and time.monotonic() < deadline:
        if publisher.get_subscription_count() > 0:
            publisher.publish(sent)
        rclpy.spin_once(node, timeout_sec=0.2)
    assert received, f"no {name} echo within {timeout} s"
    return received[0]


def test_messages_round_trip_between_processes(echo_process):
    persons = PersonPressureArray(header=header("mat", 42), persons=[person(1), person(7)])
    bodies = SmplBodyArray(header=header("world", 43), bodies=[body(1), body(7)])
    assert_all_fields_set(persons.persons[0])
    assert_all_fields_set(bodies.bodies[0])

    rclpy.init()
    try:
        node = rclpy.create_node("interface_roundtrip_test")
        for msg_type, name, sent in ((PersonPressureArray, "persons", persons), (SmplBodyArray, "bodies", bodies)):
            got = exchange(node, msg_type, name, sent)
            sent_fields, got_fields = dict(leaf_fields(sent)), dict(leaf_fields(got))
            assert sent_fields.keys() == got_fields.keys()
            for field, value in sent_fields.items():
                assert np.array_equal(np.asarray(got_fields[field]), np.asarray(value)), field
            assert got == sent
        node.destroy_node()
    finally:
        rclpy.shutdown()
    assert echo_process.poll() is None, "echo process died"
