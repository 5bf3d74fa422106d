"""Wire format, streaming parser and frame-counter accounting."""
from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mat_driver.frame_protocol import (
    COUNTER_MODULUS,
    FRAME_OVERHEAD,
    HEADER_SIZE,
    MAGIC,
    PROTOCOL_VERSION,
    SAMPLE_DTYPES,
    FrameCounterTracker,
    FrameParser,
    SampleType,
    encode_frame,
    payload_size,
)

RNG = np.random.default_rng(7)


def random_samples(sample_type: SampleType, rows: int, cols: int) -> np.ndarray:
    if sample_type is SampleType.FLOAT32:
        return RNG.normal(50.0, 30.0, (rows, cols)).astype(np.float32)
    full_scale = {SampleType.UINT8: 255, SampleType.UINT16: 65535, SampleType.UINT12: 4095}[sample_type]
    return RNG.integers(0, full_scale + 1, (rows, cols)).astype(SAMPLE_DTYPES[sample_type])


def reseal(frame: bytes | bytearray) -> bytes:
    """Recompute both CRCs after a test edited header fields, so only the edited field is wrong."""
    frame = bytearray(frame)
    frame[28:32] = struct.pack("<I", zlib.crc32(frame[:28]))
    frame[-4:] = struct.pack("<I", zlib.crc32(frame[:-4]))
    return bytes(frame)


@pytest.mark.parametrize("sample_type", list(SampleType))
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (238, 120)])
def test_round_trip_each_sample_type(sample_type: SampleType, shape: tuple[int, int]) -> None:
    samples = random_samples(sample_type, *shape)
    wire = encode_frame(samples, counter=123456, device_time_us=2**40 + 5, sample_type=sample_type, flags=0x0102)
    assert len(wire) == FRAME_OVERHEAD + payload_size(sample_type, *shape)

    parser = FrameParser(max_rows=256, max_cols=256)
    (frame,) = parser.feed(wire)
    assert (frame.counter, frame.device_time_us, frame.rows, frame.cols) == (123456, 2**40 + 5, *shape)
    assert frame.sample_type is sample_type and frame.flags == 0x0102
    assert frame.samples.dtype == SAMPLE_DTYPES[sample_type]
    np.testing.assert_array_equal(frame.samples, samples)
    assert parser.buffered_bytes == 0 and parser.stats.frames_ok == 1 and parser.stats.bytes_discarded == 0


def test_header_layout_matches_protocol_document() -> None:
    samples = np.array([[1, 2, 3], [4, 5, 0x1234]], dtype=np.uint16)
    wire = encode_frame(samples, counter=0xA1B2C3D4, device_time_us=0x0102030405060708)
    magic, version, sample_type, flags, counter, time_us, rows, cols, length, header_crc = struct.unpack_from(
        "<4sBBHIQHHII", wire
    )
    assert HEADER_SIZE == 32
    assert (magic, version, sample_type, flags) == (b"PTMF", PROTOCOL_VERSION, 1, 0)
    assert (counter, time_us, rows, cols, length) == (0xA1B2C3D4, 0x0102030405060708, 2, 3, 12)
    assert header_crc == zlib.crc32(wire[:28])
    assert wire[32:44] == samples.astype("<u2").tobytes()  # row-major little endian
    assert struct.unpack("<I", wire[-4:])[0] == zlib.crc32(wire[:-4])


def test_uint12_packing_is_three_bytes_per_two_samples() -> None:
    wire = encode_frame(np.array([[0xABC, 0x123, 0xFFF]]), 0, 0, SampleType.UINT12)
    assert wire[HEADER_SIZE:-4] == bytes([0xBC, 0x3A, 0x12, 0xFF, 0x0F, 0x00])


def test_float32_passes_non_finite_values_through() -> None:
    samples = np.array([[np.nan, np.inf, -1.5]], dtype=np.float32)
    (frame,) = FrameParser().feed(encode_frame(samples, 0, 0))
    np.testing.assert_array_equal(frame.samples, samples)


