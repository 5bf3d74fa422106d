"""The mat_driver node over real DDS, with each replay source: what arrives, and in what shape."""
from __future__ import annotations

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import Image
from tf2_msgs.msg import TFMessage

from graph_testing import Listener, start_node, stop_node
from presstrack_msgs.conversions import image_to_array
from presstrack_msgs.msg import MatInfo

LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)


@pytest.fixture
def listener():
    listener = Listener()
    yield listener
    listener.close()


def mip_file(path, frames=40, rows=238, cols=120):
    """A small MIP-format file in kPa, as our simulator writes, with a blob moving along the rows."""
    pressure = np.zeros((frames, rows, cols), dtype=np.float32)
    for t in range(frames):
        pressure[t, 10 + t : 30 + t, 50:60] = 100.0 + t
    np.savez(path, name="test", pressure=pressure, pressure_unit="kPa", fps=30.0,
             box=np.zeros((frames, 1, 4), dtype=np.float32))
    return path


def check_published_mat(listener, rows=238, cols=120, min_frames=20):
    assert listener.spin_until(lambda: len(listener.messages["/mat/pressure"]) >= min_frames, 20.0), \
        f"only {len(listener.messages['/mat/pressure'])} pressure frames arrived"
    frames = listener.messages["/mat/pressure"]
    for msg in frames:
        assert (msg.height, msg.width, msg.encoding, msg.header.frame_id) == (rows, cols, "32FC1", "mat")
    stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in frames]
    assert all(b > a for a, b in zip(stamps, stamps[1:])), "stamps not strictly increasing"
    return frames, stamps


def test_mip_replay_publishes_kpa_frames_latched_info_tf_and_diagnostics(tmp_path, listener):
    path = mip_file(tmp_path / "data_1.npz")
    listener.listen("/mat/pressure", Image, qos_profile_sensor_data)
    listener.listen("/diagnostics", DiagnosticArray)
    driver = start_node("mat_driver", {"source": "mip", "mip_path": str(path), "loop": True,
                                       "noise_floor": 0.5}, tmp_path)
    try:
        frames, stamps = check_published_mat(listener)
        values = image_to_array(frames[-1])
        assert values.max() >= 100.0 and values.max() <= 140.0, "kPa values as stored in the file"
        assert values[0, 0] == 0.0
        period = np.median(np.diff(stamps)) * 1e-9
        assert period == pytest.approx(1 / 30, rel=0.5), "replayed at the recorded rate"

        # Subscribers that join late still get the latched MatInfo and the static transform.
        listener.listen("/mat/info", MatInfo, LATCHED)
        listener.listen("/tf_static", TFMessage, LATCHED)
        assert listener.spin_until(lambda: listener.messages["/mat/info"] and listener.messages["/tf_static"], 10.0)
        info = listener.messages["/mat/info"][0]
        assert (info.rows, info.cols, info.cell_pitch, info.pressure_unit) == (238, 120, 0.01, "kPa")
        transform = listener.messages["/tf_static"][0].transforms[0]
        assert (transform.header.frame_id, transform.child_frame_id) == ("world", "mat")
        assert transform.transform.translation.x == pytest.approx(1.17)

        assert listener.spin_until(lambda: len(listener.messages["/diagnostics"]) >= 2, 10.0)
        published = [int(dict((kv.key, kv.value) for kv in d.status[0].values)["frames_published"])
                     for d in listener.messages["/diagnostics"]
                     if d.status and d.status[0].name.startswith("mat_driver")]
        assert published[-1] > published[0], "diagnostics counters move"
    finally:
        assert stop_node(driver) == 0


def test_bad_start_parameters_exit_with_the_reason(tmp_path):
    driver = start_node("mat_driver", {"source": "mip", "mip_path": str(tmp_path / "missing.npz")}, tmp_path)
    try:
        driver.wait(timeout=20)
    finally:
        stop_node(driver)
    log = (tmp_path / "mat_driver.log").read_text()
    assert driver.returncode == 2
    assert "missing.npz" in log and "Traceback" not in log


def diagnostics_values(listener):
    latest = [d for d in listener.messages["/diagnostics"] if d.status and d.status[0].name.startswith("mat_driver")]
    return {kv.key: kv.value for kv in latest[-1].status[0].values} if latest else {}


