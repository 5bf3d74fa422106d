"""Recorded pressure, frame by frame: MIP-format .npz files and rosbag2 recordings.

Both yield ``RecordedFrame``s in kPa with the time offset at which each was recorded, so the driver
replays them at the recorded rate. No ROS import: bags are read with the ``rosbags`` library.

Bad content inside a usable recording does not stop a replay: NaN/Inf cells of a MIP file are no pressure
(counted and reported once per file), and bag messages that are not 32FC1, empty, malformed or stamped
out of order are skipped and reported; a jump in the recorded stamps is replayed as one frame period.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from presstrack_common.conversions import image_to_array
from presstrack_common.input_checks import StampCheck
from presstrack_common.mip_format import MipPressure, load_mip_file, nonfinite_message

# Recorded frames further apart than this are a jump in the stamps, not a pause in the recording.
MAX_STAMP_GAP_S = 5.0


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


def load_mip_pressure(path: Path) -> MipPressure:
    """The pressure of one MIP-format file (`presstrack_common.mip_format.load_mip_file`: NaN/Inf cells 0 and
    counted, stored units converted with the file's unit keys, raw MIP units without them, fps);
    ReplayError naming the file if it cannot be replayed."""
    try:
        return load_mip_file(path)
    except ValueError as error:
        raise ReplayError(str(error)) from None


def replay_mip(path: str | Path, loop: bool = False,
               report: Callable[[str], None] | None = None) -> Iterator[RecordedFrame]:
    """Frames of one file or a folder of files, back to back; forever when ``loop``.

    Every file is checked before the first frame is returned, so a bad one is refused at start; ``report``
    gets one line per file with NaN/Inf cells, naming the file and the count.
    """
    files = mip_files(path)
    for file in files:
        nonfinite = load_mip_pressure(file).nonfinite_cells
        if nonfinite and report is not None:
            report(nonfinite_message(file, nonfinite))

    def frames() -> Iterator[RecordedFrame]:
        offset = 0.0
        while True:
            for file in files:
                mip = load_mip_pressure(file)
                for index in range(len(mip.pressure)):
                    yield RecordedFrame(mip.kpa(index), offset, None)
                    offset += 1.0 / mip.fps
            if not loop:
                return
    return frames()


def replay_bag(path: str | Path, topic: str = "/mat/pressure", loop: bool = False,
               report: Callable[[str, str], None] | None = None) -> Iterator[RecordedFrame]:
    """sensor_msgs/Image frames of ``topic`` from a rosbag2 (MCAP or sqlite3), with their recorded stamps.

    The bag is opened and its topic checked before the first frame is returned. Messages that cannot be
    replayed are skipped and passed to ``report(kind, detail)``: kinds wrong_encoding, empty_frame,
    malformed_image, and StampCheck's stamp_not_increasing and stamp_jump.
    """
    path = Path(path)
    next_frame = _bag_frames(path, topic, loop, (lambda kind, detail: None) if report is None else report)
    try:
        first = next(next_frame)
    except StopIteration:
        raise ReplayError(f"{path}: {topic} holds no usable messages") from None
    return itertools.chain([first], next_frame)


def _bag_frames(path: Path, topic: str, loop: bool, report: Callable[[str, str], None]) -> Iterator[RecordedFrame]:
    from rosbags.highlevel import AnyReader, AnyReaderError  # heavy import, only for this source

    if not path.exists():
        raise ReplayError(f"{path}: no such bag")
    lap_start = 0.0
    while True:
        stamps = StampCheck(MAX_STAMP_GAP_S)
        offset, period_s, count = 0.0, 1.0 / 15.0, 0
        try:
            with AnyReader([path]) as reader:
                connections = [c for c in reader.connections if c.topic == topic]
                if not connections:
                    raise ReplayError(f"{path}: bag has no {topic} topic "
                                      f"(topics: {', '.join(sorted({c.topic for c in reader.connections}))})")
                for connection, _, rawdata in reader.messages(connections=connections):
                    msg = reader.deserialize(rawdata, connection.msgtype)
                    if msg.encoding != "32FC1":
                        report("wrong_encoding", f"{path}: {topic} message encoded {msg.encoding!r}, "
                                                 "expected 32FC1 (kPa); skipped")
                        continue
                    if msg.height == 0 or msg.width == 0:
                        report("empty_frame", f"{path}: {topic} message of {msg.height} x {msg.width} cells; skipped")
                        continue
                    try:
                        # rosbags messages carry the same fields as rclpy's, so the shared converter reads them.
                        frame = np.array(image_to_array(msg), dtype=np.float32)
                    except ValueError as error:
                        report("malformed_image", f"{path}: {topic} message: {error}; skipped")
                        continue
                    stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
                    previous = stamps.last_ns
                    stamp_problem = stamps(stamp)
                    if stamp_problem:
                        report(stamp_problem, f"{path}: {topic} message stamped {stamp * 1e-9:.3f} s, the one before "
                                              f"{previous * 1e-9:.3f} s; skipped")
                        continue
                    if previous is not None and 0 < stamp - previous <= stamps.max_gap_ns:
                        period_s = (stamp - previous) * 1e-9
                    offset += period_s if count else 0.0  # the recorded gap; across a jump, one frame period
                    count += 1
                    yield RecordedFrame(frame, lap_start + offset, stamp)
        except AnyReaderError as error:
            raise ReplayError(f"{path}: unreadable bag ({error})") from None
        if not loop or count == 0:
            return
        lap_start += offset + period_s  # one frame period between laps
