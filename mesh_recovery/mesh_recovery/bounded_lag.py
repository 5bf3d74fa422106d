"""Bounded-lag processing: a consumer works through its input in order while it keeps up, and jumps to the
newest input once it is behind by more than a latency budget, so the latency stays bounded under overload
while input that merely arrives bunched is never skipped."""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")

# Waiting items beyond this many are skipped oldest first, whatever their age: a flood of tiny messages arriving
# faster than the budget can age them must not hold unbounded memory (at 30 Hz a 0.1 s budget holds 3-4).
MAX_WAITING = 64


class LagQueue(Generic[Item]):
    """The rule alone, on times given by the caller (seconds on one monotonic clock).

    ``take(now)`` returns the oldest waiting item while it has waited at most ``max_lag_s``; once the oldest
    has waited longer, every waiting item but the newest is skipped (counted in ``skipped``) and the newest
    is returned. An item taken when the consumer becomes free has thus waited at most ``max_lag_s`` plus one
    processing time, or it is the newest there is.
    """

    def __init__(self, max_lag_s: float, max_waiting: int = MAX_WAITING) -> None:
        self.max_lag_s = max_lag_s
        self._max_waiting = max_waiting
        self._waiting: deque[tuple[float, Item]] = deque()
        self.skipped = 0

    def __len__(self) -> int:
        return len(self._waiting)

    def put(self, item: Item, now: float) -> None:
        self._waiting.append((now, item))
        while len(self._waiting) > self._max_waiting:
            self._waiting.popleft()
            self.skipped += 1

    def take(self, now: float) -> Item | None:
        """The item to process next, or None when nothing waits."""
        if not self._waiting:
            return None
        arrived, _ = self._waiting[0]
        if now - arrived > self.max_lag_s:
            self.skipped += len(self._waiting) - 1
            while len(self._waiting) > 1:
                self._waiting.popleft()
        return self._waiting.popleft()[1]


class BoundedLagWorker(Generic[Item]):
    """Runs ``process(item)`` on a thread of its own for the items ``submit`` hands it, by ``LagQueue``'s rule:
    in order while the oldest waiting item has waited at most ``max_lag_s`` seconds, else the newest only,
    the ones in between skipped and counted (``skipped``). ``process`` raising is reported to ``on_error``
    and the worker goes on.
    """

    def __init__(self, process: Callable[[Item], None], on_error: Callable[[Exception], None], max_lag_s: float,
                 name: str = "bounded_lag", clock: Callable[[], float] = time.monotonic) -> None:
        self._process = process
        self._on_error = on_error
        self._clock = clock
        self._queue: LagQueue[Item] = LagQueue(max_lag_s)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def skipped(self) -> int:
        return self._queue.skipped

    @property
    def max_lag_s(self) -> float:
        return self._queue.max_lag_s

    @max_lag_s.setter
    def max_lag_s(self, seconds: float) -> None:
        self._queue.max_lag_s = seconds

    def submit(self, item: Item) -> None:
        with self._lock:
            self._queue.put(item, self._clock())
            self._idle.clear()
        self._wake.set()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Whether everything submitted so far was processed or skipped within ``timeout`` seconds."""
        return self._idle.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stop once what waits is processed or skipped."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            while True:
                with self._lock:
                    item = self._queue.take(self._clock())
                    if item is None:
                        self._idle.set()
                        break
                try:
                    self._process(item)
                except Exception as error:  # one bad frame must not end the node's processing
                    self._on_error(error)
            if self._stopping:
                return
