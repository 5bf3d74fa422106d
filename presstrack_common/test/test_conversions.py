import math

import numpy as np
import pytest
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from presstrack_common.conversions import (array_to_image, diagnostic_status, image_to_array,
                                         quaternion_from_matrix, quaternion_from_rpy)


def test_float_image_round_trip_is_exact():
    pressure = np.random.default_rng(0).uniform(0, 400, size=(238, 120)).astype(np.float32)
    msg = array_to_image(pressure, Header(frame_id="mat"))
    assert (msg.height, msg.width, msg.step, msg.encoding) == (238, 120, 480, "32FC1")
    np.testing.assert_array_equal(image_to_array(msg), pressure)


def test_rgb_and_padded_and_big_endian_images():
    rgb = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    np.testing.assert_array_equal(image_to_array(array_to_image(rgb, Header(), "rgb8")), rgb)
    values = np.arange(6, dtype=np.float32).reshape(2, 3)
    padded = np.zeros((2, 4), dtype=">f4")
    padded[:, :3] = values
    msg = Image(height=2, width=3, encoding="32FC1", is_bigendian=1, step=16, data=padded.tobytes())
    np.testing.assert_array_equal(image_to_array(msg), values)


@pytest.mark.parametrize("msg, reason", [
    (Image(height=2, width=2, encoding="bgr8", step=6, data=bytes(12)), "encoding"),
    (Image(height=2, width=2, encoding="32FC1", step=8, data=bytes(12)), "bytes"),
    (Image(height=2, width=2, encoding="32FC1", step=4, data=bytes(8)), "step"),
    (Image(height=0, width=2, encoding="32FC1", step=8, data=b""), "empty"),
])
def test_bad_images_are_refused_with_the_reason(msg, reason):
    with pytest.raises(ValueError, match=reason):
        image_to_array(msg)


def test_quaternions_agree():
    yaw = 2.5
    q = quaternion_from_rpy(0.0, 0.0, yaw)
    assert (q.z, q.w) == pytest.approx((math.sin(yaw / 2), math.cos(yaw / 2)))
    rotation = np.array([[math.cos(yaw), -math.sin(yaw), 0], [math.sin(yaw), math.cos(yaw), 0], [0, 0, 1]])
    q2 = quaternion_from_matrix(rotation)
    assert (q2.x, q2.y, q2.z, q2.w) == pytest.approx((q.x, q.y, q.z, q.w))
    q3 = quaternion_from_matrix(np.diag([-1.0, -1.0, 1.0]))
    assert abs(q3.z) == pytest.approx(1.0)


def test_diagnostic_values_are_strings():
    status = diagnostic_status("mat_driver: source", "mat", {"frames": 3, "rate": 14.96666})
    assert [(kv.key, kv.value) for kv in status.values] == [("frames", "3"), ("rate", "14.9667")]
