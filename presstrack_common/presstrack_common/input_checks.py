"""Bad-input handling every PressTrack node shares: counts per kind with throttled warnings, stamp and burst
checks, pressure sanitising and the MatInfo check.

No ROS import: a node hands ``BadInputCounter`` its logger's ``warning`` and publishes ``diagnostic_values()``.
"""
from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable

import numpy as np

from presstrack_common.mat_geometry import MatGeometry, geometry_from_pose


class BadInputCounter:
    """Counts bad input per kind and warns about each kind at most once every ``throttle_s`` seconds.

    The throttle is per kind, not per call site as rclpy's is, so a flood of one kind of bad input never
    hides the first report of another. Safe to call from several threads.
    """

    def __init__(self, warn: Callable[[str], None], throttle_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._warn = warn
        self._throttle_s = throttle_s
        self._clock = clock
        self._counts: Counter[str] = Counter()
        self._last_warned: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, kind: str, detail: str, count: int = 1) -> None:
        """Count ``count`` occurrences of ``kind``; ``detail`` says what was wrong and what was done."""
        now = self._clock()
        with self._lock:
            self._counts[kind] += count
            total = self._counts[kind]
            due = now - self._last_warned.get(kind, -math.inf) >= self._throttle_s
            if due:
                self._last_warned[kind] = now
        if due:
            self._warn(f"bad input ({kind}, {total} so far): {detail}")

    @property
    def any_counted(self) -> bool:
        with self._lock:
            return bool(self._counts)

    def diagnostic_values(self) -> dict[str, int]:
        """``bad_input_<kind>: count`` for every kind seen so far."""
        with self._lock:
            return {f"bad_input_{kind}": count for kind, count in sorted(self._counts.items())}


class StampCheck:
    """Does each message's stamp continue its stream: after the previous accepted one, at most ``max_gap_s`` later?

    A stamp that goes back (or repeats) or jumps ahead is refused. When the next stamp continues from the
    refused one, the source has really moved to a new timeline (restarted, replaying another recording)
    and that stamp is accepted: one bad stamp costs one message, never the rest of the stream.

    With a ``clock`` (arrival time, s), a jump is judged against the time that passed: a stamp may be
    ``max_gap_s`` further ahead than the silence since the previous accepted message. A source that was silent
    (killed and restarted, paused) and comes back with stamps that advanced as long as it was away continues
    its stream, and its first message is used; stamps that run ahead of the clock are still refused.
    """

    NOT_INCREASING = "stamp_not_increasing"
    JUMP = "stamp_jump"

    def __init__(self, max_gap_s: float = 5.0, clock: Callable[[], float] | None = None) -> None:
        self.max_gap_ns = int(max_gap_s * 1e9)
        self.last_ns: int | None = None
        self._clock = clock
        self._last_arrival: float | None = None
        self._refused: tuple[int, float | None] | None = None  # (stamp ns, arrival s)

    def _continues(self, previous_ns: int | None, previous_arrival: float | None, stamp_ns: int,
                   arrival: float | None) -> bool:
        if previous_ns is None:
            return True
        silence_ns = 0 if arrival is None or previous_arrival is None else max(0, round((arrival - previous_arrival) * 1e9))
        return previous_ns < stamp_ns <= previous_ns + self.max_gap_ns + silence_ns

    def __call__(self, stamp_ns: int) -> str | None:
        """None if ``stamp_ns`` is accepted, else why not (``NOT_INCREASING`` or ``JUMP``)."""
        arrival = None if self._clock is None else self._clock()
        if self._continues(self.last_ns, self._last_arrival, stamp_ns, arrival) or (
                self._refused is not None and self._continues(*self._refused, stamp_ns, arrival)):
            self.last_ns, self._last_arrival, self._refused = stamp_ns, arrival, None
            return None
        self._refused = (stamp_ns, arrival)
        return self.NOT_INCREASING if stamp_ns <= self.last_ns else self.JUMP


class BurstCheck:
    """Did a message arrive in a burst: sooner after the previous one than ``fraction`` of their stamps' spacing?

    Such messages were held up somewhere (a stalled sender, a backlog) and come all at once; a subscriber's
    queue keeps only its newest few, so a burst usually also means messages lost before they reached us.
    """

    def __init__(self, fraction: float = 0.25, clock: Callable[[], float] = time.monotonic) -> None:
        self.fraction = fraction
        self._clock = clock
        self._previous: tuple[int, float] | None = None  # (stamp ns, arrival s)

    def __call__(self, stamp_ns: int) -> bool:
        arrival = self._clock()
        previous, self._previous = self._previous, (stamp_ns, arrival)
        if previous is None or stamp_ns <= previous[0]:
            return False
        return arrival - previous[1] < self.fraction * (stamp_ns - previous[0]) * 1e-9


