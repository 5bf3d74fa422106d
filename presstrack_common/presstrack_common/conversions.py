"""Conversions between PressTrack's numpy data and standard ROS messages, shared by every node.

Images are converted as views where possible (``np.frombuffer``), never through per-pixel Python lists.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from geometry_msgs.msg import Quaternion
from sensor_msgs.msg import Image
from std_msgs.msg import Header

# ROS image encodings we produce or accept, with their numpy dtype and channel count.
ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    "32FC1": (np.dtype(np.float32), 1),
    "mono8": (np.dtype(np.uint8), 1),
    "mono16": (np.dtype(np.uint16), 1),
    "rgb8": (np.dtype(np.uint8), 3),
}


def image_to_array(msg: Image) -> np.ndarray:
    """sensor_msgs/Image -> (height, width) or (height, width, 3) array, a read-only view of msg.data.

    Raises ValueError naming the problem for an unknown encoding or a size that does not match the data.
    """
    if msg.encoding not in ENCODINGS:
        raise ValueError(f"unsupported image encoding {msg.encoding!r} (expected one of {sorted(ENCODINGS)})")
    dtype, channels = ENCODINGS[msg.encoding]
    row_bytes = msg.width * channels * dtype.itemsize
    if msg.height == 0 or msg.width == 0:
        raise ValueError(f"empty image ({msg.height} x {msg.width})")
    if msg.step < row_bytes:
        raise ValueError(f"image step {msg.step} is shorter than a row of {row_bytes} bytes")
    data = msg.data
    if len(data) != msg.step * msg.height:
        raise ValueError(f"image data has {len(data)} bytes, expected step {msg.step} x height {msg.height}")
    byte_order = ">" if msg.is_bigendian else "<"
    flat = np.frombuffer(memoryview(data), dtype=dtype.newbyteorder(byte_order) if dtype.itemsize > 1 else dtype)
    rows = flat.reshape(msg.height, msg.step // dtype.itemsize)[:, : msg.width * channels]
    shape = (msg.height, msg.width) if channels == 1 else (msg.height, msg.width, channels)
    return rows.reshape(shape)


def array_to_image(array: np.ndarray, header: Header, encoding: str = "32FC1") -> Image:
    """(height, width[, 3]) array -> sensor_msgs/Image in little-endian, densely packed rows."""
    dtype, channels = ENCODINGS[encoding]
    data = np.ascontiguousarray(array, dtype=dtype)
    expected_ndim = 2 if channels == 1 else 3
    if data.ndim != expected_ndim or (channels > 1 and data.shape[2] != channels):
        raise ValueError(f"array of shape {array.shape} cannot be encoded as {encoding}")
    height, width = data.shape[:2]
    msg = Image(header=header, height=height, width=width, encoding=encoding, is_bigendian=0,
                step=width * channels * dtype.itemsize)
    msg.data = data.tobytes()
    return msg


def quaternion_from_rpy(roll: float, pitch: float, yaw: float) -> Quaternion:
    """Fixed-axis roll (x), pitch (y), yaw (z) in radians -> unit quaternion (REP-103)."""
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return Quaternion(
        x=sr * cp * cy - cr * sp * sy,
        y=cr * sp * cy + sr * cp * sy,
        z=cr * cp * sy - sr * sp * cy,
        w=cr * cp * cy + sr * sp * sy,
    )


def quaternion_from_matrix(rotation: np.ndarray) -> Quaternion:
    """3x3 rotation matrix -> unit quaternion (Shepperd's method, stable for every rotation)."""
    m = np.asarray(rotation, dtype=float)
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0:
        s = 2.0 * math.sqrt(1.0 + trace)
        w, x, y, z = 0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * math.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        w, x, y, z = (m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * math.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        w, x, y, z = (m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s
    else:
        s = 2.0 * math.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        w, x, y, z = (m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s
    return Quaternion(x=x, y=y, z=z, w=w)


def diagnostic_status(name: str, hardware_id: str, values: Mapping[str, object],
                      level: bytes = DiagnosticStatus.OK, message: str = "OK") -> DiagnosticStatus:
    """One /diagnostics entry with its key/value counters rendered as strings."""
    return DiagnosticStatus(
        level=level, name=name, message=message, hardware_id=hardware_id,
        values=[KeyValue(key=key, value=f"{value:.6g}" if isinstance(value, float) else str(value))
                for key, value in values.items()],
    )


def status_from_report(name: str, hardware_id: str, report) -> DiagnosticStatus:
    """The /diagnostics entry of a presstrack_common.health Report."""
    return diagnostic_status(name, hardware_id, report.values, bytes([report.level]), report.message)
