"""Binary frame protocol spoken by a pressure mat's microcontroller over serial or UDP.

Wire format (version 1, all integers little endian; full description in ``mat_driver/PROTOCOL.md``)::

    offset size  field
         0    4  magic            b"PTMF"
         4    1  version          1
         5    1  sample_type      0=uint8, 1=uint16, 2=float32, 3=uint12 packed
         6    2  flags            reserved, sender writes 0, receiver passes it through
         8    4  counter          frame counter, +1 per frame, wraps at 2**32, 0 after a device reset
        12    8  device_time_us   device clock in microseconds
        20    2  rows
        22    2  cols
        24    4  payload_length   bytes of payload that follow the header
        28    4  header_crc       zlib.crc32 of bytes 0..27
        32    N  payload          rows x cols samples, row-major
      32+N    4  frame_crc        zlib.crc32 of bytes 0..32+N-1 (header with its CRC, and payload)

Why a header CRC: the parser must trust ``payload_length`` before the frame CRC can be checked. Without
a header check, one flipped bit in that field makes the parser wait for (and swallow) up to the largest
allowed frame of following good data before the frame CRC finally fails. With it, a damaged header is
rejected as soon as its 32 bytes are in, and resynchronisation starts at once; it costs 4 bytes per
frame. It also lets the statistics tell line noise (CRC failures) from a misconfigured sender (a
header whose CRC is right but whose sample type or dimensions are not accepted).
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, fields
from enum import IntEnum

import numpy as np

MAGIC = b"PTMF"
PROTOCOL_VERSION = 1

_HEADER_BODY = struct.Struct("<4sBBHIQHHI")  # magic .. payload_length
_CRC = struct.Struct("<I")
HEADER_SIZE = _HEADER_BODY.size + _CRC.size  # 32 bytes, header CRC included
TRAILER_SIZE = _CRC.size
FRAME_OVERHEAD = HEADER_SIZE + TRAILER_SIZE

COUNTER_MODULUS = 2**32
MAX_DIMENSION = 2**16 - 1
DEFAULT_MAX_ROWS = 1024
DEFAULT_MAX_COLS = 1024

UINT12_MAX = 4095


class SampleType(IntEnum):
    """How each cell is encoded in the payload."""

    UINT8 = 0
    UINT16 = 1
    FLOAT32 = 2
    UINT12 = 3  # two 12-bit samples in 3 bytes, for 12-bit ADCs: 25 % less bandwidth than uint16


# Decoded dtype per sample type (uint12 is unpacked to uint16).
SAMPLE_DTYPES: dict[SampleType, np.dtype] = {
    SampleType.UINT8: np.dtype(np.uint8),
    SampleType.UINT16: np.dtype(np.uint16),
    SampleType.FLOAT32: np.dtype(np.float32),
    SampleType.UINT12: np.dtype(np.uint16),
}

# Largest raw value per integer sample type (float32 has no fixed full scale).
SAMPLE_FULL_SCALE: dict[SampleType, int] = {
    SampleType.UINT8: 255,
    SampleType.UINT16: 65535,
    SampleType.UINT12: UINT12_MAX,
}

_WIRE_DTYPES: dict[SampleType, np.dtype] = {
    SampleType.UINT8: np.dtype("<u1"),
    SampleType.UINT16: np.dtype("<u2"),
    SampleType.FLOAT32: np.dtype("<f4"),
}


def payload_size(sample_type: SampleType, rows: int, cols: int) -> int:
    """Payload bytes for a rows x cols frame of ``sample_type``."""
    cells = rows * cols
    if sample_type is SampleType.UINT12:
        return 3 * ((cells + 1) // 2)
    return cells * _WIRE_DTYPES[sample_type].itemsize


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded mat frame.

    samples: (rows, cols) array, dtype ``SAMPLE_DTYPES[sample_type]``, raw sensor units, row-major as sent.
    """

    counter: int
    device_time_us: int
    rows: int
    cols: int
    samples: np.ndarray
    sample_type: SampleType
    flags: int = 0


