"""SerialSource through a pty and UdpSource through loopback, against the fake mat."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from mat_driver.fake_device import FakeMat, PtyFakeMat, UdpFakeMat
from mat_driver.frame_protocol import Frame, encode_frame
from mat_driver.transports import ReconnectBackoff, SerialSource, SourceState, UdpSource, _LinkSource

RATE_HZ = 200.0
GIVE_UP_S = 10.0  # generous: only guards against hanging, never a timing assertion


def read_until(
    source: SerialSource | UdpSource, done: Callable[[list[Frame]], bool], frames: list[Frame] | None = None
) -> list[Frame]:
    frames = [] if frames is None else frames
    give_up_at = time.monotonic() + GIVE_UP_S
    while not done(frames):
        assert time.monotonic() < give_up_at, f"gave up waiting; state {source.state}, stats {source.stats}"
        frame = source.read(timeout=0.2)
        if frame is not None:
            frames.append(frame)
    return frames


def resumed_after_outage(device: PtyFakeMat | UdpFakeMat) -> Callable[[list[Frame]], bool]:
    """True once a frame newer than every frame the device produced while its link was down arrived."""

    def done(frames: list[Frame]) -> bool:
        unsent = device.log.unsent
        return bool(unsent and frames) and frames[-1].counter > max(unsent)

    return done


def assert_accounting(frames: list[Frame], source: SerialSource | UdpSource, sent: list[int]) -> None:
    """Received counters increase, all were sent intact, and every gap is counted as lost."""
    counters = [frame.counter for frame in frames]
    assert counters == sorted(set(counters))
    assert set(counters) <= set(sent)
    stats = source.stats.counters
    assert stats.frames_received == len(counters)
    assert stats.frames_lost == counters[-1] - counters[0] + 1 - len(counters)
    assert stats.device_resets == 0 and stats.duplicates == 0


def test_serial_source_reconnects_after_device_disconnect() -> None:
    mat = FakeMat(rows=8, cols=12)
    states: list[SourceState] = []
    with PtyFakeMat(mat, RATE_HZ) as device:
        source = SerialSource(device.port_path, 115200, min_backoff_s=0.02, max_backoff_s=0.1,
                              on_state_change=states.append)
        with source:
            frames = read_until(source, lambda got: len(got) >= 20)
            device.disconnect(0.3)
            read_until(source, resumed_after_outage(device), frames)
    log, stats = device.log, source.stats  # after both stopped: the device's log is complete
    assert states[:2] == [SourceState.CONNECTING, SourceState.STREAMING]
    after_first_stream = states[2:]
    assert after_first_stream[0] is SourceState.DISCONNECTED
    assert SourceState.RECONNECTING in after_first_stream
    assert after_first_stream[-2:] == [SourceState.STREAMING, SourceState.STOPPED]
    assert stats.disconnects == 1 and stats.connects == 2
    assert_accounting(frames, source, log.sent)
    assert stats.counters.frames_lost >= len(log.unsent)
    for frame in frames:  # no skips: frame index == counter
        np.testing.assert_array_equal(frame.samples, mat.samples(frame.counter))


def test_serial_source_rejects_corrupt_frames_and_counts_skips() -> None:
    mat = FakeMat(rows=6, cols=10)
    with PtyFakeMat(mat, RATE_HZ) as device:
        with SerialSource(device.port_path, min_backoff_s=0.02) as source:
            frames = read_until(source, lambda got: len(got) >= 5)
            mat.corrupt_next(3)
            mat.skip_counters(7)
            mat.send_garbage(1000)
            read_until(source, lambda got: len(got) >= 40, frames)
    log, stats = device.log, source.stats
    assert len(log.corrupted) == 3 and stats.parser.bad_crc == 3
    assert not set(log.corrupted) & {frame.counter for frame in frames}
    assert stats.parser.bytes_discarded >= 1000
    assert_accounting(frames, source, log.sent)
    assert stats.counters.frames_lost >= 7 + 3


class ScriptedSource(_LinkSource):
    """A link whose receives follow a script: bytes are delivered, an OSError instance is raised."""

    def __init__(self, script: list[bytes | OSError]) -> None:
        super().__init__(min_backoff_s=0.001, max_backoff_s=0.001, stale_after_s=10.0, max_rows=64, max_cols=64,
                         on_state_change=None)
        self.script = script

    def _open_link(self) -> None:
        pass

    def _receive(self, timeout: float) -> bytes:
        step = self.script.pop(0) if self.script else b""
        if isinstance(step, OSError):
            raise step
        return step

    def _close_link(self) -> None:
        pass


def test_a_frame_cut_by_a_link_loss_is_dropped_not_joined_to_the_next_link() -> None:
    frames = [encode_frame(np.full((2, 2), i, np.uint8), i, i) for i in range(3)]
    source = ScriptedSource([frames[0], frames[1][:9], OSError("cable pulled"), frames[2]])
    with source:
        received = [source.read(timeout=1.0) for _ in range(2)]
        stats = source.stats
    assert [frame.counter for frame in received] == [0, 2]
    assert stats.disconnects == 1 and stats.connects == 2 and stats.last_error == "link lost: cable pulled"
    assert stats.parser.frames_rejected == 0 and stats.parser.bytes_discarded == 9
    assert stats.counters.frames_lost == 1


def test_serial_source_backs_off_while_the_port_is_missing() -> None:
    states: list[SourceState] = []
    source = SerialSource("/nonexistent/ttyMAT", min_backoff_s=0.01, max_backoff_s=0.04,
                          on_state_change=states.append)
    source.start()
    assert source.state is SourceState.DISCONNECTED
    give_up_at = time.monotonic() + GIVE_UP_S
    while source.stats.open_failures < 4:
        assert time.monotonic() < give_up_at
        assert source.read(timeout=0.05) is None
    source.stop()
    stats = source.stats
    assert "/nonexistent/ttyMAT" in stats.last_error and stats.connects == 0
    assert states[:4] == [SourceState.CONNECTING, SourceState.DISCONNECTED,
                          SourceState.CONNECTING, SourceState.DISCONNECTED]
    assert states[-1] is SourceState.STOPPED and source.read(timeout=0.1) is None


def test_stop_from_another_thread_ends_a_blocking_read() -> None:
    source = UdpSource("127.0.0.1", 0)
    source.start()
    results: list[Frame | None] = []
    reader = threading.Thread(target=lambda: results.append(source.read(timeout=60.0)))
    reader.start()
    time.sleep(0.1)
    source.stop()
    reader.join(timeout=GIVE_UP_S)
    assert not reader.is_alive() and results == [None]
    assert source.state is SourceState.STOPPED and source.bound_address is None


def test_udp_source_reassembles_fragments_survives_corruption_and_pause() -> None:
    mat = FakeMat(rows=8, cols=12)
    states: list[SourceState] = []
    with UdpSource("127.0.0.1", 0, stale_after_s=0.2, on_state_change=states.append) as source:
        assert source.bound_address is not None
        # 8x12 uint16 frames are 228 bytes: every frame arrives in three datagrams.
        with UdpFakeMat(mat, source.bound_address, RATE_HZ, datagram_bytes=100) as device:
            frames = read_until(source, lambda got: len(got) >= 10)
            mat.corrupt_next(3)
            read_until(source, lambda got: len(got) >= 20, frames)
            device.disconnect(0.6)
            read_until(source, resumed_after_outage(device), frames)
    log, stats = device.log, source.stats
    assert stats.parser.bad_crc == len(log.corrupted) == 3
    assert_accounting(frames, source, log.sent)
    # The pause is a stall (a loaded machine may add more); each stall ends in streaming again.
    assert stats.stalls >= 1 and stats.disconnects == 0
    assert states[:2] == [SourceState.CONNECTING, SourceState.STREAMING]
    assert states[2:] == [SourceState.DISCONNECTED, SourceState.STREAMING] * stats.stalls + [SourceState.STOPPED]
    for frame in frames:
        np.testing.assert_array_equal(frame.samples, mat.samples(frame.counter))


def test_udp_datagram_with_several_frames_and_a_split_frame() -> None:
    frames = [encode_frame(np.full((3, 4), i, np.uint8), i, i) for i in range(5)]
    with UdpSource("127.0.0.1", 0) as source, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        assert source.bound_address is not None
        sender.sendto(frames[0] + frames[1] + frames[2] + frames[3][:10], source.bound_address)
        sender.sendto(frames[3][10:] + frames[4], source.bound_address)
        received = read_until(source, lambda got: len(got) >= 5)
    assert [frame.counter for frame in received] == [0, 1, 2, 3, 4]
    assert all((frame.samples == frame.counter).all() for frame in received)


def test_udp_source_retries_a_port_in_use() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as blocker:
        blocker.bind(("127.0.0.1", 0))
        port = blocker.getsockname()[1]
        source = UdpSource("127.0.0.1", port, min_backoff_s=0.01)
        source.start()
        assert source.state is SourceState.DISCONNECTED and source.stats.open_failures == 1
    give_up_at = time.monotonic() + GIVE_UP_S
    while source.bound_address is None:
        assert time.monotonic() < give_up_at
        source.read(timeout=0.05)
    assert source.bound_address == ("127.0.0.1", port) and source.state is SourceState.CONNECTING
    source.stop()


def test_backoff_doubles_up_to_the_cap_and_resets() -> None:
    backoff = ReconnectBackoff(min_s=0.1, max_s=1.0)
    assert [backoff.next_delay() for _ in range(6)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    backoff.reset()
    assert backoff.next_delay() == 0.1


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: SerialSource(""), "port path is empty"),
        (lambda: SerialSource("/dev/ttyX", 0), "baudrate"),
        (lambda: SerialSource("/dev/ttyX", stale_after_s=0), "stale_after_s"),
        (lambda: SerialSource("/dev/ttyX", min_backoff_s=2, max_backoff_s=1), "min_s <= max_s"),
        (lambda: UdpSource(port=70000), "UDP port"),
        (lambda: UdpSource(receive_buffer_bytes=0), "receive_buffer_bytes"),
    ],
)
def test_constructor_validation(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_read_rejects_negative_timeout() -> None:
    with pytest.raises(ValueError, match="timeout"):
        UdpSource("127.0.0.1", 0).read(timeout=-1)