def test_bag_replay_keeps_or_restamps(tmp_path, listener):
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    typestore = get_typestore(Stores.ROS2_JAZZY)
    Image_, Header_, Time_ = (typestore.types[t] for t in
                              ("sensor_msgs/msg/Image", "std_msgs/msg/Header", "builtin_interfaces/msg/Time"))
    bag = tmp_path / "session"
    with Writer(bag, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connection = writer.add_connection("/mat/pressure", "sensor_msgs/msg/Image", typestore=typestore)
        for i in range(30):
            frame = np.full((238, 120), float(i), dtype=np.float32)
            stamp = 1_000_000_000 + i * 50_000_000  # 20 Hz, recorded long ago
            msg = Image_(header=Header_(stamp=Time_(sec=stamp // 10**9, nanosec=stamp % 10**9), frame_id="mat"),
                         height=238, width=120, encoding="32FC1", is_bigendian=0, step=480,
                         data=np.frombuffer(frame.tobytes(), dtype=np.uint8))
            writer.write(connection, stamp, typestore.serialize_cdr(msg, "sensor_msgs/msg/Image"))

    listener.listen("/mat/pressure", Image, qos_profile_sensor_data)
    driver = start_node("mat_driver", {"source": "bag", "bag_path": str(bag), "restamp": False,
                                       "noise_floor": 0.0}, tmp_path)
    try:
        frames, stamps = check_published_mat(listener, min_frames=20)
        assert stamps[0] >= 1_000_000_000 and stamps[-1] < 2_000_000_000, "recorded stamps kept"
        first = int(image_to_array(frames[0])[0, 0])
        assert np.diff(stamps).min() == 50_000_000
        assert all(image_to_array(f)[5, 5] == first + k for k, f in enumerate(frames)), "every frame, in order"
    finally:
        assert stop_node(driver) == 0

    bad_bag = start_node("mat_driver", {"source": "bag", "bag_path": str(bag), "bag_topic": "/nope"}, tmp_path)
    try:
        bad_bag.wait(timeout=20)
    finally:
        stop_node(bad_bag)
    assert bad_bag.returncode == 2
    assert "/nope" in (tmp_path / "mat_driver.log").read_text()


@pytest.mark.parametrize("link", ["udp", "serial"])
def test_hardware_source_survives_disconnect_and_corrupt_frames(tmp_path, listener, link):
    import socket
    import time

    from mat_driver.fake_device import FakeMat, PtyFakeMat, UdpFakeMat

    mat = FakeMat(rows=238, cols=120, corrupt_every=7, seed=3)
    if link == "udp":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        device = UdpFakeMat(mat, ("127.0.0.1", port), rate_hz=30)
        params = {"source": "udp", "udp_host": "127.0.0.1", "udp_port": port}
    else:
        device = PtyFakeMat(mat, rate_hz=30)
        params = {"source": "serial", "serial_port": str(device.port_path)}
    listener.listen("/mat/pressure", Image, qos_profile_sensor_data)
    listener.listen("/diagnostics", DiagnosticArray)
    with device:
        driver = start_node("mat_driver", params | {"raw_to_kpa": 0.01, "full_scale": 700.0}, tmp_path)
        try:
            check_published_mat(listener, min_frames=15)
            device.disconnect(1.5)
            time.sleep(1.5)
            before = len(listener.messages["/mat/pressure"])
            assert listener.spin_until(lambda: len(listener.messages["/mat/pressure"]) >= before + 20, 20.0), \
                "frames resume after the device comes back"
            assert listener.spin_until(lambda: int(diagnostics_values(listener).get("frames_rejected", 0)) > 0, 5.0)
            values = diagnostics_values(listener)
            assert int(values["frames_lost"]) > 0, "the outage shows up as frames lost (counter gap)"
            assert image_to_array(listener.messages["/mat/pressure"][-1]).max() <= 700.0
        finally:
            assert stop_node(driver) == 0


def test_sim_source_publishes_the_mat_and_its_ground_truth(tmp_path, listener):
    from presstrack_msgs.msg import PersonPressureArray, SmplBodyArray

    listener.listen("/mat/pressure", Image, qos_profile_sensor_data)
    listener.listen("/mat/sim/persons", PersonPressureArray)
    listener.listen("/mat/sim/bodies", SmplBodyArray)
    driver = start_node("mat_driver", {"source": "sim", "people": 2, "seed": 4, "scenario": "crossing2",
                                       "rate": 30.0}, tmp_path)
    try:
        frames, stamps = check_published_mat(listener, min_frames=60)
        assert listener.spin_until(lambda: len(listener.messages["/mat/sim/bodies"]) >= 30, 10.0)
    finally:
        assert stop_node(driver) == 0
    assert np.median(np.diff(stamps)) * 1e-9 == pytest.approx(1 / 30, rel=0.2)
    truth = {m.header.stamp.sec * 10**9 + m.header.stamp.nanosec: m for m in listener.messages["/mat/sim/persons"]}
    bodies = listener.messages["/mat/sim/bodies"]
    assert all(b.header.frame_id == "world" and len(b.bodies) <= 2 for b in bodies)
    # Every true box encloses pressure in the frame it was published with.
    checked = 0
    for frame in frames:
        stamp = frame.header.stamp.sec * 10**9 + frame.header.stamp.nanosec
        for person in truth.get(stamp, PersonPressureArray()).persons:
            box = person.box
            region = image_to_array(frame)[box.y_offset:box.y_offset + box.height, box.x_offset:box.x_offset + box.width]
            assert region.max() > 0
            checked += 1
    assert checked > 20
