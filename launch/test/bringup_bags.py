"""Small synthetic PressTrack sessions written with the rosbags Writer, for the bringup tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer

from presstrack_bringup.bagfile import suite_typestore

TS = suite_typestore()
T = TS.types
ROWS, COLS, FRAMES = 48, 24, 10
TRACK_ID = 3                                  # tab10 colour 3: red
SECOND = 1_000_000_000
START = 1_700_000_000 * SECOND


def _header(stamp_ns: int, frame: str):
    return T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=stamp_ns // SECOND, nanosec=stamp_ns % SECOND),
                                    frame_id=frame)


def _pose(x=0.0, y=0.0, z=0.0, qz=0.0, qw=1.0):
    return T["geometry_msgs/msg/Pose"](position=T["geometry_msgs/msg/Point"](x=x, y=y, z=z),
                                       orientation=T["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=qz, w=qw))


def _pressure(index: int, stamp_ns: int):
    image = np.zeros((ROWS, COLS), np.float32)
    image[10 + index: 20 + index, 5:12] = 100.0 + index  # a footprint walking down the mat
    return T["sensor_msgs/msg/Image"](header=_header(stamp_ns, "mat"), height=ROWS, width=COLS, encoding="32FC1",
                                      is_bigendian=0, step=COLS * 4, data=image.view(np.uint8).ravel())


def _persons(index: int, stamp_ns: int):
    box = T["sensor_msgs/msg/RegionOfInterest"](x_offset=5, y_offset=10 + index, height=10, width=7, do_rectify=False)
    crop = T["sensor_msgs/msg/Image"](header=_header(stamp_ns, "mat"), height=0, width=0, encoding="32FC1",
                                      is_bigendian=0, step=0, data=np.zeros(0, np.uint8))
    person = T["presstrack_msgs/msg/PersonPressure"](
        track_id=TRACK_ID, state=1, confidence=0.9, box=box, centroid=T["geometry_msgs/msg/Point"](x=0.0, y=0.0, z=0.0),
        heading=0.0, total_force=600.0, contact_area=0.02, crop=crop, crop_row0=0, crop_col0=0, renamed_from=0)
    return T["presstrack_msgs/msg/PersonPressureArray"](header=_header(stamp_ns, "mat"), persons=[person])


def _mesh(stamp_ns: int):
    """A 0.3 x 0.3 x 1.7 m box of 12 triangles standing on the mat, as one TRIANGLE_LIST marker."""
    corners = np.array([[x, y, z] for x in (0, 0.3) for y in (0, 0.3) for z in (0, 1.7)])
    faces = [(0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1),
             (2, 3, 7), (2, 7, 6), (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3)]
    points = [T["geometry_msgs/msg/Point"](x=float(p[0]), y=float(p[1]), z=float(p[2])) for f in faces for p in corners[list(f)]]
    marker = T["visualization_msgs/msg/Marker"](
        header=_header(stamp_ns, "world"), ns="body", id=TRACK_ID, type=11, action=0, pose=_pose(0.4, 0.2),
        scale=T["geometry_msgs/msg/Vector3"](x=1.0, y=1.0, z=1.0),
        color=T["std_msgs/msg/ColorRGBA"](r=1.0, g=0.0, b=0.0, a=1.0),
        lifetime=T["builtin_interfaces/msg/Duration"](sec=0, nanosec=0), frame_locked=False, points=points,
        colors=[], texture_resource="", texture=T["sensor_msgs/msg/CompressedImage"](
            header=_header(0, ""), format="", data=np.zeros(0, np.uint8)),
        uv_coordinates=[], text="", mesh_resource="",
        mesh_file=T["visualization_msgs/msg/MeshFile"](filename="", data=np.zeros(0, np.uint8)), mesh_use_embedded_materials=False)
    return T["visualization_msgs/msg/MarkerArray"](markers=[marker])


def _bodies(stamp_ns: int):
    joints = [T["geometry_msgs/msg/Point"](x=0.5, y=0.5, z=0.05 * j) for j in range(24)]
    body = T["presstrack_msgs/msg/SmplBody"](
        track_id=TRACK_ID, betas=np.zeros(10, np.float32), pose=np.zeros(72, np.float32),
        transl=T["geometry_msgs/msg/Vector3"](x=0.5, y=0.5, z=0.9), joints=joints, confidence=0.8,
        body_model="presstrack_default", backend="footprint")
    return T["presstrack_msgs/msg/SmplBodyArray"](header=_header(stamp_ns, "world"), bodies=[body])


def _mat_info():
    return T["presstrack_msgs/msg/MatInfo"](header=_header(START, "mat"), rows=ROWS, cols=COLS, cell_pitch=0.02,
                                            pressure_unit="kPa", full_scale=600.0, noise_floor=1.0, world_frame="world",
                                            mat_pose=_pose(), dead_cells=0)


def write_session(path: Path, overlays: tuple[str, ...] = ("persons", "meshes"), pressure: bool = True) -> Path:
    """A 1 s session at 10 Hz; each output is logged 20 ms after its frame and stamped with the frame's stamp."""
    topics = {"/mat/info": ("presstrack_msgs/msg/MatInfo", lambda i, s: _mat_info())}
    if pressure:
        topics["/mat/pressure"] = ("sensor_msgs/msg/Image", _pressure)
    if "persons" in overlays:
        topics["/presstrack/persons"] = ("presstrack_msgs/msg/PersonPressureArray", _persons)
    if "meshes" in overlays:
        topics["/presstrack/meshes"] = ("visualization_msgs/msg/MarkerArray", lambda i, s: _mesh(s))
    if "bodies" in overlays:
        topics["/presstrack/bodies"] = ("presstrack_msgs/msg/SmplBodyArray", lambda i, s: _bodies(s))
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connections = {t: writer.add_connection(t, msgtype, typestore=TS) for t, (msgtype, _) in topics.items()}
        for index in range(FRAMES):
            stamp = START + index * SECOND // 10
            for topic, (msgtype, make) in topics.items():
                if topic == "/mat/info" and index:
                    continue
                delay = 0 if topic in ("/mat/pressure", "/mat/info") else 20_000_000
                writer.write(connections[topic], stamp + delay, TS.serialize_cdr(make(index, stamp), msgtype))
    return path


def mcap_channel_metadata(path: Path) -> dict[str, dict[str, str]]:
    """topic -> the user metadata of its MCAP Channel record, read from the file's records as the MCAP
    specification lays them out (independent of rosbags): 8 magic bytes, then records of an opcode, a
    uint64 length and the content; a Channel (opcode 4) is uint16 id, uint16 schema id, topic and message
    encoding as uint32-sized strings, then its metadata map (uint32 byte size, key/value string pairs)."""
    data = path.read_bytes()
    channels: dict[str, dict[str, str]] = {}

    def string(offset: int) -> tuple[str, int]:
        size = int.from_bytes(data[offset:offset + 4], "little")
        return data[offset + 4:offset + 4 + size].decode(), offset + 4 + size

    offset = 8
    while offset < len(data) - 8:
        opcode, length = data[offset], int.from_bytes(data[offset + 1:offset + 9], "little")
        if opcode == 0x04:  # Channel, in the summary section (the data section's are inside compressed chunks)
            topic, cursor = string(offset + 9 + 4)
            _, cursor = string(cursor)
            end = cursor + 4 + int.from_bytes(data[cursor:cursor + 4], "little")
            cursor, metadata = cursor + 4, {}
            while cursor < end:
                key, cursor = string(cursor)
                metadata[key], cursor = string(cursor)
            channels[topic] = metadata
        offset += 9 + length
    return channels
