"""The diagnostic_updater-style checks: frequency bounds over a window, staleness while something is due, and
the stream gaps that count messages lost before they arrived."""
from __future__ import annotations

import math

import pytest

from presstrack_common.health import (ERROR, OK, STALE, WARN, FrequencyBounds, FrequencyStatus, Report, Staleness,
                                      StampLatency, merge)
from presstrack_common.input_checks import StampGaps


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run(status: FrequencyStatus, clock: Clock, events_per_second: int, seconds: int) -> Report:
    for _ in range(seconds):
        status.tick(events_per_second)
        clock.now += 1.0
        report = status.report()
    return report


def test_a_rate_inside_its_bounds_is_ok_outside_warn_and_none_at_all_error():
    clock = Clock()
    status = FrequencyStatus("frames", FrequencyBounds(15.0, 15.0, tolerance=0.1, window=5), clock)
    report = run(status, clock, 15, 5)
    assert (report.level, report.values["frames_rate_hz"], report.values["frames_in_window"]) == (OK, 15.0, 75)
    report = run(status, clock, 12, 5)
    assert report.level == WARN and "too low" in report.message
    report = run(status, clock, 20, 5)
    assert report.level == WARN and "too high" in report.message
    report = run(status, clock, 0, 5)
    assert (report.level, report.message) == (ERROR, "no frames in 5.0 s")
    assert report.values["frames_total"] == 15 * 5 + 12 * 5 + 20 * 5


def test_bounds_can_move_while_the_status_runs():
    clock = Clock()
    status = FrequencyStatus("persons", FrequencyBounds(0.0, tolerance=0.2), clock)
    assert run(status, clock, 10, 5).level == OK
    status.bounds.min_hz = status.bounds.max_hz = 15.0
    assert run(status, clock, 10, 1).level == WARN


def test_staleness_counts_only_while_due_and_from_the_last_event():
    clock = Clock()
    check = Staleness("meshes", 2.0, clock=clock)
    clock.now = 100.0
    assert check.report().level == OK  # not due: never stale
    check.expect(True)
    clock.now = 101.5
    assert check.report().level == OK
    clock.now = 102.5
    assert check.report().level == ERROR and check.report().message == "no meshes for 2.5 s"
    check.mark()
    clock.now = 103.0
    assert check.report().level == OK
    check.expect(False)
    clock.now = 200.0
    assert check.report().level == OK
    check.expect(True)  # due again: the clock starts now, not at the last event
    clock.now = 201.0
    assert check.report().level == OK


def test_merge_keeps_the_worst_level_and_every_value():
    merged = merge([Report(OK, "OK", {"a": 1}), Report(STALE, "no frames", {"b": 2}), Report(ERROR, "x", {"c": 3})])
    assert (merged.level, merged.message, merged.values) == (STALE, "no frames", {"a": 1, "b": 2, "c": 3})
    assert merge([Report(), Report()]).message == "OK"


def test_stamp_gaps_count_the_messages_missing_between_arrivals():
    gaps = StampGaps()
    period = 66_666_667
    stamps = [i * period for i in range(10)] + [i * period for i in range(15, 20)] + [22 * period]
    missing = [gaps(stamp) for stamp in stamps]
    assert sum(missing) == 5 + 2 and missing[10] == 5 and missing[-1] == 2
    assert abs(gaps.period_s - period * 1e-9) < 1e-9
    assert gaps(3 * period) == 0  # back in time: not a gap (StampCheck judges it)


def test_stamp_gaps_count_nothing_for_stamps_that_go_back_or_jump():
    gaps = StampGaps(max_gap_s=5.0)
    period = 66_666_667
    for i in range(10):
        gaps(i * period)
    assert gaps(3 * period) == 0 and gaps(10 * period) == 0  # one back: ignored, the stream goes on
    assert gaps(10 * period + 3600 * 10**9) == 0 and gaps(11 * period) == 0  # one jump: ignored
    assert gaps(13 * period) == 1
    # A new timeline (a restarted source): followed from its second stamp on, nothing counted for the switch.
    assert gaps(7200 * 10**9) == 0 and gaps(7200 * 10**9 + period) == 0 and gaps(7200 * 10**9 + 3 * period) == 1


def test_stamp_gaps_keep_the_period_through_a_long_overflow():
    gaps = StampGaps()
    period = 10**8
    stamps = list(range(0, 20)) + list(range(20, 1000, 7)) + list(range(1000, 1010))  # an overflow delivers 1 in 7
    missing = sum(gaps(i * period) for i in stamps)
    assert missing == 1010 - len(stamps)


def test_stamp_gaps_keep_the_period_when_late_frames_are_stamped_late():
    # A 15 Hz source stamping frames as it sends them, under load: every 20th frame 25 ms late, the next one
    # on time again (a short spacing, 42 ms). Nothing is missing. (A frame late by over half a period reads
    # as one missing: from the stamps alone it cannot be told from a lost one.)
    gaps = StampGaps()
    period = 66_666_667
    stamps = [i * period + (25_000_000 if i % 20 == 10 else 0) for i in range(600)]
    assert sum(gaps(stamp) for stamp in stamps) == 0
    assert abs(gaps.period_s - period * 1e-9) < 1e-9


def test_stamp_gaps_keep_a_positive_period_across_a_source_restarted_on_an_earlier_timeline():
    # A respawned source whose clock starts earlier: its second stamp is accepted (a new timeline) and its
    # spacing to the old timeline's last stamp is negative; only positive spacings make the period, which the
    # nodes' diagnostics divide by.
    gaps = StampGaps()
    period = 66_666_667
    for i in range(5):
        gaps(10**12 + i * period)
    for i in range(1, 40):
        gaps(i * period)
    assert abs(gaps.period_s - period * 1e-9) < 1e-9


def test_stamp_latency_counts_stamps_of_another_clock_instead_of_a_latency_of_years():
    latency = StampLatency(max_latency_s=5.0)
    assert math.isnan(latency.values()["latency_p50_ms"])
    now = 1_796_638_835.0
    for delay_s in (0.010, 0.012, 0.030):
        latency.add(now, now - delay_s)
    latency.add(now, 0.0)           # a source restarted with stamps from 0
    latency.add(now, now + 2.0)     # another host's clock, ahead of this one
    latency.add(now, now - 3600.0)  # a replay keeping its recorded stamps
    assert latency.values() == {"latency_p50_ms": pytest.approx(12.0, abs=0.01), "latency_stamps_off_clock": 3}
