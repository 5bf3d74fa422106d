"""Every kind of bad input to the mat_driver node from its feeds: a UDP mat sending bad frames, a bag holding bad
messages, MIP files with NaN cells. Each is warned about and counted in /diagnostics as bad_input_<kind>, and
the good frames around it are still published."""
from __future__ import annotations

import socket
import time

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from graph_testing import Listener, diagnostics_after, start_node, stop_node
from mat_driver.frame_protocol import encode_frame
from mat_driver.replay import replay_mip
from presstrack_common.conversions import image_to_array
from test_frame_protocol import header_with

ROWS, COLS = 24, 12  # a small mat: a burst of its frames fits the socket buffer
PERIOD_US = 66_667


@pytest.fixture
def listener():
    listener = Listener()
    yield listener
    listener.close()


class UdpMat:
    """The test's mat on UDP: frames with a counter, a device clock and a marker value in cell (0, 0)."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.counter = 0
        self.device_time_us = 0
        self.marker = 0

    def frame(self, samples: np.ndarray | None = None, counter: int | None = None) -> bytes:
        """The next frame; by default uint16 samples marked with a new marker (1..499, below full scale)."""
        if samples is None:
            self.marker = self.marker % 499 + 1
            samples = np.full((ROWS, COLS), 10, np.uint16)
            samples[0, 0] = self.marker
        self.counter = self.counter + 1 if counter is None else counter
        self.device_time_us += PERIOD_US
        return encode_frame(samples, self.counter, self.device_time_us)

    def send(self, *frames: bytes) -> None:
        self.socket.sendto(b"".join(frames), ("127.0.0.1", self.port))

    def answered_good_frame(self) -> float:
        """Send a marked frame; the wall-clock arrival of the driver's /mat/pressure frame carrying it."""
        heard = len(self.listener.messages["/mat/pressure"])
        self.send(self.frame())
        marker = self.marker

        def arrival() -> float | None:
            new = zip(self.listener.messages["/mat/pressure"][heard:], self.listener.arrival["/mat/pressure"][heard:])
            return next((t for m, t in new if image_to_array(m)[0, 0] == marker), None)
        assert self.listener.spin_until(lambda: arrival() is not None, 10.0), "the driver publishes no good frame"
        return arrival()


def float_frame(cells) -> np.ndarray:
    frame = np.full((ROWS, COLS), 10.0, np.float32)
    frame[0, :len(cells)] = cells
    return frame


def corrupted(frame: bytes) -> bytes:
    damaged = bytearray(frame)
    damaged[40] ^= 0xFF  # a payload byte: the frame CRC no longer matches
    return bytes(damaged)


UDP_CASES = [  # (kind counted, what the mat sends before the next good frame)
    ("rejected_sample_type", lambda mat: mat.send(header_with(sample_type=9))),
    ("rejected_dimensions", lambda mat: mat.send(header_with(rows=0, length=0))),  # an empty frame
    ("rejected_crc", lambda mat: mat.send(corrupted(mat.frame()))),
    ("wrong_size", lambda mat: mat.send(mat.frame(np.zeros((ROWS - 1, COLS), np.uint16)))),
    # larger than the mat: rejected by the parser as soon as its header is in
    ("rejected_dimensions", lambda mat: mat.send(mat.frame(np.zeros((ROWS + 1, COLS), np.uint16)))),
    ("nonfinite_cells", lambda mat: mat.send(mat.frame(float_frame([np.nan, np.inf, -np.inf])))),
    ("negative_cells", lambda mat: mat.send(mat.frame(float_frame([-5.0, -1.0])))),
    ("saturated_cells", lambda mat: mat.send(mat.frame(np.full((ROWS, COLS), 65_000, np.uint16)))),
    ("counter_backwards", lambda mat: mat.send(mat.frame(counter=1))),
    ("counter_jump", lambda mat: mat.send(mat.frame(counter=mat.counter + 1000))),
    ("burst", lambda mat: mat.send(*(mat.frame() for _ in range(40)))),
]


def test_udp_mat_bad_frames_are_counted_and_publishing_goes_on(tmp_path, listener):
    listener.listen("/mat/pressure", Image, qos_profile_sensor_data)
    listener.listen("/diagnostics", DiagnosticArray)
    mat = UdpMat(listener)
    driver = start_node("mat_driver", {"source": "udp", "udp_host": "127.0.0.1", "udp_port": mat.port, "rows": ROWS,
                                       "cols": COLS, "noise_floor": 0.0, "full_scale": 600.0}, tmp_path)
    try:
        assert listener.spin_until(lambda: listener.node.count_publishers("/mat/pressure") > 0, 20.0)
        for _ in range(100):  # until the driver's socket is bound and it publishes
            mat.send(mat.frame())
            if listener.spin_until(lambda: listener.messages["/mat/pressure"], 0.1):
                break
        before = diagnostics_after(listener, "mat_driver", mat.answered_good_frame())
        for kind, send in UDP_CASES:
            send(mat)
            after = diagnostics_after(listener, "mat_driver", mat.answered_good_frame())
            key = f"bad_input_{kind}"
            assert int(after.get(key, 0)) > int(before.get(key, 0)), f"{kind} not counted: {after}"
            before = after
        assert image_to_array(listener.messages["/mat/pressure"][-1]).max() <= 600.0
    finally:
        assert stop_node(driver) == 0
    log = (tmp_path / "mat_driver.log").read_text()
    assert "Traceback" not in log
    for kind, _ in UDP_CASES:
        assert f"bad input ({kind}," in log, f"no warning about {kind}"