@pytest.mark.parametrize(
    ("samples", "kwargs", "message"),
    [
        (np.zeros(4, np.uint8), {}, "2-D"),
        (np.zeros((0, 4), np.uint8), {}, "rows and cols"),
        (np.zeros((2, 2), np.int64), {}, "cannot infer"),
        (np.full((2, 2), 256), {"sample_type": SampleType.UINT8}, r"\[0, 255\]"),
        (np.full((2, 2), 4096), {"sample_type": SampleType.UINT12}, r"\[0, 4095\]"),
        (np.full((2, 2), -1), {"sample_type": SampleType.UINT16}, r"\[0, 65535\]"),
        (np.zeros((2, 2), np.float32), {"sample_type": SampleType.UINT16}, "integer samples"),
        (np.zeros((2, 2), np.uint8), {"counter": 2**32}, "counter"),
        (np.zeros((2, 2), np.uint8), {"device_time_us": -1}, "device_time_us"),
        (np.zeros((2, 2), np.uint8), {"flags": 2**16}, "flags"),
    ],
)
def test_encode_rejects_bad_input(samples: np.ndarray, kwargs: dict, message: str) -> None:
    arguments = {"counter": 0, "device_time_us": 0} | kwargs
    with pytest.raises(ValueError, match=message):
        encode_frame(samples, **arguments)


def stream_of(count: int, start_counter: int = 0) -> tuple[list[bytes], list[np.ndarray]]:
    samples = [random_samples(SampleType.UINT16, 4, 6) for _ in range(count)]
    return [encode_frame(s, start_counter + i, 1000 * i) for i, s in enumerate(samples)], samples


def test_resynchronises_after_garbage_and_partial_frames() -> None:
    frames, samples = stream_of(3)
    garbage = RNG.integers(0, 256, 500, dtype=np.uint8).tobytes()
    stream = garbage + frames[0] + b"PTMF" + frames[1][:20] + MAGIC + frames[1] + garbage[:7] + frames[2]
    parser = FrameParser()
    decoded = parser.feed(stream)
    assert [frame.counter for frame in decoded] == [0, 1, 2]
    for frame, expected in zip(decoded, samples):
        np.testing.assert_array_equal(frame.samples, expected)
    assert parser.buffered_bytes == 0


def test_truncated_frame_followed_by_good_frames() -> None:
    """A frame cut short (link dropped mid-frame) costs only itself: the CRC fails and the parser rescans."""
    frames, _ = stream_of(4)
    parser = FrameParser()
    decoded = parser.feed(frames[0][:-10] + frames[1] + frames[2] + frames[3])
    assert [frame.counter for frame in decoded] == [1, 2, 3]
    assert parser.stats.bad_crc == 1


def test_corrupted_payload_is_rejected_by_crc() -> None:
    frames, _ = stream_of(3)
    corrupt = bytearray(frames[1])
    corrupt[HEADER_SIZE + 5] ^= 0x40
    parser = FrameParser()
    assert [frame.counter for frame in parser.feed(frames[0] + bytes(corrupt) + frames[2])] == [0, 2]
    assert parser.stats.bad_crc == 1 and parser.stats.frames_rejected == 1


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0), xor=st.integers(min_value=1, max_value=255))
def test_any_single_flipped_byte_loses_only_that_frame(position: int, xor: int) -> None:
    frames, _ = stream_of(3)
    corrupt = bytearray(frames[1])
    corrupt[position % len(corrupt)] ^= xor
    decoded = FrameParser().feed(frames[0] + bytes(corrupt) + frames[2])
    assert [frame.counter for frame in decoded] == [0, 2]


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), flips=st.integers(2, 20))
def test_randomly_flipped_bytes_never_yield_a_wrong_frame(seed: int, flips: int) -> None:
    rng = np.random.default_rng(seed)
    frames, samples = stream_of(5)
    stream = bytearray(b"".join(frames))
    for position in rng.integers(0, len(stream), flips):
        stream[position] ^= int(rng.integers(1, 256))
    for frame in FrameParser().feed(bytes(stream)):
        np.testing.assert_array_equal(frame.samples, samples[frame.counter])


def header_with(**fields: int) -> bytes:
    """A resealed frame of 2x3 uint16 samples with some header fields overwritten."""
    values = {"version": PROTOCOL_VERSION, "sample_type": 1, "rows": 2, "cols": 3, "length": 12} | fields
    frame = bytearray(encode_frame(np.zeros((2, 3), np.uint16), 9, 0))
    frame[4] = values["version"]
    frame[5] = values["sample_type"]
    frame[20:28] = struct.pack("<HHI", values["rows"], values["cols"], values["length"])
    return reseal(frame)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"version": 2}, "bad_version"),
        ({"sample_type": 9}, "bad_sample_type"),
        ({"rows": 0}, "bad_dimensions"),
        ({"cols": 5000}, "bad_dimensions"),
        ({"length": 13}, "bad_length"),
    ],
)
def test_bad_headers_are_counted_by_reason(fields: dict[str, int], reason: str) -> None:
    good, _ = stream_of(1)
    parser = FrameParser(max_rows=1024, max_cols=1024)
    decoded = parser.feed(header_with(**fields) + good[0])
    assert [frame.counter for frame in decoded] == [0]
    assert getattr(parser.stats, reason) == 1 and parser.stats.frames_rejected == 1