def _pack_uint12(values: np.ndarray) -> bytes:
    """Pack a flat uint16 array (values <= 4095) two per 3 bytes: aaaaaaaa bbbbAAAA BBBBBBBB (low first)."""
    if values.size % 2:
        values = np.append(values, np.uint16(0))
    pairs = values.reshape(-1, 2).astype(np.uint16)
    first, second = pairs[:, 0], pairs[:, 1]
    packed = np.empty((pairs.shape[0], 3), dtype=np.uint8)
    packed[:, 0] = first & 0xFF
    packed[:, 1] = (first >> 8) | ((second & 0x0F) << 4)
    packed[:, 2] = second >> 4
    return packed.tobytes()


def _unpack_uint12(payload: bytes | memoryview, cells: int) -> np.ndarray:
    """Inverse of ``_pack_uint12``: flat uint16 array of ``cells`` samples."""
    packed = np.frombuffer(payload, dtype=np.uint8).reshape(-1, 3).astype(np.uint16)
    values = np.empty((packed.shape[0], 2), dtype=np.uint16)
    values[:, 0] = packed[:, 0] | ((packed[:, 1] & 0x0F) << 8)
    values[:, 1] = (packed[:, 1] >> 4) | (packed[:, 2] << 4)
    return values.reshape(-1)[:cells]


def _infer_sample_type(samples: np.ndarray) -> SampleType:
    for sample_type in (SampleType.UINT8, SampleType.UINT16, SampleType.FLOAT32):
        if samples.dtype == SAMPLE_DTYPES[sample_type]:
            return sample_type
    raise ValueError(
        f"cannot infer the sample type from dtype {samples.dtype}; pass sample_type explicitly "
        "(uint8, uint16 and float32 arrays are inferred)"
    )


def _wire_samples(samples: np.ndarray, sample_type: SampleType) -> np.ndarray:
    """Samples converted to the wire dtype, after checking they fit it."""
    if sample_type is SampleType.FLOAT32:
        if not (np.issubdtype(samples.dtype, np.floating) or np.issubdtype(samples.dtype, np.integer)):
            raise ValueError(f"float32 frames need real-valued samples, got dtype {samples.dtype}")
        return samples.astype(_WIRE_DTYPES[SampleType.FLOAT32])
    if not np.issubdtype(samples.dtype, np.integer):
        raise ValueError(f"{sample_type.name} frames need integer samples, got dtype {samples.dtype}")
    full_scale = SAMPLE_FULL_SCALE[sample_type]
    if samples.size and (samples.min() < 0 or samples.max() > full_scale):
        raise ValueError(
            f"{sample_type.name} samples must lie in [0, {full_scale}], "
            f"got [{samples.min()}, {samples.max()}]"
        )
    if sample_type is SampleType.UINT12:
        return samples.astype(np.uint16)
    return samples.astype(_WIRE_DTYPES[sample_type])


def encode_frame(
    samples: np.ndarray,
    counter: int,
    device_time_us: int,
    sample_type: SampleType | None = None,
    flags: int = 0,
) -> bytes:
    """Encode one frame to wire bytes.

    samples: (rows, cols) array in raw sensor units. ``sample_type`` is inferred from uint8 / uint16 /
    float32 arrays; it must be given for uint12 and for other integer dtypes. Raises ValueError when the
    samples do not fit the sample type or a header field is out of range.
    """
    samples = np.asarray(samples)
    if samples.ndim != 2:
        raise ValueError(f"samples must be a 2-D (rows, cols) array, got shape {samples.shape}")
    rows, cols = samples.shape
    if not (1 <= rows <= MAX_DIMENSION and 1 <= cols <= MAX_DIMENSION):
        raise ValueError(f"rows and cols must be in [1, {MAX_DIMENSION}], got {rows} x {cols}")
    if not 0 <= counter < COUNTER_MODULUS:
        raise ValueError(f"counter must be in [0, 2**32), got {counter}")
    if not 0 <= device_time_us < 2**64:
        raise ValueError(f"device_time_us must be in [0, 2**64), got {device_time_us}")
    if not 0 <= flags < 2**16:
        raise ValueError(f"flags must be in [0, 2**16), got {flags}")
    sample_type = _infer_sample_type(samples) if sample_type is None else SampleType(sample_type)
    wire = _wire_samples(samples, sample_type)
    payload = _pack_uint12(wire.reshape(-1)) if sample_type is SampleType.UINT12 else wire.tobytes(order="C")
    header_body = _HEADER_BODY.pack(
        MAGIC, PROTOCOL_VERSION, int(sample_type), flags, counter, device_time_us, rows, cols, len(payload)
    )
    header = header_body + _CRC.pack(zlib.crc32(header_body))
    body = header + payload
    return body + _CRC.pack(zlib.crc32(body))


