"""Health checks in the shape of ROS's diagnostic_updater (no wheel of it exists for the pip-only set-up):
``FrequencyStatus`` (a rate with min/max bounds over a window of updates, as upstream's FrequencyStatus with
FrequencyStatusParam) and ``Staleness`` (no event for longer than a bound while one is due; upstream's
Heartbeat is what every /diagnostics message already is).

No ROS import: a check ``report()``s a ``Report`` (level, message, key/values); the node merges its checks'
reports with ``merge`` into one DiagnosticStatus (presstrack_common.conversions.diagnostic_status). Levels
are diagnostic_msgs/DiagnosticStatus's: OK, WARN, ERROR, STALE (the data stopped coming).
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

OK, WARN, ERROR, STALE = 0, 1, 2, 3


@dataclass
class Report:
    """One check's verdict: its level, a short message and the values behind it."""

    level: int = OK
    message: str = "OK"
    values: dict[str, object] = field(default_factory=dict)


def merge(reports: Iterable[Report]) -> Report:
    """The worst level of ``reports``, the messages of the reports at that level, every value."""
    reports = list(reports)
    worst = max((r.level for r in reports), default=OK)
    messages = [r.message for r in reports if r.level == worst and r.level != OK]
    values: dict[str, object] = {}
    for report in reports:
        values |= report.values
    return Report(worst, "; ".join(messages) or "OK", values)


@dataclass
class FrequencyBounds:
    """Upstream's FrequencyStatusParam: the rate must lie within [min_hz * (1 - tolerance), max_hz * (1 +
    tolerance)] over the last ``window`` updates. Mutable, as upstream's (it holds references), so a node can
    move the bounds when the rate it expects changes."""

    min_hz: float
    max_hz: float = math.inf
    tolerance: float = 0.1
    window: int = 5


class FrequencyStatus:
    """How often ``tick()`` was called over the last ``bounds.window`` calls of ``report()`` (one a second
    in our nodes), against the bounds: no event in the window is ERROR, a rate outside the bounds WARN.

    ``what`` names the events in the keys (``<what>_rate_hz``, ``<what>_in_window``, ``<what>_total``).
    Safe to tick from one thread and report from another.
    """

    def __init__(self, what: str, bounds: FrequencyBounds, clock: Callable[[], float] = time.monotonic) -> None:
        self.what, self.bounds, self._clock = what, bounds, clock
        self._lock = threading.Lock()
        self.count = 0
        self._history: deque[tuple[float, int]] = deque([(clock(), 0)], maxlen=max(2, bounds.window + 1))

    def tick(self, events: int = 1) -> None:
        with self._lock:
            if self.count == 0:  # the window starts with the first event, not with a node still starting
                self._history.clear()
                self._history.append((self._clock(), 0))
            self.count += events

    def rate(self) -> tuple[float, int, float]:
        """(events per second, events, seconds) over the window as of the last report."""
        (start, first), (end, last) = self._history[0], self._history[-1]
        seconds = end - start
        return ((last - first) / seconds if seconds > 0 else 0.0), last - first, seconds

    def report(self) -> Report:
        with self._lock:
            count = self.count
            self._history.append((self._clock(), count))
        rate, events, seconds = self.rate()
        low, high = self.bounds.min_hz * (1 - self.bounds.tolerance), self.bounds.max_hz * (1 + self.bounds.tolerance)
        values = {f"{self.what}_rate_hz": rate, f"{self.what}_in_window": events, f"{self.what}_window_s": seconds,
                  f"{self.what}_total": count, f"{self.what}_min_hz": low, f"{self.what}_max_hz": high}
        if events == 0:
            return Report(ERROR, f"no {self.what} in {seconds:.1f} s", values)
        if rate < low:
            return Report(WARN, f"{self.what} rate too low ({rate:.3g} Hz < {low:.3g})", values)
        if rate > high:
            return Report(WARN, f"{self.what} rate too high ({rate:.3g} Hz > {high:.3g})", values)
        return Report(OK, "OK", values)


class Staleness:
    """Whether something that should happen (an output, a frame) did within ``max_silence_s`` of the moment
    it became due, judged only while ``due`` holds.

    ``mark()`` records that it happened; ``expect(due)`` records whether it is due now (the clock starts the
    first time it is due after an event or a pause). ``report()`` gives ``level`` with ``message`` when it
    has been due for longer than ``max_silence_s`` since the last event.
    """

    def __init__(self, what: str, max_silence_s: float, level: int = ERROR, message: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.what, self.max_silence_s, self.level, self._clock = what, max_silence_s, level, clock
        self.message = message or f"no {what}"
        self._lock = threading.Lock()
        self._last_event: float | None = None
        self._due_since: float | None = None

    def mark(self) -> None:
        with self._lock:
            self._last_event = self._clock()

    def expect(self, due: bool) -> None:
        with self._lock:
            if not due:
                self._due_since = None
            elif self._due_since is None:
                self._due_since = self._clock()

    def silent_for(self) -> float:
        """Seconds it has been due without happening (0 when not due)."""
        with self._lock:
            if self._due_since is None:
                return 0.0
            since = self._due_since if self._last_event is None else max(self._due_since, self._last_event)
            return self._clock() - since

    def report(self) -> Report:
        silent = self.silent_for()
        values = {f"seconds_without_{self.what.replace(' ', '_')}": silent}
        if silent > self.max_silence_s:
            return Report(self.level, f"{self.message} for {silent:.1f} s", values)
        return Report(OK, "OK", values)


class StampLatency:
    """How long after their stamps the last ``history`` outputs went out, for stamps on this node's clock.

    A stamp more than ``max_latency_s`` before now, or after now, is on another clock (a replay that keeps
    its recorded stamps, a source restarted on its own timeline, another host's clock): it says nothing about
    this node's delay, so it is counted as ``latency_stamps_off_clock`` instead of becoming a latency of years.
    """

    def __init__(self, max_latency_s: float, history: int = 300) -> None:
        self.max_latency_s = max_latency_s
        self._latencies_s: deque[float] = deque(maxlen=history)
        self.off_clock = 0

    def add(self, now_s: float, stamp_s: float) -> None:
        latency = now_s - stamp_s
        if 0.0 <= latency <= self.max_latency_s:
            self._latencies_s.append(latency)
        else:
            self.off_clock += 1

    def values(self) -> dict[str, float | int]:
        """``latency_p50_ms`` (NaN until an output's stamp was on this clock) and ``latency_stamps_off_clock``."""
        ordered = sorted(self._latencies_s)
        p50_ms = 1e3 * ordered[len(ordered) // 2] if ordered else math.nan
        return {"latency_p50_ms": p50_ms, "latency_stamps_off_clock": self.off_clock}
