"""Every pressure source behind one interface the driver node polls: ``read(timeout) -> FeedFrame | None``.

Recorded (and, in presstrack_sim, simulated) frames are released at their recorded pace against a monotonic clock;
hardware frames are released as they arrive. No ROS import.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from mat_driver.replay import replay_bag, replay_mip
from mat_driver.transports import FrameSource, SourceStats


@dataclass(frozen=True)
class FeedFrame:
    raw: np.ndarray                    # (rows, cols) in the source's units: kPa for sim and replays, raw for hardware
    stamp_ns: int | None               # recorded acquisition stamp; None: stamp it when published (at due_s)
    ground_truth: Any = None           # what a simulated source knows of the frame (presstrack_sim's SimFrame)
    counter: int | None = None         # hardware frame counter
    device_time_us: int | None = None  # hardware clock at acquisition
    due_s: float | None = None         # [s, the feed's monotonic clock] when a paced frame was due: its acquisition
                                       # time, however late the reader took it; None: when it arrived (hardware)


class EndOfFeed(Exception):
    """A finite source (replay without loop) has no more frames."""


class PacedFeed:
    """Releases (offset_s, FeedFrame) pairs when ``offset_s`` has elapsed since the first read.

    A reader that falls behind gets the overdue frames at once, none are skipped; ``late_frames``
    counts frames released more than one period after their time. Each frame carries its due time (``due_s``):
    a frame stamped then keeps the source's schedule however late it is sent, so a gap between stamps means
    frames missing, never a loaded reader.
    """

    def __init__(self, frames: Iterator[tuple[float, FeedFrame]], period_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._frames = frames
        self._period_s = period_s
        self._clock = clock
        self._start: float | None = None
        self._pending: tuple[float, FeedFrame] | None = None
        self.late_frames = 0

    def read(self, timeout: float) -> FeedFrame | None:
        now = self._clock()
        if self._start is None:
            self._start = now
        if self._pending is None:
            try:
                self._pending = next(self._frames)
            except StopIteration:
                raise EndOfFeed from None
        offset, frame = self._pending
        wait = self._start + offset - now
        if wait > timeout:
            time.sleep(max(timeout, 0.0))
            return None
        if wait > 0:
            time.sleep(wait)
        elif -wait > self._period_s:
            self.late_frames += 1
        self._pending = None
        return dataclasses.replace(frame, due_s=self._start + offset)

    def stop(self) -> None:
        pass


def acquisition_stamp_ns(frame: FeedFrame, now_ns: int, now_s: float) -> int:
    """The frame's stamp, for a frame published at ``now_ns`` (the node's clock) = ``now_s`` (the feeds'
    monotonic clock): its recorded stamp, else now back-dated to when a paced frame was due. A loaded host that
    sends a frame late must not stamp it late: the spacing of the stamps would say frames are missing where
    none is (the tracker and mesh node count missing frames from it)."""
    if frame.stamp_ns is not None:
        return frame.stamp_ns
    if frame.due_s is None:
        return now_ns
    return now_ns - max(0, round((now_s - frame.due_s) * 1e9))


class HardwareFeed:
    """A serial or UDP mat (``transports.FrameSource``): frames as they arrive, with the link's health."""

    def __init__(self, source: FrameSource) -> None:
        self.source = source
        self.late_frames = 0
        source.start()

    def read(self, timeout: float) -> FeedFrame | None:
        frame = self.source.read(timeout)
        if frame is None:
            return None
        return FeedFrame(frame.samples, None, counter=frame.counter, device_time_us=frame.device_time_us)

    @property
    def stats(self) -> SourceStats:
        return self.source.stats

    def stop(self) -> None:
        self.source.stop()


def mip_feed(path: str, loop: bool, report: Callable[[str], None] | None = None) -> PacedFeed:
    """A MIP file or folder at its recorded rate; ``report`` as for ``replay_mip``."""
    frames = ((f.offset_s, FeedFrame(f.pressure_kpa, None)) for f in replay_mip(path, loop, report))
    return PacedFeed(frames, 1.0 / 15.0)


def bag_feed(path: str, topic: str, loop: bool, keep_stamps: bool, rate: float = 1.0,
             report: Callable[[str, str], None] | None = None) -> PacedFeed:
    """A recorded session at ``rate`` times its recorded speed; ``report`` as for ``replay_bag``."""
    frames = ((f.offset_s / rate, FeedFrame(f.pressure_kpa, f.stamp_ns if keep_stamps else None))
              for f in replay_bag(path, topic, loop, report))
    return PacedFeed(frames, 1.0 / (15.0 * rate))