@dataclass
class ParserStats:
    """Counts kept by ``FrameParser``; every rejected frame candidate lands in exactly one bad_* field."""

    frames_ok: int = 0
    bytes_fed: int = 0
    bytes_discarded: int = 0  # bytes dropped while searching for a frame start, or on reset()
    bad_version: int = 0
    bad_header_crc: int = 0
    bad_sample_type: int = 0
    bad_dimensions: int = 0  # rows or cols of 0 or above the parser's limits
    bad_length: int = 0  # payload_length disagrees with sample_type, rows and cols
    bad_crc: int = 0  # frame CRC mismatch: payload (or trailer) damaged

    @property
    def frames_rejected(self) -> int:
        return (
            self.bad_version
            + self.bad_header_crc
            + self.bad_sample_type
            + self.bad_dimensions
            + self.bad_length
            + self.bad_crc
        )

    def copy(self) -> ParserStats:
        return ParserStats(**{field.name: getattr(self, field.name) for field in fields(self)})


class FrameParser:
    """Streaming parser: feed it bytes in any chunking, get back the valid frames they complete.

    On a bad candidate (wrong version, header CRC, sample type, dimensions, length, or frame CRC) it
    skips one byte past that magic and searches again, so a good frame right behind garbage or a damaged
    frame is still found. Bytes that cannot start a frame are dropped at once (only the last 3, a
    possible partial magic, are kept), so the internal buffer never holds more than one maximal frame
    plus one input slice of the same size: memory is bounded by ``max_rows`` x ``max_cols``.
    ``feed`` never raises on bytes-like input.
    """

    def __init__(self, max_rows: int = DEFAULT_MAX_ROWS, max_cols: int = DEFAULT_MAX_COLS) -> None:
        if not (1 <= max_rows <= MAX_DIMENSION and 1 <= max_cols <= MAX_DIMENSION):
            raise ValueError(f"max_rows and max_cols must be in [1, {MAX_DIMENSION}], got {max_rows}, {max_cols}")
        self.max_rows = max_rows
        self.max_cols = max_cols
        self.max_frame_bytes = FRAME_OVERHEAD + max_rows * max_cols * 4  # float32 is the widest sample
        self.stats = ParserStats()
        self._buffer = bytearray()

    @property
    def buffered_bytes(self) -> int:
        return len(self._buffer)

    def reset(self) -> None:
        """Forget a partial frame (e.g. after the link was reopened); statistics are kept."""
        self.stats.bytes_discarded += len(self._buffer)
        self._buffer.clear()

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        """Consume ``data``; return the frames it completed, in stream order."""
        view = memoryview(data).cast("B")
        self.stats.bytes_fed += view.nbytes
        frames: list[Frame] = []
        # Slices bound the buffer even when one call hands over a huge chunk.
        for start in range(0, view.nbytes, self.max_frame_bytes):
            self._buffer += view[start : start + self.max_frame_bytes]
            self._drain(frames)
        return frames

    def _discard(self, count: int) -> None:
        del self._buffer[:count]
        self.stats.bytes_discarded += count

    def _drain(self, frames: list[Frame]) -> None:
        buffer = self._buffer
        while True:
            start = buffer.find(MAGIC)
            if start < 0:
                self._discard(max(0, len(buffer) - (len(MAGIC) - 1)))
                return
            if start:
                self._discard(start)
            if len(buffer) < HEADER_SIZE:
                return
            header_body = bytes(buffer[: _HEADER_BODY.size])
            (_, version, raw_type, flags, counter, device_time_us, rows, cols, length) = _HEADER_BODY.unpack(
                header_body
            )
            rejection = self._check_header(header_body, version, raw_type, rows, cols, length)
            if rejection:
                setattr(self.stats, rejection, getattr(self.stats, rejection) + 1)
                self._discard(1)
                continue
            frame_end = HEADER_SIZE + length + TRAILER_SIZE
            if len(buffer) < frame_end:
                return
            (frame_crc,) = _CRC.unpack_from(buffer, HEADER_SIZE + length)
            if zlib.crc32(memoryview(buffer)[: HEADER_SIZE + length]) != frame_crc:
                self.stats.bad_crc += 1
                self._discard(1)
                continue
            sample_type = SampleType(raw_type)
            payload = bytes(buffer[HEADER_SIZE : HEADER_SIZE + length])
            del buffer[:frame_end]
            self.stats.frames_ok += 1
            frames.append(
                Frame(
                    counter=counter,
                    device_time_us=device_time_us,
                    rows=rows,
                    cols=cols,
                    samples=_decode_payload(payload, sample_type, rows, cols),
                    sample_type=sample_type,
                    flags=flags,
                )
            )

    def _check_header(
        self, header_body: bytes, version: int, raw_type: int, rows: int, cols: int, length: int
    ) -> str:
        """Name of the ParserStats field that rejects this header, or '' when it is acceptable."""
        if version != PROTOCOL_VERSION:
            return "bad_version"
        (header_crc,) = _CRC.unpack_from(self._buffer, _HEADER_BODY.size)
        if zlib.crc32(header_body) != header_crc:
            return "bad_header_crc"
        if raw_type not in SampleType._value2member_map_:
            return "bad_sample_type"
        if not (1 <= rows <= self.max_rows and 1 <= cols <= self.max_cols):
            return "bad_dimensions"
        if length != payload_size(SampleType(raw_type), rows, cols):
            return "bad_length"
        return ""


