"""The shared bad-input helpers: per-kind throttled warnings, stamp continuity, bursts, sanitising, MatInfo."""
from __future__ import annotations

import math

import numpy as np
import pytest

from presstrack_common.input_checks import (BadInputCounter, BurstCheck, StampCheck, StreamTiming, check_mat_info,
                                          sanitise_pressure)
from presstrack_msgs.msg import MatInfo

SECOND = 1_000_000_000


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_counter_throttles_each_kind_on_its_own():
    clock, warnings = FakeClock(), []
    counter = BadInputCounter(warnings.append, throttle_s=5.0, clock=clock)
    assert not counter.any_counted
    for _ in range(3):
        counter("wrong_encoding", "mono8")
    counter("empty_frame", "0 x 0", count=2)  # a flood of one kind does not silence another
    assert len(warnings) == 2 and "wrong_encoding" in warnings[0] and "empty_frame" in warnings[1]
    clock.now = 5.0
    counter("wrong_encoding", "mono8")
    assert len(warnings) == 3 and "4 so far" in warnings[2]
    assert counter.any_counted
    assert counter.diagnostic_values() == {"bad_input_empty_frame": 2, "bad_input_wrong_encoding": 4}


def test_stamps_going_back_or_jumping_are_refused_but_a_new_timeline_is_taken():
    check = StampCheck(max_gap_s=5.0)
    assert check(100 * SECOND) is None
    assert check(101 * SECOND) is None
    assert check(101 * SECOND) == StampCheck.NOT_INCREASING
    assert check(50 * SECOND) == StampCheck.NOT_INCREASING
    assert check(102 * SECOND) is None, "one late message does not move the stream"
    assert check(10_000 * SECOND) == StampCheck.JUMP
    assert check(103 * SECOND) is None, "one corrupt stamp does not move the stream"
    # A source restarted on an earlier clock: its first stamp is refused, the ones after it are taken.
    assert check(20 * SECOND) == StampCheck.NOT_INCREASING
    assert check(21 * SECOND) is None
    assert check(22 * SECOND) is None and check.last_ns == 22 * SECOND


def test_a_source_back_after_a_silence_continues_its_stream_at_once():
    # The driver killed and respawned: 16 s without a frame, then stamps 16 s on. Its first frame is used.
    clock = FakeClock()
    check = StampCheck(max_gap_s=5.0, clock=clock)
    assert check(100 * SECOND) is None
    clock.now += 16.0
    assert check(116 * SECOND) is None and check.last_ns == 116 * SECOND
    # Stamps that run ahead of the clock are still a jump: 16 s on after 10 s of silence, or an hour at once.
    clock.now += 10.0
    assert check(142 * SECOND) == StampCheck.JUMP
    assert check(126 * SECOND + SECOND // 15) is None
    assert check(3726 * SECOND) == StampCheck.JUMP


def test_burst_is_arrival_much_faster_than_the_stamps():
    clock = FakeClock()
    check = BurstCheck(clock=clock)
    stamps = [i * SECOND // 15 for i in range(6)]
    assert not check(stamps[0])
    clock.now += 1 / 15
    assert not check(stamps[1]), "on time"
    clock.now += 0.5
    assert not check(stamps[2]), "late, not a burst"
    assert check(stamps[3]) and check(stamps[4]), "the backlog comes at once"
    clock.now += 1 / 15
    assert not check(stamps[5])


def test_stream_timing_drops_bad_stamps_and_counts_bursts():
    warnings: list[str] = []
    counter = BadInputCounter(warnings.append, throttle_s=0.0)
    timing = StreamTiming(counter, "frame")
    assert timing.accept(1_000_000_000) and timing.accept(2_000_000_000)
    assert not timing.accept(1_500_000_000) and "frame dropped" in warnings[-1]
    assert timing.accept(2_100_000_000)  # immediately after, 0.1 s of stamps in no time: a burst, still used
    # Bursts are counted, not bad input: no warning for them.
    assert timing.bursts_seen == 2 and len(warnings) == 1
    assert counter.diagnostic_values() == {"bad_input_stamp_not_increasing": 1}


def test_sanitise_pressure_counts_each_kind_of_bad_cell():
    cells = np.array([[np.nan, np.inf, -np.inf, -2.0], [1.0, 700.0, 600.0, 5.0]], np.float32)
    clean, counts = sanitise_pressure(cells, full_scale=600.0)
    assert clean.dtype == np.float32 and clean.tolist() == [[0, 0, 0, 0], [1, 600, 600, 5]]
    assert counts == {"nonfinite_cells": 3, "negative_cells": 1, "cells_above_full_scale": 1}


@pytest.mark.parametrize("change, words", [
    (dict(cell_pitch=0.0), "pitch"), (dict(cell_pitch=-0.01), "pitch"), (dict(rows=0), "rows"),
    (dict(full_scale=math.nan), "full_scale"), (dict(full_scale=0.0), "full_scale"),
])
def test_mat_info_check_names_the_field_that_cannot_be_right(change, words):
    assert check_mat_info(MatInfo(rows=238, cols=120, cell_pitch=0.01, full_scale=600.0)).rows == 238
    with pytest.raises(ValueError, match=words):
        check_mat_info(MatInfo(**(dict(rows=238, cols=120, cell_pitch=0.01, full_scale=600.0) | change)))


def test_mat_info_with_a_nan_position_is_refused():
    info = MatInfo(rows=238, cols=120, cell_pitch=0.01, full_scale=600.0)
    info.mat_pose.position.x = math.nan
    with pytest.raises(ValueError, match="position"):
        check_mat_info(info)