def write_bag(path, messages) -> None:
    """A bag of /mat/pressure Images: (stamp ns, cells or None, Image field overrides) per message."""
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    typestore = get_typestore(Stores.ROS2_JAZZY)
    Image_, Header_, Time_ = (typestore.types[t] for t in
                              ("sensor_msgs/msg/Image", "std_msgs/msg/Header", "builtin_interfaces/msg/Time"))
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connection = writer.add_connection("/mat/pressure", "sensor_msgs/msg/Image", typestore=typestore)
        for index, (stamp, cells, fields) in enumerate(messages):
            cells = np.full((ROWS, COLS), 5.0, np.float32) if cells is None else cells
            image = dict(height=cells.shape[0], width=cells.shape[1], encoding="32FC1", is_bigendian=0,
                         step=cells.shape[1] * 4, data=np.frombuffer(cells.tobytes(), dtype=np.uint8)) | fields
            header = Header_(stamp=Time_(sec=stamp // 10**9, nanosec=stamp % 10**9), frame_id="mat")
            msg = Image_(header=header, **image)
            writer.write(connection, 10**9 + index * 10**6, typestore.serialize_cdr(msg, "sensor_msgs/msg/Image"))


BAG_CASES = [  # (kind counted, Image field overrides or cells of a bad message)
    ("wrong_encoding", {"encoding": "mono8", "step": COLS}),
    ("empty_frame", {"height": 0, "width": 0, "step": 0, "data": np.zeros(0, np.uint8)}),
    ("malformed_image", {"data": np.zeros(100, np.uint8)}),
    ("stamp_not_increasing", "back"),
    ("stamp_jump", "jump"),
    ("nonfinite_cells", float_frame([np.nan, np.inf])),
    ("negative_cells", float_frame([-3.0])),
]


def test_bag_bad_messages_are_skipped_and_counted_and_the_replay_goes_on(tmp_path, listener):
    period = 10**9 // 15
    stamp, messages, lap = 50 * 10**9, [], []  # lap: cell (5, 5) of the frames one replay of the bag publishes
    for number, (kind, bad) in enumerate(BAG_CASES, start=1):
        stamp += period
        messages.append((stamp, np.full((ROWS, COLS), float(number), np.float32), {}))
        lap.append(number)
        if isinstance(bad, dict):
            messages.append((stamp + period // 2, None, bad))
        elif isinstance(bad, np.ndarray):  # published, its bad cells sanitised
            messages.append((stamp + period // 2, bad, {}))
            lap.append(bad[5, 5])
        else:  # a stamp a second back, or an hour ahead, of the good frame before it
            messages.append((stamp + (-10**9 if bad == "back" else 3600 * 10**9), None, {}))
    write_bag(tmp_path / "session", messages)

    listener.listen("/mat/pressure", Image, qos_profile_sensor_data)
    listener.listen("/diagnostics", DiagnosticArray)
    driver = start_node("mat_driver", {"source": "bag", "bag_path": str(tmp_path / "session"), "restamp": True,
                                       "loop": True, "noise_floor": 0.0, "rows": ROWS, "cols": COLS}, tmp_path)
    try:
        assert listener.spin_until(lambda: len(listener.messages["/mat/pressure"]) >= 3 * len(messages), 30.0)
        values = diagnostics_after(listener, "mat_driver", time.time())
    finally:
        assert stop_node(driver) == 0
    for kind, _ in BAG_CASES:
        assert int(values.get(f"bad_input_{kind}", 0)) >= 1, f"{kind} not counted: {values}"
    published = [float(image_to_array(m)[5, 5]) for m in listener.messages["/mat/pressure"]]
    start = published.index(1.0, 1)  # a whole lap, not one the listener joined late
    assert published[start:start + len(lap)] == lap, "the usable frames in order, none lost to a bad neighbour"
    log = (tmp_path / "mat_driver.log").read_text()
    assert "Traceback" not in log
    for kind, _ in BAG_CASES:
        assert f"bad input ({kind}," in log, f"no warning about {kind}"


def test_mip_nan_cells_are_no_pressure_and_reported_once_per_file(tmp_path):
    clean, dirty = np.zeros((3, ROWS, COLS), np.float32), np.zeros((3, ROWS, COLS), np.float32)
    dirty[0, 0, :3] = [np.nan, np.inf, -np.inf]
    dirty[2, 1, 1] = np.nan
    for name, pressure in (("data_1.npz", clean), ("data_2.npz", dirty)):
        np.savez(tmp_path / name, pressure=pressure, pressure_unit="kPa")
    lines = []
    frames = list(replay_mip(tmp_path, loop=False, report=lines.append))
    assert lines == [f"{tmp_path / 'data_2.npz'}: 4 NaN/Inf pressure cells treated as 0"]
    assert len(frames) == 6 and all(np.isfinite(f.pressure_kpa).all() for f in frames)
    assert frames[3].pressure_kpa[0, :3].tolist() == [0.0, 0.0, 0.0]