def _decode_payload(payload: bytes, sample_type: SampleType, rows: int, cols: int) -> np.ndarray:
    if sample_type is SampleType.UINT12:
        flat = _unpack_uint12(payload, rows * cols)
    else:
        flat = np.frombuffer(payload, dtype=_WIRE_DTYPES[sample_type]).astype(SAMPLE_DTYPES[sample_type])
    return flat.reshape(rows, cols)


@dataclass
class CounterStats:
    """Frame accounting from the device's frame counter."""

    frames_received: int = 0
    frames_lost: int = 0  # counter values skipped between received frames
    device_resets: int = 0  # counter went backwards: the device restarted counting from 0
    duplicates: int = 0  # same counter as the previous frame (included in frames_received)

    def copy(self) -> CounterStats:
        return CounterStats(**{field.name: getattr(self, field.name) for field in fields(self)})


class FrameCounterTracker:
    """Counts lost frames from gaps in the frame counter, across its 2**32 wrap, and device resets.

    The protocol makes the device start counting at 0 when it boots and add 1 per frame. For a new
    counter ``c`` after ``last``, with d = (c - last) mod 2**32:

    - d == 1: in order;  1 < d < 2**31: d - 1 frames lost (this covers the wrap 2**32-1 -> 0);
    - d == 0: duplicate (ignored);
    - d >= 2**31, i.e. the counter moved backwards: a device reset; the c frames 0..c-1 sent since
      the reset were lost. A reordered UDP datagram would also read as a reset: the protocol assumes
      in-order delivery (always true on serial, practically true on a LAN).

    The first frame seen sets the reference; frames before it are not counted as lost.
    """

    def __init__(self) -> None:
        self.stats = CounterStats()
        self.last_counter: int | None = None

    def update(self, counter: int) -> int:
        """Account for a received frame's counter; return the frames lost right before it."""
        if not 0 <= counter < COUNTER_MODULUS:
            raise ValueError(f"frame counter must be in [0, 2**32), got {counter}")
        previous, self.last_counter = self.last_counter, counter
        self.stats.frames_received += 1
        if previous is None:
            return 0
        step = (counter - previous) % COUNTER_MODULUS
        if step == 0:
            self.stats.duplicates += 1
            return 0
        if step < COUNTER_MODULUS // 2:
            lost = step - 1
        else:
            self.stats.device_resets += 1
            lost = counter
        self.stats.frames_lost += lost
        return lost
