"""Recorded pressure, frame by frame: MIP-format .npz files and rosbag2 recordings.

Both yield ``RecordedFrame``s in kPa with the time offset at which each was recorded, so the driver
replays them at the recorded rate. No ROS import: bags are read with the ``rosbags`` library.
"""
from __future__ import annotations

import itertools
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from presstrack_msgs.mip_format import MIP_FPS, MIP_KPA_PER_RAW
from presstrack_msgs.conversions import image_to_array



@dataclass(frozen=True)
class RecordedFrame:
    pressure_kpa: np.ndarray  # (rows, cols) float32
    offset_s: float           # recording time since the first frame of this source
    stamp_ns: int | None      # the recorded acquisition stamp, where the recording has one


class ReplayError(ValueError):
    """A recording that cannot be replayed; the message names the file and the problem."""


def mip_files(path: str | Path) -> list[Path]:
    """One .npz file, or every data_*.npz (else every .npz) of a folder in natural order (data_2 before data_10)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ReplayError(f"{path}: no such file or folder")
    files = sorted(path.glob("data_*.npz")) or sorted(path.glob("*.npz"))
    if not files:
        raise ReplayError(f"{path}: folder holds no .npz files")
    return sorted(files, key=lambda p: (len(p.stem), p.stem))


def load_mip_pressure(path: Path) -> tuple[np.ndarray, float, float]:
    """(pressure (T, rows, cols) as stored, kPa per stored unit, fps) of one MIP-format file.

    Our simulator's files store kPa and say so ('pressure_unit'); the real MIP files store raw sensor
    units, converted with the documented MIP_KPA_PER_RAW.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            if "pressure" not in data.files:
                raise ReplayError(f"{path}: not a MIP-format file (no 'pressure' key)")
            pressure = data["pressure"]
            unit = str(data["pressure_unit"]) if "pressure_unit" in data.files else "raw"
            fps = float(data["fps"]) if "fps" in data.files else MIP_FPS
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as error:
        if isinstance(error, ReplayError):
            raise
        raise ReplayError(f"{path}: unreadable .npz ({error})") from None
    if pressure.ndim != 3 or min(pressure.shape) == 0:
        raise ReplayError(f"{path}: 'pressure' must be (frames, rows, cols), got shape {pressure.shape}")
    if not np.issubdtype(pressure.dtype, np.number):
        raise ReplayError(f"{path}: 'pressure' must be numeric, got dtype {pressure.dtype}")
    if not (np.isfinite(fps) and fps > 0):
        raise ReplayError(f"{path}: 'fps' must be a positive number, got {fps}")
    return pressure, (1.0 if unit == "kPa" else MIP_KPA_PER_RAW), fps


def replay_mip(path: str | Path, loop: bool = False) -> Iterator[RecordedFrame]:
    """Frames of one file or a folder of files, back to back; forever when ``loop``.

    Every file is checked before the first frame is returned, so a bad one is reported at start.
    """
    files = mip_files(path)
    for file in files:
        load_mip_pressure(file)

    def frames() -> Iterator[RecordedFrame]:
        offset = 0.0
        while True:
            for file in files:
                pressure, kpa_per_unit, fps = load_mip_pressure(file)
                for frame in pressure:
                    yield RecordedFrame(np.asarray(frame, dtype=np.float32) * np.float32(kpa_per_unit), offset, None)
                    offset += 1.0 / fps
            if not loop:
                return
    return frames()


def replay_bag(path: str | Path, topic: str = "/mat/pressure", loop: bool = False) -> Iterator[RecordedFrame]:
    """sensor_msgs/Image frames of ``topic`` from a rosbag2 (MCAP or sqlite3), with their recorded stamps.

    The bag is opened and its topic checked before the first frame is returned.
    """
    path = Path(path)
    next_frame = _bag_frames(path, topic, loop)
    try:
        first = next(next_frame)
    except StopIteration:
        raise ReplayError(f"{path}: {topic} holds no messages") from None
    return itertools.chain([first], next_frame)


def _bag_frames(path: Path, topic: str, loop: bool) -> Iterator[RecordedFrame]:
    from rosbags.highlevel import AnyReader, AnyReaderError  # heavy import, only for this source

    if not path.exists():
        raise ReplayError(f"{path}: no such bag")
    lap_start = 0.0
    while True:
        first_stamp, last_offset, count = None, 0.0, 0
        try:
            with AnyReader([path]) as reader:
                connections = [c for c in reader.connections if c.topic == topic]
                if not connections:
                    raise ReplayError(f"{path}: bag has no {topic} topic "
                                      f"(topics: {', '.join(sorted({c.topic for c in reader.connections}))})")
                for connection, _, rawdata in reader.messages(connections=connections):
                    msg = reader.deserialize(rawdata, connection.msgtype)
                    if msg.encoding != "32FC1":
                        raise ReplayError(f"{path}: {topic} encoding {msg.encoding!r}, expected 32FC1 (kPa)")
                    # rosbags messages carry the same fields as rclpy's, so the shared converter reads them.
                    frame = np.array(image_to_array(msg), dtype=np.float32)
                    stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
                    first_stamp = stamp if first_stamp is None else first_stamp
                    last_offset = max(last_offset, (stamp - first_stamp) * 1e-9)
                    count += 1
                    yield RecordedFrame(frame, lap_start + last_offset, stamp)
        except AnyReaderError as error:
            raise ReplayError(f"{path}: unreadable bag ({error})") from None
        if not loop or count == 0:
            return
        lap_start += last_offset + last_offset / max(count - 1, 1)  # one mean frame period between laps
