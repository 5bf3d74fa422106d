"""A fake pressure mat that speaks the frame protocol over a pty (serial) or loopback UDP.

For tests and demos of ``SerialSource`` / ``UdpSource``: it streams frames at a fixed rate (a person
shifting their weight from foot to foot while walking round the mat, or frames given by the caller),
and on request drops off the link for a while,
sends frames with a flipped byte, skips counter values (frames lost on the device), sends garbage, or
restarts its counter (a reboot). A device log records which counters went out intact, which went out
corrupted and which were produced while the link was down, so tests can check the receiver's accounting.

The device keeps its clock and counter running while the link is down, like a mat whose cable was
pulled: those frames are lost and the receiver must count them.

The pty device publishes a stable symlink (``port_path``) to the current pty slave, re-pointed on each
reconnect, as udev's ``/dev/serial/by-id`` links do for a USB device that re-enumerates.
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import tty
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .frame_protocol import COUNTER_MODULUS, HEADER_SIZE, SAMPLE_DTYPES, SAMPLE_FULL_SCALE, SampleType, encode_frame

# The default load, in raw counts of 1 kPa each (the driver's default raw_to_kpa), on MIP's 1 cm cells: a
# 70 kg person whose feet (25 x 9 cm soles) share the body weight, shifting it from foot to foot. Soles
# press 40-120 kPa on average and up to about 250 kPa under heel and forefoot, as barefoot walking does,
# so the driver's defaults neither lose the person under the noise floor nor saturate a cell.
BODY_WEIGHT_N = 70.0 * 9.81
CELL_AREA_M2 = 1e-4
SOLE_CELLS = (25, 9)        # length, width of a sole in cells (1 cm)
_WALK_PERIOD_FRAMES = 60    # frames per loop of the walking path
_STEP_PERIOD_FRAMES = 16    # frames per left-right weight shift (about a step a second at 15 Hz)
_PTY_WRITE_TIMEOUT_S = 1.0  # give up on a frame when nobody drains the pty for this long
_WAIT_SLICE_S = 0.05


@dataclass
class Emission:
    """What the device puts on the link for one tick: optional garbage, then one frame."""

    counter: int
    data: bytes
    corrupted: bool
    garbage_bytes: int


@dataclass
class DeviceLog:
    """Counters by fate; ``sent`` are intact frames fully written to the link."""

    sent: list[int] = field(default_factory=list)
    corrupted: list[int] = field(default_factory=list)
    unsent: list[int] = field(default_factory=list)  # produced while the link was down, or write failed
    garbage_bytes: int = 0


def _sole(rows: int, cols: int, centre_row: float, centre_col: float, length: int, width: int) -> np.ndarray:
    """Relative pressure of one sole along the rows: an ellipse whose heel and forefoot press hardest."""
    r, c = np.arange(rows)[:, None] - centre_row, np.arange(cols)[None, :] - centre_col
    inside = (r / (length / 2)) ** 2 + (c / (width / 2)) ** 2 <= 1.0
    pads = sum(np.exp(-((r - offset * length) ** 2 / (0.06 * length) ** 2 + c**2 / (0.2 * width) ** 2))
               for offset in (-0.32, 0.25))  # heel, metatarsal heads
    return inside * (0.1 + pads)


class FakeMat:
    """Produces the wire bytes of a fake mat, one frame per ``next_emission`` call. Thread-safe.

    frames: optional (rows, cols) arrays, cycled; otherwise a person walking round the mat (the default load
    above, clipped to the sample type's full scale; soles shrink on a mat too small for them).
    corrupt_every / skip_every: periodic faults
    (every n-th frame gets a flipped byte / skips one counter value); 0 disables.
    """

    def __init__(
        self,
        rows: int = 24,
        cols: int = 48,
        sample_type: SampleType = SampleType.UINT16,
        frames: Sequence[np.ndarray] | None = None,
        corrupt_every: int = 0,
        skip_every: int = 0,
        seed: int = 0,
    ) -> None:
        if rows < 1 or cols < 1:
            raise ValueError(f"rows and cols must be >= 1, got {rows} x {cols}")
        if corrupt_every < 0 or skip_every < 0:
            raise ValueError(f"corrupt_every and skip_every must be >= 0, got {corrupt_every}, {skip_every}")
        self.rows, self.cols = rows, cols
        self.sample_type = SampleType(sample_type)
        self._frames = [np.asarray(frame) for frame in frames] if frames is not None else None
        if self._frames is not None:
            if not self._frames:
                raise ValueError("frames is empty")
            for frame in self._frames:
                if frame.shape != (rows, cols):
                    raise ValueError(f"frame shape {frame.shape} does not match the mat's {(rows, cols)}")
                encode_frame(frame, 0, 0, self.sample_type)  # raises ValueError now, not in the device thread
        self._corrupt_every = corrupt_every
        self._skip_every = skip_every
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()
        self._index = 0  # frames produced so far
        self._counter = 0
        self._pending_skips = 0
        self._pending_corruptions = 0
        self._pending_garbage = 0

    def skip_counters(self, count: int) -> None:
        """The next frame's counter jumps by ``count``: that many frames are lost on the device."""
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        with self._lock:
            self._pending_skips += count

    def corrupt_next(self, count: int = 1) -> None:
        """Flip one payload/trailer byte in each of the next ``count`` frames (the CRC must catch it)."""
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        with self._lock:
            self._pending_corruptions += count

    def send_garbage(self, nbytes: int) -> None:
        """Put ``nbytes`` random bytes on the link before the next frame."""
        if nbytes < 0:
            raise ValueError(f"nbytes must be >= 0, got {nbytes}")
        with self._lock:
            self._pending_garbage += nbytes

    def reset_counter(self) -> None:
        """Simulate a device reboot: the next frame has counter 0."""
        with self._lock:
            self._counter = 0

    def samples(self, index: int) -> np.ndarray:
        """Frame ``index``'s (rows, cols) samples: the caller's frames cycled, or the walking person."""
        if self._frames is not None:
            return self._frames[index % len(self._frames)]
        angle = 2 * np.pi * index / _WALK_PERIOD_FRAMES
        centre_row = (self.rows - 1) / 2 * (1 + 0.5 * np.sin(angle))
        centre_col = (self.cols - 1) / 2 * (1 + 0.5 * np.cos(angle))
        left_share = 0.5 + 0.4 * np.sin(2 * np.pi * index / _STEP_PERIOD_FRAMES)
        length = min(SOLE_CELLS[0], max(self.rows // 3, 2))
        width = min(SOLE_CELLS[1], max(self.cols // 6, 1))
        kpa = np.zeros((self.rows, self.cols))
        for side, share in ((-1, left_share), (1, 1.0 - left_share)):  # feet 1.2 sole widths apart
            sole = _sole(self.rows, self.cols, centre_row, centre_col + side * 0.6 * width, length, width)
            kpa += sole * share * BODY_WEIGHT_N / CELL_AREA_M2 / 1e3 / sole.sum()
        if self.sample_type is SampleType.FLOAT32:
            return kpa.astype(np.float32)
        return np.rint(np.minimum(kpa, SAMPLE_FULL_SCALE[self.sample_type])).astype(SAMPLE_DTYPES[self.sample_type])

    def next_emission(self, device_time_us: int) -> Emission:
        with self._lock:
            self._index += 1
            if self._skip_every and self._index % self._skip_every == 0:
                self._pending_skips += 1
            if self._corrupt_every and self._index % self._corrupt_every == 0:
                self._pending_corruptions += 1
            counter = (self._counter + self._pending_skips) % COUNTER_MODULUS
            self._counter = (counter + 1) % COUNTER_MODULUS
            self._pending_skips = 0
            corrupted = self._pending_corruptions > 0
            self._pending_corruptions -= int(corrupted)
            garbage = self._rng.integers(0, 256, self._pending_garbage, dtype=np.uint8).tobytes()
            self._pending_garbage = 0
            frame = bytearray(
                encode_frame(self.samples(self._index - 1), counter, device_time_us, self.sample_type)
            )
            if corrupted:
                # Past the header, so the header CRC passes and the frame CRC has to catch it; a single
                # damaged byte is always caught by CRC-32.
                frame[int(self._rng.integers(HEADER_SIZE, len(frame)))] ^= int(self._rng.integers(1, 256))
        return Emission(counter=counter, data=garbage + bytes(frame), corrupted=corrupted, garbage_bytes=len(garbage))


class _FakeDevice(ABC):
    """Paces a FakeMat at ``rate_hz`` on a link in a background thread; subclasses own the link."""

    def __init__(self, mat: FakeMat, rate_hz: float) -> None:
        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be > 0, got {rate_hz}")
        self.mat = mat
        self.rate_hz = rate_hz
        self._log = DeviceLog()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._disconnect_request_s: float | None = None
        self._link_is_up = False

    @abstractmethod
    def _link_up(self) -> None: ...

    @abstractmethod
    def _link_down(self) -> None: ...

    @abstractmethod
    def _send(self, data: bytes) -> bool:
        """Write all of ``data``; False if it did not fully go out."""

    def start(self) -> None:
        """Bring the link up (so its address is valid on return) and start streaming."""
        if self._thread is not None:
            raise RuntimeError("fake device already started")
        self._link_up()
        self._link_is_up = True
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> _FakeDevice:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def disconnect(self, seconds: float) -> None:
        """Drop off the link at the next tick and come back ``seconds`` later (frames meanwhile are lost)."""
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds}")
        with self._lock:
            self._disconnect_request_s = seconds

    @property
    def log(self) -> DeviceLog:
        """A copy of the device log."""
        with self._lock:
            return DeviceLog(
                sent=list(self._log.sent),
                corrupted=list(self._log.corrupted),
                unsent=list(self._log.unsent),
                garbage_bytes=self._log.garbage_bytes,
            )

    def _run(self) -> None:
        period = 1.0 / self.rate_hz
        start = next_tick = time.monotonic()
        reconnect_at: float | None = None
        try:
            while not self._stop.wait(max(0.0, next_tick - time.monotonic())):
                now = time.monotonic()
                next_tick = max(next_tick + period, now)  # after a stall, carry on instead of bursting
                with self._lock:
                    disconnect_s, self._disconnect_request_s = self._disconnect_request_s, None
                if disconnect_s is not None:
                    if self._link_is_up:
                        self._link_down()
                        self._link_is_up = False
                    reconnect_at = now + disconnect_s
                if reconnect_at is not None and now >= reconnect_at:
                    self._link_up()
                    self._link_is_up = True
                    reconnect_at = None
                emission = self.mat.next_emission(int((now - start) * 1e6))
                delivered = self._link_is_up and self._send(emission.data)
                with self._lock:
                    if not delivered:
                        self._log.unsent.append(emission.counter)
                    elif emission.corrupted:
                        self._log.corrupted.append(emission.counter)
                    else:
                        self._log.sent.append(emission.counter)
                    if delivered:
                        self._log.garbage_bytes += emission.garbage_bytes
        finally:
            if self._link_is_up:
                self._link_down()
                self._link_is_up = False


class PtyFakeMat(_FakeDevice):
    """Fake mat on a pseudo-terminal; open ``port_path`` with ``SerialSource`` (any baud rate works)."""

    def __init__(self, mat: FakeMat, rate_hz: float = 15.0) -> None:
        super().__init__(mat, rate_hz)
        self._directory = tempfile.mkdtemp(prefix="presstrack-fake-mat-")
        self.port_path = os.path.join(self._directory, "ttyFAKEMAT")
        self._master_fd: int | None = None
        self._slave_fd: int | None = None

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self._directory, ignore_errors=True)

    def _link_up(self) -> None:
        master_fd, slave_fd = os.openpty()
        tty.setraw(slave_fd)  # no echo or newline translation before the reader configures the port
        os.set_blocking(master_fd, False)
        # Holding the slave open keeps the pty alive (and its settings) while no reader has it open.
        self._master_fd, self._slave_fd = master_fd, slave_fd
        staging_path = self.port_path + ".new"
        os.symlink(os.ttyname(slave_fd), staging_path)
        os.replace(staging_path, self.port_path)

    def _link_down(self) -> None:
        try:
            os.unlink(self.port_path)
        except FileNotFoundError:
            pass
        for fd in (self._master_fd, self._slave_fd):
            if fd is not None:
                os.close(fd)
        self._master_fd = self._slave_fd = None

    def _send(self, data: bytes) -> bool:
        assert self._master_fd is not None
        remaining = memoryview(data)
        give_up_at = time.monotonic() + _PTY_WRITE_TIMEOUT_S
        while remaining:
            if self._stop.is_set() or time.monotonic() > give_up_at:
                return False
            try:
                remaining = remaining[os.write(self._master_fd, remaining) :]
            except BlockingIOError:  # pty buffer full: the reader is behind or absent
                select.select([], [self._master_fd], [], _WAIT_SLICE_S)
            except OSError:
                return False
        return True


class UdpFakeMat(_FakeDevice):
    """Fake mat sending its byte stream to a loopback ``target`` in datagrams of at most ``datagram_bytes``.

    A frame larger than a datagram is fragmented; ``disconnect`` pauses sending.
    """

    def __init__(
        self, mat: FakeMat, target: tuple[str, int], rate_hz: float = 15.0, datagram_bytes: int = 1400
    ) -> None:
        super().__init__(mat, rate_hz)
        host, port = target
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the fake mat only sends to loopback addresses, got {host}")
        if not 1 <= port <= 65535:
            raise ValueError(f"UDP port must be in [1, 65535], got {port}")
        if not 1 <= datagram_bytes <= 65507:
            raise ValueError(f"datagram_bytes must be in [1, 65507], got {datagram_bytes}")
        self.target = (host, port)
        self.datagram_bytes = datagram_bytes
        self._socket: socket.socket | None = None

    def _link_up(self) -> None:
        family = socket.AF_INET6 if ":" in self.target[0] else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_DGRAM)

    def _link_down(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _send(self, data: bytes) -> bool:
        assert self._socket is not None
        try:
            for start in range(0, len(data), self.datagram_bytes):
                self._socket.sendto(data[start : start + self.datagram_bytes], self.target)
        except OSError:  # e.g. ICMP port unreachable from an earlier datagram: nobody listening yet
            return False
        return True


def _parse_udp_target(text: str) -> tuple[str, int]:
    host, separator, port = text.rpartition(":")
    if not separator or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    host = host.strip("[]")
    try:
        is_loopback = ipaddress.ip_address(host).is_loopback
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"HOST must be a numeric loopback address, got {host!r}") from error
    if not is_loopback:
        raise argparse.ArgumentTypeError(f"the fake mat only sends to loopback addresses, got {host}")
    return host, int(port)


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """``presstrack-fake-mat``: stream fake frames over a pty (prints its path) or to a loopback UDP port."""
    parser = argparse.ArgumentParser(prog="presstrack-fake-mat", description=main.__doc__)
    link = parser.add_mutually_exclusive_group(required=True)
    link.add_argument("--pty", action="store_true", help="serve on a pseudo-terminal; prints the port path")
    link.add_argument("--udp", type=_parse_udp_target, metavar="HOST:PORT", help="send to this loopback address")
    parser.add_argument("--rate", type=float, default=15.0, help="frames per second (default 15, as MIP)")
    parser.add_argument("--rows", type=int, default=238, help="mat rows (default 238, as MIP)")
    parser.add_argument("--cols", type=int, default=120, help="mat columns (default 120, as MIP)")
    parser.add_argument(
        "--sample-type", choices=[member.name.lower() for member in SampleType], default="uint16"
    )
    parser.add_argument("--datagram-bytes", type=int, default=1400, help="largest UDP datagram (default 1400)")
    parser.add_argument("--corrupt-every", type=int, default=0, help="flip a byte in every n-th frame (0: never)")
    parser.add_argument("--skip-every", type=int, default=0, help="skip a counter value every n frames (0: never)")
    parser.add_argument("--seconds", type=float, default=0.0, help="stop after this long (0: until Ctrl-C)")
    args = parser.parse_args(argv)
    try:
        mat = FakeMat(
            args.rows,
            args.cols,
            SampleType[args.sample_type.upper()],
            corrupt_every=args.corrupt_every,
            skip_every=args.skip_every,
        )
        device: _FakeDevice = (
            PtyFakeMat(mat, args.rate)
            if args.pty
            else UdpFakeMat(mat, args.udp, args.rate, datagram_bytes=args.datagram_bytes)
        )
    except ValueError as error:
        parser.error(str(error))
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)  # clean up the pty link when a launcher stops us
    try:  # Ctrl-C may come while the device starts: stop() copes with a half-started device
        if not isinstance(device, PtyFakeMat):  # before the first frame: whoever stops us on it has seen the line
            print(f"sending to {args.udp[0]}:{args.udp[1]}", flush=True)
        device.start()
        if isinstance(device, PtyFakeMat):  # the port exists once started
            print(device.port_path, flush=True)
        if args.seconds > 0:
            time.sleep(args.seconds)
        else:
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        device.stop()
    log = device.log
    print(
        f"sent {len(log.sent)} frames, {len(log.corrupted)} corrupted, {len(log.unsent)} not delivered",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
