"""The fake mat: frame content, fault injection, link validation, and its command line."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mat_driver.calibration import Calibration
from mat_driver.fake_device import BODY_WEIGHT_N, FakeMat, PtyFakeMat, UdpFakeMat
from mat_driver.frame_protocol import SAMPLE_DTYPES, SAMPLE_FULL_SCALE, FrameCounterTracker, FrameParser, SampleType
from mat_driver.transports import SerialSource, UdpSource

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
GIVE_UP_S = 10.0


def parse_emissions(mat: FakeMat, count: int, parser: FrameParser) -> list:
    frames = []
    for tick in range(count):
        frames += parser.feed(mat.next_emission(device_time_us=1000 * tick).data)
    return frames


@pytest.mark.parametrize("sample_type", list(SampleType))
def test_default_frames_fit_the_sample_type_and_move(sample_type: SampleType) -> None:
    mat = FakeMat(rows=20, cols=30, sample_type=sample_type)
    first, later = mat.samples(0), mat.samples(15)
    assert first.shape == (20, 30) and first.dtype == SAMPLE_DTYPES[sample_type]
    assert 0 <= first.min() and 0 < first.max() <= SAMPLE_FULL_SCALE.get(sample_type, np.inf)
    assert np.unravel_index(first.argmax(), first.shape) != np.unravel_index(later.argmax(), later.shape)


@pytest.mark.parametrize("sample_type", [SampleType.UINT16, SampleType.FLOAT32])
def test_the_default_load_is_a_person_the_drivers_defaults_read_without_saturating(sample_type: SampleType) -> None:
    """On a MIP-sized mat with the driver's default calibration (1 kPa per count, 1 kPa floor, 600 kPa full
    scale): a body weight of force, on a few hundred cells, none saturated."""
    mat = FakeMat(rows=238, cols=120, sample_type=sample_type)
    calibration = Calibration.identity(238, 120, kpa_per_raw=1.0, noise_floor_kpa=1.0, full_scale_kpa=600.0)
    for index in range(0, 60, 7):
        kpa = calibration.apply(mat.samples(index))
        assert calibration.last_stats.saturated_cells == 0
        assert 100.0 < kpa.max() < 400.0, "peaks of barefoot walking"
        assert 200 < np.count_nonzero(kpa) < 800, "two soles of 25 x 9 cm"
        assert np.sum(kpa) * 1e3 * 1e-4 == pytest.approx(BODY_WEIGHT_N, rel=0.05)


def test_emissions_parse_back_in_order_with_device_time() -> None:
    mat = FakeMat(rows=5, cols=7, sample_type=SampleType.UINT12)
    frames = parse_emissions(mat, 4, FrameParser())
    assert [(frame.counter, frame.device_time_us) for frame in frames] == [(0, 0), (1, 1000), (2, 2000), (3, 3000)]
    for frame in frames:
        np.testing.assert_array_equal(frame.samples, mat.samples(frame.counter))


def test_injected_faults_show_up_in_the_receivers_accounting() -> None:
    mat = FakeMat(rows=4, cols=4)
    parser, tracker = FrameParser(), FrameCounterTracker()
    parse_emissions(mat, 3, parser)  # counters 0, 1, 2
    mat.skip_counters(4)  # counters 3..6 never sent
    mat.corrupt_next(2)
    mat.send_garbage(500)
    corrupted = [mat.next_emission(0) for _ in range(2)]
    assert [emission.counter for emission in corrupted] == [7, 8] and all(e.corrupted for e in corrupted)
    assert corrupted[0].garbage_bytes == 500 and corrupted[1].garbage_bytes == 0
    assert parser.feed(b"".join(emission.data for emission in corrupted)) == []
    mat.reset_counter()
    frames = parse_emissions(mat, 2, parser)
    assert [frame.counter for frame in frames] == [0, 1]
    assert parser.stats.bad_crc == 2 and parser.stats.bytes_discarded >= 500

    for counter in [0, 1, 2, 9, 10, 0, 1]:
        tracker.update(counter)
    assert tracker.stats.frames_lost == 6 and tracker.stats.device_resets == 1


def test_periodic_faults() -> None:
    mat = FakeMat(rows=3, cols=3, corrupt_every=4, skip_every=5)
    parser = FrameParser()
    counters = [frame.counter for frame in parse_emissions(mat, 10, parser)]
    # Frames 4 and 8 (1-based) are corrupted; frames 5 and 10 skip one counter value first.
    assert counters == [0, 1, 2, 5, 6, 7, 9, 11]
    assert parser.stats.bad_crc == 2


def test_caller_frames_are_cycled() -> None:
    frames = [np.full((2, 3), value, np.uint8) for value in (10, 20)]
    mat = FakeMat(rows=2, cols=3, sample_type=SampleType.UINT8, frames=frames)
    decoded = parse_emissions(mat, 3, FrameParser())
    assert [int(frame.samples[0, 0]) for frame in decoded] == [10, 20, 10]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rows": 0}, "rows and cols"),
        ({"frames": []}, "frames is empty"),
        ({"frames": [np.zeros((3, 3), np.uint16)]}, "does not match"),
        ({"frames": [np.full((2, 3), 70000)]}, r"\[0, 65535\]"),
        ({"corrupt_every": -1}, "corrupt_every"),
    ],
)
def test_fake_mat_validation(kwargs: dict, message: str) -> None:
    arguments = {"rows": 2, "cols": 3} | kwargs
    with pytest.raises(ValueError, match=message):
        FakeMat(**arguments)


def test_udp_fake_only_sends_to_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        UdpFakeMat(FakeMat(), ("192.168.1.10", 5005))
    with pytest.raises(ValueError, match="datagram_bytes"):
        UdpFakeMat(FakeMat(), ("127.0.0.1", 5005), datagram_bytes=70000)


def test_pty_fake_cleans_up_its_port_link() -> None:
    with PtyFakeMat(FakeMat(rows=2, cols=2), rate_hz=50.0) as device:
        assert os.path.realpath(device.port_path).startswith("/dev/pts/")
    assert not os.path.exists(os.path.dirname(device.port_path))


def fake_mat_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "mat_driver.fake_device", *arguments]


def child_environment() -> dict[str, str]:
    return os.environ | {"PYTHONPATH": os.pathsep.join([str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")])}


def test_cli_streams_over_udp() -> None:
    with UdpSource("127.0.0.1", 0) as source:
        host, port = source.bound_address
        command = fake_mat_command("--udp", f"{host}:{port}", "--rows", "4", "--cols", "6", "--rate", "100",
                                   "--seconds", "3")
        with subprocess.Popen(command, env=child_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) as process:
            frame = source.read(timeout=GIVE_UP_S)
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=GIVE_UP_S)
    assert frame is not None and frame.samples.shape == (4, 6) and frame.sample_type is SampleType.UINT16
    assert process.returncode == 0, stderr
    assert stdout.startswith(f"sending to {host}:{port}") and "frames" in stderr


def test_cli_serves_a_pty_and_prints_its_path() -> None:
    command = fake_mat_command("--pty", "--rows", "3", "--cols", "5", "--rate", "100", "--sample-type", "uint12")
    with subprocess.Popen(command, env=child_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as process:
        assert process.stdout is not None
        port_path = process.stdout.readline().strip()
        with SerialSource(port_path) as source:
            frame = source.read(timeout=GIVE_UP_S)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=GIVE_UP_S)
    assert frame is not None and frame.samples.shape == (3, 5) and frame.sample_type is SampleType.UINT12
    assert process.returncode == 0, stderr


def test_cli_rejects_a_non_loopback_target() -> None:
    result = subprocess.run(fake_mat_command("--udp", "10.0.0.5:5005"), env=child_environment(),
                            capture_output=True, text=True, timeout=GIVE_UP_S)
    assert result.returncode == 2 and "loopback" in result.stderr
