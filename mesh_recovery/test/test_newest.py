"""NewestOnlyWorker: a slow consumer takes the newest item and counts the ones it skipped."""
from __future__ import annotations

import threading

from mesh_recovery.newest import NewestOnlyWorker


def test_a_busy_worker_skips_to_the_newest_item_and_counts_the_rest():
    started, release = threading.Event(), threading.Event()
    processed: list[int] = []

    def process(item: int) -> None:
        processed.append(item)
        started.set()
        release.wait(5.0)

    worker = NewestOnlyWorker(process, on_error=lambda error: None)
    worker.submit(0)
    assert started.wait(5.0)  # item 0 is being processed; the next ones arrive meanwhile
    for item in range(1, 11):
        worker.submit(item)
    release.set()
    assert worker.wait_idle(5.0)
    worker.close()
    assert processed == [0, 10]
    assert worker.skipped == 9


def test_an_error_is_reported_and_the_worker_goes_on():
    errors: list[Exception] = []
    processed: list[int] = []

    def process(item: int) -> None:
        if item == 1:
            raise ValueError("bad frame")
        processed.append(item)

    worker = NewestOnlyWorker(process, on_error=errors.append)
    for item in range(3):
        worker.submit(item)
        assert worker.wait_idle(5.0)
    worker.close()
    assert processed == [0, 2] and [str(e) for e in errors] == ["bad frame"] and worker.skipped == 0