def test_damaged_length_field_is_rejected_without_waiting() -> None:
    """The header CRC stops a corrupt payload_length from swallowing the frames behind it."""
    frames, _ = stream_of(2)
    corrupt = bytearray(frames[0])
    corrupt[26] ^= 0x01  # payload_length claims 64 KiB more
    parser = FrameParser()
    assert [frame.counter for frame in parser.feed(bytes(corrupt) + frames[1])] == [1]
    assert parser.stats.bad_header_crc == 1 and parser.buffered_bytes == 0


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=st.lists(st.binary(max_size=300), max_size=30))
def test_random_bytes_never_crash_and_memory_stays_bounded(chunks: list[bytes]) -> None:
    parser = FrameParser(max_rows=16, max_cols=16)
    for chunk in chunks:
        parser.feed(chunk)
        assert parser.buffered_bytes <= parser.max_frame_bytes
    assert parser.stats.bytes_fed == sum(map(len, chunks))


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_frames_survive_any_chunking_and_interleaved_garbage(data: st.DataObject) -> None:
    frames, samples = stream_of(4)
    pieces = []
    for frame in frames:
        pieces.append(data.draw(st.binary(max_size=60), label="garbage"))
        pieces.append(frame)
    stream = b"".join(pieces)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=20), label="cuts"))
    parser = FrameParser()
    decoded = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)]):
        decoded += parser.feed(stream[start:end])
    assert [frame.counter for frame in decoded] == [0, 1, 2, 3]
    for frame in decoded:
        np.testing.assert_array_equal(frame.samples, samples[frame.counter])


def test_huge_garbage_input_keeps_buffer_small() -> None:
    parser = FrameParser(max_rows=8, max_cols=8)
    garbage = bytes(10_000_000)
    assert parser.feed(garbage) == []
    assert parser.buffered_bytes <= len(MAGIC) - 1
    assert parser.stats.bytes_discarded == len(garbage) - parser.buffered_bytes


def test_reset_drops_partial_frame_but_keeps_stats() -> None:
    frames, _ = stream_of(2)
    parser = FrameParser()
    parser.feed(frames[0] + frames[1][:30])
    parser.reset()
    assert parser.buffered_bytes == 0 and parser.stats.bytes_discarded == 30 and parser.stats.frames_ok == 1
    assert parser.feed(frames[1][30:]) == []


def test_parser_rejects_bad_limits() -> None:
    with pytest.raises(ValueError, match="max_rows"):
        FrameParser(max_rows=0)


def test_counter_tracker_counts_gaps() -> None:
    tracker = FrameCounterTracker()
    assert [tracker.update(c) for c in [10, 11, 12, 15, 16, 20]] == [0, 0, 0, 2, 0, 3]
    assert tracker.stats.frames_received == 6 and tracker.stats.frames_lost == 5
    assert tracker.stats.device_resets == 0


def test_counter_tracker_handles_wrap_around() -> None:
    tracker = FrameCounterTracker()
    top = COUNTER_MODULUS - 1
    assert [tracker.update(c) for c in [top - 2, top, 0, 1, 4]] == [0, 1, 0, 0, 2]
    assert tracker.stats.frames_lost == 3 and tracker.stats.device_resets == 0


def test_counter_tracker_detects_device_reset_and_duplicates() -> None:
    tracker = FrameCounterTracker()
    lost = [tracker.update(c) for c in [500, 501, 501, 0, 1, 2, 3, 900, 2]]
    # 501 again: duplicate; 0: reset, nothing lost; 900 -> 2: second reset, frames 0 and 1 lost.
    assert lost == [0, 0, 0, 0, 0, 0, 0, 896, 2]
    assert tracker.stats.device_resets == 2 and tracker.stats.duplicates == 1
    assert tracker.stats.frames_lost == 898 and tracker.stats.frames_received == 9


def test_counter_tracker_rejects_out_of_range_counter() -> None:
    with pytest.raises(ValueError, match="frame counter"):
        FrameCounterTracker().update(-1)