class StreamTiming:
    """StampCheck and BurstCheck of one subscribed stream: bad stamps counted in a BadInputCounter, bursts in
    ``bursts_seen``. A burst is not bad input: each message of it is used, and on a loaded host (a sender or
    this node catching up after a stall) bursts come every few seconds; any message lost on the way is
    counted exactly by StampGaps, so a burst needs no warning of its own.

    ``what`` names one message of the stream in the warnings ('frame', 'message').
    """

    def __init__(self, count: BadInputCounter, what: str, max_gap_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stamps, self.bursts = StampCheck(max_gap_s, clock), BurstCheck(clock=clock)
        self.count, self.what = count, what
        self.bursts_seen = 0

    def accept(self, stamp_ns: int) -> bool:
        """False (counted) for a stamp going back, repeating or jumping; a burst is counted and accepted."""
        problem = self.stamps(stamp_ns)
        if problem:
            self.count(problem, f"stamp {stamp_ns * 1e-9:.3f} s, the previous {self.what}'s "
                                f"{self.stamps.last_ns * 1e-9:.3f} s; {self.what} dropped")
            return False
        if self.bursts(stamp_ns):
            self.bursts_seen += 1
        return True


# What sanitise_pressure does to each kind of bad cell.
SANITISED_AS = {"nonfinite_cells": "treated as no pressure", "negative_cells": "treated as no pressure",
                "cells_above_full_scale": "clipped to the mat's full scale"}


def sanitise_pressure(cells: np.ndarray, full_scale: float) -> tuple[np.ndarray, dict[str, int]]:
    """(float32 copy of ``cells`` [kPa] with NaN/Inf and negative cells as no pressure and cells above
    ``full_scale`` clipped to it, how many cells of each kind were changed)."""
    finite = np.isfinite(cells)
    with np.errstate(invalid="ignore"):
        negative, above = finite & (cells < 0), finite & (cells > full_scale)
    clean = np.where(finite & ~negative, np.minimum(cells, full_scale), 0.0).astype(np.float32)
    counts = {"nonfinite_cells": int(cells.size - np.count_nonzero(finite)),
              "negative_cells": int(np.count_nonzero(negative)), "cells_above_full_scale": int(np.count_nonzero(above))}
    return clean, counts


# Track ids stay below 2**31 so that every consumer holds them, int32 marker ids in RViz included.
MAX_TRACK_ID = 2**31 - 1
# No mat has more cells a side (the driver's rows and cols are limited to it); a larger frame is refused unread.
MAX_MAT_SIDE = 4096
# No person's crop has more cells a side (the tracker's crop_size is limited to it).
MAX_CROP_SIDE = 1024


def check_mat_info(info) -> MatGeometry:
    """The mat a presstrack_msgs/MatInfo describes; ValueError naming the first field that cannot be right."""
    if not info.full_scale > 0:  # NaN fails too
        raise ValueError(f"full_scale must be > 0, got {info.full_scale}")
    position = info.mat_pose.position
    if not all(math.isfinite(v) for v in (position.x, position.y, position.z)):
        raise ValueError(f"mat_pose position must be finite, got ({position.x}, {position.y}, {position.z})")
    return geometry_from_pose(info.rows, info.cols, info.cell_pitch, info.mat_pose)


class StampGaps:
    """Messages lost before they reached us (a subscription queue that overflowed, a transport that gave up on
    a message too large), judged by the stamps of those that arrive: a gap of k periods means k - 1 messages
    missing. The stream's period is the median of the regular spacings among its last ``history`` ones (those
    under 1.5 times the shortest tenth): a queue that overflows for a while delivers mostly gaps, which must
    not become the period, and a source that stamps its frames when it sends them gives a short spacing after
    each late frame, which must not become it either (under load a 15 Hz mat's period once read as 9 ms, and
    every frame counted 6 missing); a source that really slows down is followed once its old spacings have left
    the history.

    Call it with every arriving message's stamp, before any other check drops it; it returns how many are
    missing before this one. Stamps that go back or repeat count nothing, nor a gap over ``max_gap_s`` (a jump
    to a new timeline, followed from its second stamp there). A gap under it counts whatever its cause: lost
    messages, or a source that paused while its clock ran (a stalled sender that then flushes its backlog
    looks the same). The default covers 1000 frames of a 15 Hz mat.

    The count is exact for a source that stamps each message with its acquisition time on its schedule (the
    driver does so for the simulator and replays, however late a loaded host sends a frame, and the tracker's
    persons carry their frame's stamp). Where messages are stamped when they arrive or are sent (a live mat's
    frames), one stamped over half a period late reads as one missing.
    """

    def __init__(self, history: int = 300, max_gap_s: float = 120.0) -> None:
        self._spacings: deque[int] = deque(maxlen=history)
        self._stamps = StampCheck(max_gap_s)
        self.missing = 0

    @property
    def period_s(self) -> float | None:
        """The stream's period from its stamps; None until three spacings are known."""
        if len(self._spacings) < 3:
            return None
        spacings = np.array(self._spacings)
        return float(np.median(spacings[spacings < 1.5 * np.percentile(spacings, 10)])) * 1e-9

    def __call__(self, stamp_ns: int) -> int:
        previous = self._stamps.last_ns
        if self._stamps(stamp_ns) is not None or previous is None or stamp_ns - previous > self._stamps.max_gap_ns:
            return 0
        period = self.period_s
        spacing = stamp_ns - previous
        if spacing <= 0:  # a repeated stamp says nothing of the period
            return 0
        self._spacings.append(spacing)
        if period is None:
            return 0
        missing = max(0, round(spacing * 1e-9 / period) - 1)
        self.missing += missing
        return missing
