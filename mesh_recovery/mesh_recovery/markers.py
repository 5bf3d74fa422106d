"""The RViz markers of presstrack/meshes: standard visualization_msgs messages, serialised by rclpy.

rclpy converts a ``geometry_msgs/Point`` object at a time: a 3-person message of 29,000 points takes about
25 ms that way (most of it holding the GIL the frames' thread needs), against 0.6 ms for the same bytes
from numpy. ``serialize_markers`` therefore lets rclpy serialise the message with one marked point per
mesh and writes each mesh's points in its place: a sequence in CDR is its uint32 length followed by its
elements, and a Point is three float64s, so nothing of the Marker layout is assumed; every other byte is
rclpy's. Where the marked point cannot be told apart (padding that happens to read as the length), the
whole message is serialised by rclpy, points included.
"""
from __future__ import annotations

import struct

import numpy as np
from geometry_msgs.msg import Point, Vector3
from rclpy.serialization import serialize_message
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

MESH_NAMESPACE, LABEL_NAMESPACE = "presstrack_meshes", "presstrack_ids"
LABEL_HEIGHT = 0.15  # [m] of the id text
LABEL_ABOVE_HEAD = 0.3  # [m]
CDR_HEADER_BYTES = 4  # the encapsulation header; CDR aligns relative to what follows it
POINT_BYTES = 24


def mesh_marker(header: Header, track_id: int, colour: tuple[float, float, float, float]) -> Marker:
    """A track's TRIANGLE_LIST, without its points (``serialize_markers`` writes them)."""
    r, g, b, a = colour
    return Marker(header=header, ns=MESH_NAMESPACE, id=track_id, type=Marker.TRIANGLE_LIST, action=Marker.ADD,
                  scale=Vector3(x=1.0, y=1.0, z=1.0), color=ColorRGBA(r=r, g=g, b=b, a=a))


def label_marker(header: Header, track_id: int, head: Point) -> Marker:
    """The track id as text facing the viewer, above the head."""
    marker = Marker(header=header, ns=LABEL_NAMESPACE, id=track_id, type=Marker.TEXT_VIEW_FACING,
                    action=Marker.ADD, scale=Vector3(z=LABEL_HEIGHT), color=ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0),
                    text=str(track_id))
    marker.pose.position = Point(x=head.x, y=head.y, z=head.z + LABEL_ABOVE_HEAD)
    return marker


def delete_markers(header: Header, track_id: int) -> list[Marker]:
    """DELETEs of an ended track's mesh and label."""
    return [Marker(header=header, ns=namespace, id=track_id, action=Marker.DELETE)
            for namespace in (MESH_NAMESPACE, LABEL_NAMESPACE)]


def _marked_point(index: int) -> bytes:
    """The CDR of a Point no mesh has (about 1e301 m on each axis), different for each marker index."""
    value = float.fromhex(f"0x1.{index:013x}p+1000")
    return struct.pack("<3d", value, value, value)


def _length_offset(data: bytes, first_point: int) -> int | None:
    """Offset of the uint32 length (1) of the sequence whose first point starts at ``first_point``: right
    before it, or before 4 bytes of alignment padding. None if that cannot be told (both read as 1) or the
    point is not where a float64 can start."""
    if first_point < 0 or (first_point - CDR_HEADER_BYTES) % 8:
        return None
    before = [offset for offset in (first_point - 4, first_point - 8)
              if struct.unpack_from("<I", data, offset)[0] == 1]
    return before[0] if len(before) == 1 else None


def serialize_markers(markers: list[Marker], points: dict[int, np.ndarray]) -> bytes:
    """CDR bytes of MarkerArray(markers) with ``markers[i].points`` the (N, 3) [m] ``points[i]``, as
    ``rclpy.serialization.serialize_message`` writes them. ``markers`` is changed (its meshes' points)."""
    corners = {i: np.ascontiguousarray(p, dtype="<f8").reshape(-1, 3) for i, p in points.items()}
    for index in corners:
        marked = struct.unpack("<3d", _marked_point(index))
        markers[index].points = [Point(x=marked[0], y=marked[1], z=marked[2])]
    data = serialize_message(MarkerArray(markers=markers))
    first_points = sorted((data.find(_marked_point(index)), index) for index in corners)
    pieces, start = [], 0
    for first, index in first_points:
        length = _length_offset(data, first)
        if length is None:
            return _serialize_with_point_objects(markers, corners)
        pieces += [data[start:length], struct.pack("<I", len(corners[index])), data[length + 4:first],
                   corners[index].tobytes()]
        start = first + POINT_BYTES  # each mesh adds a multiple of 8 bytes: what follows stays aligned
    pieces.append(data[start:])
    return b"".join(pieces)


def _serialize_with_point_objects(markers: list[Marker], corners: dict[int, np.ndarray]) -> bytes:
    for index, points in corners.items():
        markers[index].points = [Point(x=x, y=y, z=z) for x, y, z in points.tolist()]
    return serialize_message(MarkerArray(markers=markers))
