"""Paced feeds keep the source's schedule in their stamps, however late a loaded reader takes the frames."""
from __future__ import annotations

import numpy as np

from mat_driver.feeds import FeedFrame, PacedFeed, acquisition_stamp_ns
from presstrack_common.input_checks import StampGaps

PERIOD_S = 1.0 / 15.0
WALL_MINUS_MONOTONIC_NS = 1_796_000_000 * 10**9  # the node's clock reads the monotonic one plus this


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def loaded_reader_stamps(frames: int, seed: int = 0) -> tuple[list[int], list[int], int]:
    """(stamps as published now, stamps at publication time, frames released late) for a 15 Hz paced feed read
    by a reader that is held up after a tenth of the frames by up to 2.5 periods."""
    clock = FakeClock()
    feed = PacedFeed(((i * PERIOD_S, FeedFrame(np.zeros((2, 2)), None)) for i in range(frames)), PERIOD_S, clock=clock)
    rng = np.random.default_rng(seed)
    acquisition, at_publication = [], []
    while len(acquisition) < frames:
        frame = feed.read(timeout=0.0)
        if frame is None:  # not due yet: the reader polls again a little later
            clock.now += 0.005
            continue
        clock.now += rng.uniform(2.5 * PERIOD_S, 3.5 * PERIOD_S) if rng.random() < 0.1 else 0.002
        now_ns = round(clock.now * 1e9) + WALL_MINUS_MONOTONIC_NS
        acquisition.append(acquisition_stamp_ns(frame, now_ns, clock.now))
        at_publication.append(now_ns)
    return acquisition, at_publication, feed.late_frames


def test_a_late_frame_keeps_its_due_time_as_stamp():
    acquisition, at_publication, late = loaded_reader_stamps(600)
    assert late > 30, "the reader really fell behind"
    spacing_periods = np.diff(acquisition) * 1e-9 / PERIOD_S
    assert np.allclose(spacing_periods, 1.0, atol=1e-6), "every stamp on the 15 Hz schedule"
    assert acquisition[0] == round(100.0 * 1e9) + WALL_MINUS_MONOTONIC_NS  # due at the feed's first read
    # Why it matters: the stamps tell how many frames are missing between two that arrive. Stamped on the
    # schedule, none is; stamped when sent, the late frames read as lost ones.
    on_schedule, when_sent = StampGaps(), StampGaps()
    assert sum(on_schedule(stamp) for stamp in acquisition) == 0
    assert sum(when_sent(stamp) for stamp in at_publication) > 30


def test_recorded_and_hardware_frames_keep_their_own_stamps():
    assert acquisition_stamp_ns(FeedFrame(np.zeros((2, 2)), 123, due_s=1.0), 5 * 10**9, 2.0) == 123
    assert acquisition_stamp_ns(FeedFrame(np.zeros((2, 2)), None), 5 * 10**9, 2.0) == 5 * 10**9  # stamped on arrival
    # A frame taken before its due time (never by PacedFeed) is not stamped in the future.
    assert acquisition_stamp_ns(FeedFrame(np.zeros((2, 2)), None, due_s=3.0), 5 * 10**9, 2.0) == 5 * 10**9
