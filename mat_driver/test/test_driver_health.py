"""The driver's health tells the truth: a silent mat is an ERROR (and a driver that never published a frame exits
with status 3 saying so), the frame rate is judged against its bounds, and a header claiming a frame larger than
the mat is rejected at once instead of stalling the stream behind it."""
from __future__ import annotations

import socket

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from graph_testing import Listener, start_node, stop_node
from mat_driver.fake_device import FakeMat, UdpFakeMat
from mat_driver.frame_protocol import FrameParser, SampleType, encode_frame


@pytest.fixture
def listener():
    listener = Listener()
    yield listener
    listener.close()


def test_a_header_claiming_more_cells_than_the_mat_is_rejected_at_once():
    parser = FrameParser(max_rows=238, max_cols=120)
    good = np.ones((238, 120), dtype=np.uint16)
    huge = encode_frame(np.zeros((1024, 1024), dtype=np.uint16), 0, 0, SampleType.UINT16)
    # Only the huge frame's header arrives (its payload never does); the good frames right behind it still parse.
    stream = huge[:32] + b"".join(encode_frame(good, counter, counter * 1000, SampleType.UINT16) for counter in (1, 2))
    frames = parser.feed(stream)
    assert [frame.counter for frame in frames] == [1, 2]
    assert parser.stats.bad_dimensions == 1


def driver_status(listener) -> DiagnosticStatus | None:
    statuses = [s for d in listener.messages["/diagnostics"] for s in d.status if s.name.startswith("mat_driver")]
    return statuses[-1] if statuses else None


def test_a_silent_mat_turns_the_drivers_status_to_error_and_back(tmp_path, listener):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    listener.listen("/mat/pressure", Image, qos_profile_sensor_data)
    listener.listen("/diagnostics", DiagnosticArray)
    with UdpFakeMat(FakeMat(rows=238, cols=120), ("127.0.0.1", port), rate_hz=15) as device:
        driver = start_node("mat_driver", {"source": "udp", "udp_host": "127.0.0.1", "udp_port": port}, tmp_path)
        try:
            def level_is(level):
                return lambda: (status := driver_status(listener)) is not None and status.level == level

            assert listener.spin_until(level_is(DiagnosticStatus.OK), 20.0), "streaming is OK"
            device.disconnect(4.0)
            assert listener.spin_until(level_is(DiagnosticStatus.ERROR), 4.0), "a silent mat is an error"
            assert "silent for" in driver_status(listener).message
            assert listener.spin_until(level_is(DiagnosticStatus.OK), 10.0), "frames again: OK again"
        finally:
            assert stop_node(driver) == 0


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_mat_that_never_sends_is_an_error_and_the_driver_exits_3(tmp_path, listener):
    listener.listen("/diagnostics", DiagnosticArray)
    driver = start_node("mat_driver", {"source": "udp", "udp_host": "127.0.0.1", "udp_port": free_udp_port()},
                        tmp_path)
    try:
        assert listener.spin_until(lambda: (status := driver_status(listener)) is not None
                                   and status.level == DiagnosticStatus.ERROR, 20.0), "no frame ever: an error"
        values = {kv.key: kv.value for kv in driver_status(listener).values}
        assert values["source_state"] == "starting" and values["frames_published"] == "0"
    finally:
        assert stop_node(driver) == 3
    log = (tmp_path / "mat_driver.log").read_text()
    assert "no frame published in" in log and "Traceback" not in log


def test_a_frame_rate_outside_its_bounds_is_a_warning(tmp_path, listener):
    listener.listen("/diagnostics", DiagnosticArray)
    port = free_udp_port()
    with UdpFakeMat(FakeMat(rows=238, cols=120), ("127.0.0.1", port), rate_hz=5):
        driver = start_node("mat_driver", {"source": "udp", "udp_host": "127.0.0.1", "udp_port": port,
                                           "rate": 15.0}, tmp_path)
        try:
            assert listener.spin_until(lambda: (status := driver_status(listener)) is not None
                                       and status.level == DiagnosticStatus.WARN, 20.0), "5 Hz where 15 are expected"
            status = driver_status(listener)
            values = {kv.key: kv.value for kv in status.values}
            assert "frames rate too low" in status.message and 3.0 < float(values["frames_rate_hz"]) < 7.0, status
        finally:
            assert stop_node(driver) == 0
