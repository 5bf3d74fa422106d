"""The mat_driver node over real DDS, with each replay source: what arrives, and in what shape."""
from __future__ import annotations

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import Image
from tf2_msgs.msg import TFMessage

from graph_testing import Listener, check_published_mat, start_node, stop_node
from presstrack_common.conversions import image_to_array
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
        driver = start_node("mat_driver", params, tmp_path)  # the fake mat's default load suits the defaults
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
            assert 100.0 < image_to_array(listener.messages["/mat/pressure"][-1]).max() < 600.0, "a person, unsaturated"
        finally:
            assert stop_node(driver) == 0


def test_the_simulated_source_is_refused_with_where_to_find_it(tmp_path):
    driver = start_node("mat_driver", {"source": "sim"}, tmp_path)
    assert driver.wait(timeout=30) == 2
    log = (tmp_path / "mat_driver.log").read_text()
    assert "presstrack_sim" in log and "Traceback" not in log
