"""Frame sources for a real mat: serial port (pyserial) and UDP, with reconnection and state reporting.

Threading model: a source does its I/O inside ``read(timeout)``, in the caller's thread (e.g. a thread
the ROS node owns). ``read`` returns within ``timeout`` (an open attempt may add the few milliseconds
the OS takes), reconnects with exponential back-off by itself, and returns ``None`` when no frame
arrived in time. ``stop()`` may be called from any thread: it makes a pending ``read`` return within
one poll slice (``POLL_SLICE_S``), then closes the link. ``state`` and ``stats`` may be read from
any thread. POSIX only (select on the port's file descriptor).

States (``SourceState``):
    stopped       before start() and after stop()
    connecting    first attempt to open the link, or link open and no valid frame yet
    streaming     valid frames are arriving (the last one less than ``stale_after_s`` ago)
    disconnected  link lost (read/open error; waiting out the back-off before the next attempt), or
                  link open but silent for more than ``stale_after_s``
    reconnecting  opening the link again after a loss, or reopened and no valid frame yet
``on_state_change`` is called in the thread that caused the change (the reader's, or stop()'s) and
must not call start(), stop() or read().
A silent serial port is not reopened: reopening toggles DTR, which resets many microcontroller boards.
UDP has no link to lose; only a bind failure is retried, and silence reads as 'disconnected'.
"""
from __future__ import annotations

import select
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

import serial

from .frame_protocol import (
    DEFAULT_MAX_COLS,
    DEFAULT_MAX_ROWS,
    CounterStats,
    Frame,
    FrameCounterTracker,
    FrameParser,
    ParserStats,
)

POLL_SLICE_S = 0.05  # longest single wait, so stop() is noticed quickly
_SERIAL_READ_BYTES = 65536
_UDP_MAX_DATAGRAM = 65535


class SourceState(str, Enum):
    STOPPED = "stopped"
    CONNECTING = "connecting"
    STREAMING = "streaming"
    DISCONNECTED = "disconnected"
    RECONNECTING = "reconnecting"


@dataclass
class SourceStats:
    """Snapshot of a source's health (a copy: safe to keep and to read from another thread)."""

    state: SourceState = SourceState.STOPPED
    connects: int = 0  # successful link opens
    open_failures: int = 0
    disconnects: int = 0  # links lost with an error
    stalls: int = 0  # streaming stopped: link open but silent for stale_after_s
    bytes_received: int = 0
    last_error: str = ""
    parser: ParserStats = field(default_factory=ParserStats)
    counters: CounterStats = field(default_factory=CounterStats)


