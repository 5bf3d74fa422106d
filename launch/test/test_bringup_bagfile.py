"""SegmentedBagWriter without ROS: compressed, closed segments that read back message for message."""
from __future__ import annotations

import os

import numpy as np
import yaml
from rosbags.rosbag2 import Reader

from bringup_bags import TS, _header, mcap_channel_metadata
from presstrack_bringup.bagfile import SegmentedBagWriter

ROWS, COLS = 238, 120


def _frame(index: int, rng: np.random.Generator) -> bytes:
    """A MIP-sized pressure frame: one footprint on an unloaded mat with a little sensor noise."""
    image = np.abs(rng.normal(0.0, 0.05, (ROWS, COLS))).round(2).astype(np.float32)
    image[100 + index % 20: 125 + index % 20, 40:50] = 150.0
    message = TS.types["sensor_msgs/msg/Image"](header=_header(index * 33_000_000, "mat"), height=ROWS, width=COLS,
                                                encoding="32FC1", is_bigendian=0, step=COLS * 4,
                                                data=image.view(np.uint8).ravel())
    return bytes(TS.serialize_cdr(message, "sensor_msgs/msg/Image"))


def test_segments_are_chunk_compressed_and_read_back(tmp_path):
    clock = iter(np.arange(0.0, 100.0, 0.1))
    writer = SegmentedBagWriter(tmp_path / "session", TS, split_seconds=2.0, clock=lambda: next(clock))
    writer.add_topic("/mat/pressure", "sensor_msgs/msg/Image")
    rng = np.random.default_rng(0)
    frames = [_frame(i, rng) for i in range(60)]
    for index, data in enumerate(frames):
        writer.write("/mat/pressure", index * 33_000_000, data)
    writer.close()

    files = sorted((tmp_path / "session").glob("session_*.mcap"))
    assert len(files) >= 2
    # Mostly unloaded cells: zstd chunks take a fraction of the raw CDR (6.9 MB here).
    assert sum(f.stat().st_size for f in files) < 0.5 * sum(len(f) for f in frames)
    with Reader(tmp_path / "session") as reader:
        assert [bytes(data) for _, _, data in reader.messages()] == frames
    metadata = yaml.safe_load((tmp_path / "session" / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert metadata["ros_distro"] == (os.environ.get("ROS_DISTRO") or "kilted")


def test_channels_carry_the_type_hash_rmw_advertises(tmp_path):
    """Each MCAP channel's metadata holds offered_qos_profiles and topic_type_hash (as rosbag2 writes and
    reads them), the RIHS01 hash a live rclpy publisher of the type advertises."""
    import rclpy
    from presstrack_msgs.msg import PersonPressureArray
    from sensor_msgs.msg import Image

    types = {"/mat/pressure": ("sensor_msgs/msg/Image", Image),
             "/presstrack/persons": ("presstrack_msgs/msg/PersonPressureArray", PersonPressureArray)}
    writer = SegmentedBagWriter(tmp_path / "session", TS)
    for topic, (msgtype, _) in types.items():
        writer.add_topic(topic, msgtype)
    writer.write("/mat/pressure", 1, _frame(0, np.random.default_rng(0)))
    writer.close()

    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node("type_hash_probe", context=context)
        advertised = {}
        for topic, (_, message_class) in types.items():
            node.create_publisher(message_class, topic, 1)
            (info,) = node.get_publishers_info_by_topic(topic)
            advertised[topic] = str(info.topic_type_hash)
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)

    (segment,) = sorted((tmp_path / "session").glob("session_*.mcap"))
    channels = mcap_channel_metadata(segment)
    assert set(channels) == set(types)
    for topic, metadata in channels.items():
        assert advertised[topic].startswith("RIHS01_") and metadata["topic_type_hash"] == advertised[topic], topic
        assert "offered_qos_profiles" in metadata
    with Reader(tmp_path / "session") as reader:  # the hash in metadata.yaml too (type_description_hash)
        assert {c.topic: c.digest for c in reader.connections} == advertised
