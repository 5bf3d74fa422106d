"""The numpy MarkerArray serialiser writes the bytes rclpy writes (padding bytes aside: rclpy leaves
whatever was in memory there, we write zeros)."""
from __future__ import annotations

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point, Vector3
from rclpy.serialization import deserialize_message, serialize_message
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from mesh_recovery.marker_cdr import DELETE, TEXT_VIEW_FACING, MarkerSpec, serialize_marker_array


def as_ros(spec: MarkerSpec) -> Marker:
    marker = Marker(header=Header(stamp=Time(sec=spec.stamp_sec, nanosec=spec.stamp_nanosec), frame_id=spec.frame_id),
                    ns=spec.ns, id=spec.id, type=spec.type, action=spec.action,
                    scale=Vector3(x=spec.scale[0], y=spec.scale[1], z=spec.scale[2]),
                    color=ColorRGBA(r=spec.color[0], g=spec.color[1], b=spec.color[2], a=spec.color[3]),
                    points=[Point(x=x, y=y, z=z) for x, y, z in np.asarray(spec.points, float).tolist()],
                    text=spec.text)
    marker.pose.position = Point(x=spec.position[0], y=spec.position[1], z=spec.position[2])
    return marker


@pytest.mark.parametrize("frame_id, ns_lengths", [("world", (3, 17)), ("w", (1, 2)), ("world_frame", (6, 9))])
def test_bytes_match_rclpy_for_any_alignment(frame_id, ns_lengths):
    rng = np.random.default_rng(len(frame_id))
    specs = []
    for k, n in enumerate(ns_lengths):  # names of odd lengths shift everything after them
        specs.append(MarkerSpec(frame_id, 12, 345 + k, "m" * n, k, points=rng.normal(size=(3 * (k + 1), 3)),
                                color=(0.25, 0.5, 0.75, 0.875)))
        specs.append(MarkerSpec(frame_id, 12, 345, "ids" * n, k, type=TEXT_VIEW_FACING, position=(1.0, 2.0, 3.5),
                                scale=(0.0, 0.0, 0.15), text=str(k) * n))
    specs.append(MarkerSpec(frame_id, 0, 0, "meshes", 9, action=DELETE))
    message = MarkerArray(markers=[as_ros(s) for s in specs])
    ours = serialize_marker_array(specs)
    assert len(ours) == len(serialize_message(message)), "same layout, so the same length"
    assert deserialize_message(ours, MarkerArray) == message


def test_empty_array():
    assert deserialize_message(serialize_marker_array([]), MarkerArray) == MarkerArray()
