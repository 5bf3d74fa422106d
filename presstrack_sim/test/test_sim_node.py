"""The simulator node (mat_sim) over real DDS: the driver's topics, in the driver's place, plus ground truth."""
from __future__ import annotations

import numpy as np
import pytest
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from graph_testing import Listener, check_published_mat, start_node, stop_node
from presstrack_common.conversions import image_to_array
from presstrack_msgs.msg import PersonPressureArray, SmplBodyArray


@pytest.fixture
def listener():
    listener = Listener()
    yield listener
    listener.close()


def test_the_simulator_publishes_the_mat_as_the_driver_does_and_its_ground_truth(tmp_path, listener):
    listener.listen("/mat/pressure", Image, qos_profile_sensor_data)
    listener.listen("/mat/sim/persons", PersonPressureArray)
    listener.listen("/mat/sim/bodies", SmplBodyArray)
    # A realistic floor, as a live graph may ask for: a thresholded mat (zero where nobody stands), anatomical feet.
    driver = start_node("mat_sim", {"source": "sim", "people": 2, "seed": 4, "scenario": "crossing2",
                                    "rate": 30.0, "sensor": "commercial", "feet": "anatomical"}, tmp_path,
                        node_name="mat_driver")
    try:
        frames, stamps = check_published_mat(listener, min_frames=60)
        assert listener.spin_until(lambda: len(listener.messages["/mat/sim/bodies"]) >= 30, 10.0)
    finally:
        assert stop_node(driver) == 0
    # The asked rate (30 Hz, not the default 15): never faster, and slower only by what a loaded host takes
    # (a busy 2-core CI machine was seen at 24 Hz). Over the whole run: a timer fired late and then twice in
    # quick succession moves single intervals (and their median), not the count of frames per second.
    mean_interval = (stamps[-1] - stamps[0]) * 1e-9 / (len(stamps) - 1)
    assert 0.9 / 30 < mean_interval < 1.6 / 30, f"{1 / mean_interval:.1f} Hz"
    # The commercial profile's firmware threshold: most cells read exactly 0 (the legacy sensor: none do).
    assert np.mean([np.mean(image_to_array(frame) == 0) for frame in frames]) > 0.9
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
