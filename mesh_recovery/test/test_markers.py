"""presstrack/meshes markers: the bytes serialize_markers writes are the message rclpy serialises with
every point as a geometry_msgs/Point."""
from __future__ import annotations

import struct

import numpy as np
import pytest
from geometry_msgs.msg import Point
from rclpy.serialization import deserialize_message, serialize_message
from std_msgs.msg import Header
from visualization_msgs.msg import Marker, MarkerArray

from mesh_recovery import markers as markers_module
from mesh_recovery.markers import delete_markers, label_marker, mesh_marker, serialize_markers


def scene(frame_id: str, track_ids: tuple[int, ...], rng) -> tuple[list[Marker], dict[int, np.ndarray]]:
    header = Header(frame_id=frame_id)
    header.stamp.sec, header.stamp.nanosec = 12, 345
    markers, points = [], {}
    for track_id in track_ids:
        points[len(markers)] = rng.normal(size=(3 * (track_id + 1), 3))
        markers.append(mesh_marker(header, track_id, (0.25, 0.5, 0.75, 0.875)))
        markers.append(label_marker(header, track_id, Point(x=1.0, y=2.0, z=1.6)))
    return markers + delete_markers(header, 99), points


def with_point_objects(markers: list[Marker], points: dict[int, np.ndarray]) -> MarkerArray:
    for index, corners in points.items():
        markers[index].points = [Point(x=x, y=y, z=z) for x, y, z in corners.tolist()]
    return MarkerArray(markers=markers)


# Frame names and label texts of several lengths shift the strings around the points. (In Marker the pose's
# float64s realign everything, so the length is always right before the first point; the case with 4 bytes
# of padding between them is checked on crafted bytes below.)
@pytest.mark.parametrize("frame_id, track_ids", [("world", (3, 17)), ("w", (1, 2)), ("world_frame", (6, 123456))])
def test_bytes_are_rclpys_for_frame_names_and_texts_of_any_length(frame_id, track_ids):
    rng = np.random.default_rng(len(frame_id))
    markers, points = scene(frame_id, track_ids, rng)
    ours = serialize_markers(markers, points)
    expected = with_point_objects(*scene(frame_id, track_ids, np.random.default_rng(len(frame_id))))
    assert len(ours) == len(serialize_message(expected)), "same layout, so the same length"
    received = deserialize_message(ours, MarkerArray)
    assert received == expected
    mesh, label = received.markers[:2]
    assert (mesh.type, mesh.ns, mesh.id, label.text) == (Marker.TRIANGLE_LIST, "presstrack_meshes", track_ids[0],
                                                         str(track_ids[0]))
    assert label.pose.position.z == pytest.approx(1.6 + 0.3)
    assert [(m.ns, m.action) for m in received.markers[-2:]] == [("presstrack_meshes", Marker.DELETE),
                                                                ("presstrack_ids", Marker.DELETE)]


def test_a_length_that_cannot_be_told_from_padding_falls_back_to_point_objects(monkeypatch):
    ambiguous = struct.pack("<3I", 0, 1, 1) + b"\0" * 24  # 1 both 4 and 8 bytes before the point at 12
    assert markers_module._length_offset(ambiguous, 12) is None
    assert markers_module._length_offset(struct.pack("<3I", 0, 7, 1) + b"\0" * 24, 12) == 8
    assert markers_module._length_offset(struct.pack("<3I", 0, 1, 7) + b"\0" * 24, 12) == 4
    monkeypatch.setattr(markers_module, "_length_offset", lambda data, first: None)
    markers, points = scene("world", (4,), np.random.default_rng(0))
    expected = with_point_objects(*scene("world", (4,), np.random.default_rng(0)))
    assert deserialize_message(serialize_markers(markers, points), MarkerArray) == expected


def test_no_meshes_is_plain_rclpy():
    header = Header(frame_id="world")
    assert serialize_markers(delete_markers(header, 3), {}) == serialize_message(
        MarkerArray(markers=delete_markers(header, 3)))