class FrameSource(Protocol):
    """What a node needs from a mat: start, poll for frames, watch health, stop."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def read(self, timeout: float = 0.0) -> Frame | None: ...

    @property
    def state(self) -> SourceState: ...

    @property
    def stats(self) -> SourceStats: ...


class ReconnectBackoff:
    """Exponential back-off: min_s, 2*min_s, 4*min_s, ... capped at max_s; reset() after success."""

    def __init__(self, min_s: float = 0.1, max_s: float = 5.0, factor: float = 2.0) -> None:
        if not (0 < min_s <= max_s):
            raise ValueError(f"back-off needs 0 < min_s <= max_s, got min_s={min_s}, max_s={max_s}")
        if factor < 1:
            raise ValueError(f"back-off factor must be >= 1, got {factor}")
        self.min_s, self.max_s, self.factor = min_s, max_s, factor
        self._next_s = min_s

    def next_delay(self) -> float:
        delay = self._next_s
        self._next_s = min(self._next_s * self.factor, self.max_s)
        return delay

    def reset(self) -> None:
        self._next_s = self.min_s


class _LinkSource(ABC):
    """Reconnection, parsing, counter tracking and state for a byte link; subclasses open/read/close it."""

    def __init__(
        self,
        *,
        min_backoff_s: float,
        max_backoff_s: float,
        stale_after_s: float,
        max_rows: int,
        max_cols: int,
        on_state_change: Callable[[SourceState], None] | None,
    ) -> None:
        if not stale_after_s > 0:
            raise ValueError(f"stale_after_s must be > 0, got {stale_after_s}")
        self._backoff = ReconnectBackoff(min_backoff_s, max_backoff_s)
        self._stale_after_s = stale_after_s
        self._parser = FrameParser(max_rows, max_cols)
        self._tracker = FrameCounterTracker()
        self._on_state_change = on_state_change
        self._stats = SourceStats()
        self._stats_lock = threading.Lock()
        self._io_lock = threading.Lock()
        self._stop_requested = threading.Event()
        self._pending: deque[Frame] = deque()
        self._link_open = False
        self._ever_opened = False
        self._reconnect_at = 0.0
        self._last_frame_at = 0.0

    @abstractmethod
    def _open_link(self) -> None:
        """Open the link; raise OSError on failure."""

    @abstractmethod
    def _receive(self, timeout: float) -> bytes:
        """Bytes available within ``timeout`` s (b"" if none); raise OSError when the link is lost."""

    @abstractmethod
    def _close_link(self) -> None:
        """Close the link; must not raise."""

    @property
    def state(self) -> SourceState:
        return self._stats.state

    @property
    def stats(self) -> SourceStats:
        with self._stats_lock:
            snapshot = SourceStats(**{name: value for name, value in vars(self._stats).items()})
            snapshot.parser = self._parser.stats.copy()
            snapshot.counters = self._tracker.stats.copy()
        return snapshot

    def start(self) -> None:
        """Begin connecting (first attempt right away); no-op when already started."""
        with self._io_lock:
            if self.state is not SourceState.STOPPED:
                return
            self._stop_requested.clear()
            self._ever_opened = False
            self._backoff.reset()
            self._set_state(SourceState.CONNECTING)
            self._try_open()

    def stop(self) -> None:
        """Close the link; callable from any thread, idempotent. Queued frames are dropped."""
        self._stop_requested.set()
        with self._io_lock:
            if self._link_open:
                self._close_link()
                self._link_open = False
            self._pending.clear()
            self._parser.reset()
            self._set_state(SourceState.STOPPED)

    def __enter__(self) -> _LinkSource:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def read(self, timeout: float = 0.0) -> Frame | None:
        """Next valid frame, waiting at most ``timeout`` s; None if none came, or when stopped."""
        if not timeout >= 0:
            raise ValueError(f"timeout must be >= 0 seconds, got {timeout}")
        deadline = time.monotonic() + timeout
        with self._io_lock:
            while True:
                if self._pending:
                    return self._hand_out()
                if self._stop_requested.is_set() or self.state is SourceState.STOPPED:
                    return None
                now = time.monotonic()
                if self._link_open:
                    self._poll_link(min(max(deadline - now, 0.0), POLL_SLICE_S))
                elif now >= self._reconnect_at:
                    self._try_open()
                else:
                    self._stop_requested.wait(max(0.0, min(self._reconnect_at, deadline) - now))
                if self._pending:
                    return self._hand_out()
                if time.monotonic() >= deadline:
                    return None

    def _hand_out(self) -> Frame:
        # Counted when handed out, not when parsed, so the counters describe exactly what the caller got.
        frame = self._pending.popleft()
        with self._stats_lock:
            self._tracker.update(frame.counter)
        return frame

    def _set_state(self, state: SourceState) -> None:
        if state is self._stats.state:
            return
        with self._stats_lock:
            self._stats.state = state
        if self._on_state_change is not None:
            self._on_state_change(state)

    def _try_open(self) -> None:
        self._set_state(SourceState.RECONNECTING if self._ever_opened else SourceState.CONNECTING)
        try:
            self._open_link()
        except OSError as error:
            with self._stats_lock:
                self._stats.open_failures += 1
                self._stats.last_error = f"open failed: {error}"
            self._reconnect_at = time.monotonic() + self._backoff.next_delay()
            self._set_state(SourceState.DISCONNECTED)
            return
        self._link_open = True
        self._ever_opened = True
        with self._stats_lock:
            self._stats.connects += 1

    def _lose_link(self, reason: str) -> None:
        self._close_link()
        self._link_open = False
        self._parser.reset()  # a partial frame cannot continue on a new connection
        with self._stats_lock:
            self._stats.disconnects += 1
            self._stats.last_error = reason
        self._reconnect_at = time.monotonic() + self._backoff.next_delay()
        self._set_state(SourceState.DISCONNECTED)

    def _poll_link(self, timeout: float) -> None:
        try:
            chunk = self._receive(timeout)
        except OSError as error:
            self._lose_link(f"link lost: {error}")
            return
        now = time.monotonic()
        if chunk:
            with self._stats_lock:
                self._stats.bytes_received += len(chunk)
                frames = self._parser.feed(chunk)
            if frames:
                self._pending.extend(frames)
                self._last_frame_at = now
                self._backoff.reset()
                self._set_state(SourceState.STREAMING)
        if self.state is SourceState.STREAMING and now - self._last_frame_at > self._stale_after_s:
            with self._stats_lock:
                self._stats.stalls += 1
            self._set_state(SourceState.DISCONNECTED)


class SerialSource(_LinkSource):
    """Frames from a serial port (USB CDC, UART, or a pty), e.g. ``SerialSource('/dev/ttyACM0', 921600)``.

    Opens the port exclusively, 8N1, no flow control. Use a stable path (``/dev/serial/by-id/...``) so
    the device is found again after it re-enumerates.
    """

    def __init__(
        self,
        port: str,
        baudrate: int = 921600,
        *,
        min_backoff_s: float = 0.1,
        max_backoff_s: float = 5.0,
        stale_after_s: float = 1.0,
        max_rows: int = DEFAULT_MAX_ROWS,
        max_cols: int = DEFAULT_MAX_COLS,
        on_state_change: Callable[[SourceState], None] | None = None,
    ) -> None:
        if not port:
            raise ValueError("serial port path is empty")
        if isinstance(baudrate, bool) or not isinstance(baudrate, int) or baudrate <= 0:
            raise ValueError(f"baudrate must be a positive integer, got {baudrate!r}")
        super().__init__(
            min_backoff_s=min_backoff_s,
            max_backoff_s=max_backoff_s,
            stale_after_s=stale_after_s,
            max_rows=max_rows,
            max_cols=max_cols,
            on_state_change=on_state_change,
        )
        self.port = port
        self.baudrate = baudrate
        self._serial: serial.Serial | None = None

    def _open_link(self) -> None:
        # timeout=0: reads return what is there; waiting is done by select in _receive.
        self._serial = serial.Serial(self.port, self.baudrate, timeout=0, exclusive=True)

    def _receive(self, timeout: float) -> bytes:
        assert self._serial is not None
        readable, _, _ = select.select([self._serial.fileno()], [], [], timeout)
        if not readable:
            return b""
        return self._serial.read(_SERIAL_READ_BYTES)

    def _close_link(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except OSError:
                pass  # the device is already gone; nothing left to release
            self._serial = None


class UdpSource(_LinkSource):
    """Frames from UDP datagrams sent to ``host:port`` (port 0 picks a free one, see ``bound_address``).

    Datagrams are consecutive slices of the device's byte stream: one holds one frame, several, or a
    fragment; the streaming parser reassembles them. Meant for one device per port: datagrams from
    several senders would interleave their streams (the CRCs then reject the mixed frames).
    """

    def __init__(
        self,
        host: str = "0.0.0.0",
        port: int = 5600,
        *,
        receive_buffer_bytes: int = 4 * 1024 * 1024,
        min_backoff_s: float = 0.1,
        max_backoff_s: float = 5.0,
        stale_after_s: float = 1.0,
        max_rows: int = DEFAULT_MAX_ROWS,
        max_cols: int = DEFAULT_MAX_COLS,
        on_state_change: Callable[[SourceState], None] | None = None,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"UDP port must be in [0, 65535], got {port}")
        if receive_buffer_bytes <= 0:
            raise ValueError(f"receive_buffer_bytes must be > 0, got {receive_buffer_bytes}")
        super().__init__(
            min_backoff_s=min_backoff_s,
            max_backoff_s=max_backoff_s,
            stale_after_s=stale_after_s,
            max_rows=max_rows,
            max_cols=max_cols,
            on_state_change=on_state_change,
        )
        self.host = host
        self.port = port
        self._receive_buffer_bytes = receive_buffer_bytes
        self._socket: socket.socket | None = None
        self._bound_address: tuple[str, int] | None = None

    @property
    def bound_address(self) -> tuple[str, int] | None:
        """(host, port) actually bound, None while not bound."""
        return self._bound_address

    def _open_link(self) -> None:
        family, kind, proto, _, address = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)[0]
        sock = socket.socket(family, kind, proto)
        try:
            # A bigger kernel buffer rides out a busy reader thread (the kernel caps it at rmem_max).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self._receive_buffer_bytes)
            sock.bind(address)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self._bound_address = sock.getsockname()[:2]

    def _receive(self, timeout: float) -> bytes:
        assert self._socket is not None
        readable, _, _ = select.select([self._socket], [], [], timeout)
        if not readable:
            return b""
        try:
            return self._socket.recv(_UDP_MAX_DATAGRAM)
        except BlockingIOError:  # select may wake spuriously
            return b""

    def _close_link(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
            self._bound_address = None
