"""Bounded lag: frames in order while the consumer keeps up, the newest once it is behind by more than the budget."""
from __future__ import annotations

import math
import threading

from mesh_recovery.bounded_lag import MAX_WAITING, BoundedLagWorker, LagQueue

MAX_LAG_S = 0.1


def simulate(arrivals: list[float], processing_s: float, max_lag_s: float = MAX_LAG_S) -> dict:
    """One consumer taking from a LagQueue, each item costing ``processing_s``: which items were processed
    (with their wait), how many were skipped, the most that waited at once."""
    queue: LagQueue[int] = LagQueue(max_lag_s)
    processed, longest_queue, now, next_arrival = {}, 0, 0.0, 0
    while next_arrival < len(arrivals) or len(queue):
        if not len(queue):  # idle until the next arrival
            now = max(now, arrivals[next_arrival])
        while next_arrival < len(arrivals) and arrivals[next_arrival] <= now:
            queue.put(next_arrival, arrivals[next_arrival])
            next_arrival += 1
        longest_queue = max(longest_queue, len(queue))
        item = queue.take(now)
        processed[item] = now - arrivals[item]
        now += processing_s
    return {"processed": processed, "skipped": queue.skipped, "longest_queue": longest_queue}


def test_bunched_arrivals_are_all_processed_in_order():
    # 30 Hz on average, but delivered in pairs (the second 1 ms after the first) or threes after a stall of
    # 80 ms, as DDS does; the consumer needs 15 ms a frame: it has time for every one.
    arrivals, t = [], 0.0
    for group in range(300):
        size = 3 if group % 10 == 0 else 2
        arrivals += [t + 0.001 * k for k in range(size)]
        t += size / 30.0
    outcome = simulate(arrivals, processing_s=0.015)
    assert outcome["skipped"] == 0
    assert list(outcome["processed"]) == list(range(len(arrivals)))
    assert max(outcome["processed"].values()) <= MAX_LAG_S


def test_a_sustained_overload_skips_counted_frames_and_keeps_the_lag_and_queue_bounded():
    # 30 Hz for 20 s, 50 ms a frame: 1.5 times what the consumer can do.
    rate_hz, processing_s = 30.0, 0.05
    arrivals = [k / rate_hz for k in range(600)]
    outcome = simulate(arrivals, processing_s)
    processed = outcome["processed"]
    assert outcome["skipped"] > 0
    assert len(processed) + outcome["skipped"] == len(arrivals)  # every frame processed or counted
    assert list(processed) == sorted(processed)  # never out of order
    assert max(processed.values()) <= MAX_LAG_S + processing_s  # the latency bound, by construction
    assert outcome["longest_queue"] <= math.ceil((MAX_LAG_S + processing_s) * rate_hz) + 1
    # It processes about as many as it can: a skip costs at most one frame's time of idling.
    assert len(processed) >= 0.9 * 20.0 / processing_s


def test_a_flood_faster_than_the_budget_ages_is_capped():
    queue: LagQueue[int] = LagQueue(MAX_LAG_S)
    for item in range(MAX_WAITING + 36):
        queue.put(item, 0.0)
    assert len(queue) == MAX_WAITING and queue.skipped == 36
    assert queue.take(0.0) == 36  # the oldest of the ones kept, all young


def test_a_busy_worker_works_through_young_frames_and_jumps_to_the_newest_once_behind():
    now = [0.0]
    started, release = threading.Event(), threading.Event()
    processed: list[int] = []

    def process(item: int) -> None:
        processed.append(item)
        if item == 0:
            started.set()
            release.wait(5.0)

    worker = BoundedLagWorker(process, on_error=lambda error: None, max_lag_s=MAX_LAG_S, clock=lambda: now[0])
    worker.submit(0)
    assert started.wait(5.0)  # item 0 is being processed; the next ones arrive meanwhile
    for item in range(1, 4):
        worker.submit(item)
    now[0] = 0.05  # item 0 finishes while the waiting ones are younger than the budget
    release.set()
    assert worker.wait_idle(5.0)
    assert processed == [0, 1, 2, 3] and worker.skipped == 0

    started.clear(), release.clear()
    processed.clear()
    worker.submit(0)
    assert started.wait(5.0)
    for item in range(1, 11):
        worker.submit(item)
    now[0] = 0.05 + 2 * MAX_LAG_S  # item 0 took longer than the budget: the waiting ones are stale
    release.set()
    assert worker.wait_idle(5.0)
    worker.close()
    assert processed == [0, 10] and worker.skipped == 9


def test_an_error_is_reported_and_the_worker_goes_on():
    errors: list[Exception] = []
    processed: list[int] = []

    def process(item: int) -> None:
        if item == 1:
            raise ValueError("bad frame")
        processed.append(item)

    worker = BoundedLagWorker(process, on_error=errors.append, max_lag_s=MAX_LAG_S)
    for item in range(3):
        worker.submit(item)
        assert worker.wait_idle(5.0)
    worker.close()
    assert processed == [0, 2] and [str(e) for e in errors] == ["bad frame"] and worker.skipped == 0
