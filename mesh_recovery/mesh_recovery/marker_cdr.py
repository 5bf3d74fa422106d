"""visualization_msgs/MarkerArray serialised straight from numpy, for meshes of tens of thousands of points.

Building ``geometry_msgs/Point`` objects one by one costs about a second per person-mesh in rclpy; the
CDR bytes of a point list are just its float64 coordinates, so the mesh is written as one numpy buffer
and published with ``Publisher.publish(bytes)``. The layout is little-endian CDR (XCDR1) of the Marker
definition of ROS 2 Jazzy and Kilted; test_marker_cdr.py checks it byte for byte against rclpy's own
serialiser.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

CDR_LE_HEADER = b"\x00\x01\x00\x00"  # encapsulation: CDR, little endian

ADD, DELETE = 0, 2
TRIANGLE_LIST, TEXT_VIEW_FACING = 11, 9


@dataclass
class MarkerSpec:
    """The Marker fields PressTrack sets; everything else is left at its default."""

    frame_id: str
    stamp_sec: int
    stamp_nanosec: int
    ns: str
    id: int
    type: int = TRIANGLE_LIST
    action: int = ADD
    position: tuple[float, float, float] = (0.0, 0.0, 0.0)
    scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    color: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # (N, 3) metres
    text: str = ""


class _CdrWriter:
    """Appends CDR primitives, aligned relative to the start of the payload (after the encapsulation)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0

    def _put(self, data: bytes) -> None:
        self.chunks.append(data)
        self.size += len(data)

    def align(self, alignment: int) -> None:
        padding = -self.size % alignment
        if padding:
            self._put(b"\x00" * padding)

    def pack(self, fmt: str, *values, alignment: int) -> None:
        self.align(alignment)
        self._put(struct.pack("<" + fmt, *values))

    def string(self, text: str) -> None:
        data = text.encode() + b"\x00"
        self.pack("I", len(data), alignment=4)
        self._put(data)

    def raw(self, data: bytes) -> None:
        self._put(data)


def _write_marker(w: _CdrWriter, m: MarkerSpec) -> None:
    w.pack("iI", m.stamp_sec, m.stamp_nanosec, alignment=4)          # header.stamp
    w.string(m.frame_id)                                             # header.frame_id
    w.string(m.ns)
    w.pack("iii", m.id, m.type, m.action, alignment=4)
    w.pack("3d", *m.position, alignment=8)                           # pose.position
    w.pack("4d", 0.0, 0.0, 0.0, 1.0, alignment=8)                    # pose.orientation
    w.pack("3d", *m.scale, alignment=8)
    w.pack("4f", *m.color, alignment=4)
    w.pack("iI", 0, 0, alignment=4)                                  # lifetime: forever
    w.pack("?", False, alignment=1)                                  # frame_locked
    points = np.ascontiguousarray(m.points, dtype="<f8").reshape(-1, 3)
    w.pack("I", len(points), alignment=4)
    if len(points):
        w.align(8)
        w.raw(points.tobytes())
    w.pack("I", 0, alignment=4)                                      # colors
    w.string("")                                                     # texture_resource
    w.pack("iI", 0, 0, alignment=4)                                  # texture.header.stamp
    w.string("")                                                     # texture.header.frame_id
    w.string("")                                                     # texture.format
    w.pack("I", 0, alignment=4)                                      # texture.data
    w.pack("I", 0, alignment=4)                                      # uv_coordinates
    w.string(m.text)
    w.string("")                                                     # mesh_resource
    w.string("")                                                     # mesh_file.filename
    w.pack("I", 0, alignment=4)                                      # mesh_file.data
    w.pack("?", False, alignment=1)                                  # mesh_use_embedded_materials


def serialize_marker_array(markers: list[MarkerSpec]) -> bytes:
    """CDR bytes of a visualization_msgs/MarkerArray holding ``markers``, ready for publish(bytes)."""
    writer = _CdrWriter()
    writer.pack("I", len(markers), alignment=4)
    for marker in markers:
        _write_marker(writer, marker)
    return b"".join([CDR_LE_HEADER, *writer.chunks])  # one copy of the megabytes of points, not two
