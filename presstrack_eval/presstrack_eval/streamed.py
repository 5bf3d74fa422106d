"""Pressure frames read from disk when indexed, so a data set larger than the machine's memory trains.

MIP's 52 files hold about 138 k frames of 238 x 120 cells: about 16 GB as float32, more than a 24 GB
machine can hold twice.  A large ``pressure`` member of an ``.npz`` is therefore not loaded: a stored
(uncompressed) member is read in place, a compressed one is first decompressed, in blocks, to a plain
``.npy`` file in a cache folder (``PRESSTRACK_CACHE``, default ``<tmp>/presstrack-cache``; reused while the
source file is unchanged).  Frames are read with ordinary file reads, not a memory map: what the page cache
holds is not charged to the process, and the process keeps only the frames it is working on.
"""
from __future__ import annotations

import os
import struct
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

_COPY_BLOCK_BYTES = 64 * 2**20
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # a zip local file header; name and extra lengths are the last two


def cache_dir() -> Path:
    return Path(os.environ.get("PRESSTRACK_CACHE", Path(tempfile.gettempdir()) / "presstrack-cache"))


def member_size(path: Path, key: str) -> int:
    """Uncompressed bytes of member ``key`` of the .npz at ``path`` (0 when absent or unreadable: loading the
    file reports why)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.getinfo(f"{key}.npy").file_size
    except (OSError, KeyError, zipfile.BadZipFile):
        return 0


def _npy_header(stream) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(stream)
    return np.lib.format.read_array_header_2_0(stream)


def _npy_in_place(path: Path, key: str) -> tuple[Path, int, tuple[int, ...], np.dtype]:
    """Where member ``key``'s array data lies: (file, byte offset, shape, dtype); a compressed member is
    decompressed to the cache first."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(f"{key}.npy")
        if info.compress_type == zipfile.ZIP_STORED:
            with open(path, "rb") as raw:
                raw.seek(info.header_offset)
                fields = _LOCAL_HEADER.unpack(raw.read(_LOCAL_HEADER.size))
                raw.seek(info.header_offset + _LOCAL_HEADER.size + fields[-2] + fields[-1])
                shape, fortran, dtype = _npy_header(raw)
                offset = raw.tell()
            source = path
        else:
            stat = path.stat()
            source = cache_dir() / f"{path.stem}-{key}-{stat.st_size}-{stat.st_mtime_ns}.npy"
            if not source.is_file():
                source.parent.mkdir(parents=True, exist_ok=True)
                partial = source.with_suffix(f".{os.getpid()}.partial")
                with archive.open(info) as member, open(partial, "wb") as out:
                    while block := member.read(_COPY_BLOCK_BYTES):
                        out.write(block)
                partial.replace(source)
            with open(source, "rb") as raw:
                shape, fortran, dtype = _npy_header(raw)
                offset = raw.tell()
    if fortran or dtype.hasobject:
        raise ValueError(f"{path}: '{key}' must be a C-ordered numeric array to be streamed")
    return source, offset, tuple(shape), dtype


class StreamedFrames:
    """Frames (T, ...) of one array on disk, read when indexed and passed through ``convert``.

    ``frames[i]``, ``frames[a:b]``, ``frames[i, rows, cols]``, ``frames[list]`` give arrays as indexing a
    loaded array would; ``raw(a, b)`` gives stored values.  ``shape`` and ``dtype`` are those of the
    converted frames.
    """

    def __init__(self, path: Path, key: str, convert: Callable[[np.ndarray], np.ndarray], dtype: type = np.float32) -> None:
        self.file, self.offset, self.shape, self.stored_dtype = _npy_in_place(Path(path), key)
        self.convert, self.dtype, self.ndim = convert, np.dtype(dtype), len(self.shape)
        self.frame_items = int(np.prod(self.shape[1:]))

    def __len__(self) -> int:
        return self.shape[0]

    def raw(self, start: int, stop: int) -> np.ndarray:
        """Stored values of frames [start, stop)."""
        count = max(stop - start, 0)
        with open(self.file, "rb") as source:
            values = np.fromfile(source, dtype=self.stored_dtype, count=count * self.frame_items,
                                 offset=self.offset + start * self.frame_items * self.stored_dtype.itemsize)
        if values.size != count * self.frame_items:
            raise ValueError(f"{self.file}: truncated: frames {start}..{stop} cannot be read")
        return values.reshape(count, *self.shape[1:])

    def __getitem__(self, index):
        rest = ()
        if isinstance(index, tuple):
            index, rest = index[0], index[1:]
        if isinstance(index, (int, np.integer)):
            frame = int(index) + len(self) if index < 0 else int(index)
            if not 0 <= frame < len(self):
                raise IndexError(f"frame {index} out of range for {len(self)} frames")
            return self.convert(self.raw(frame, frame + 1))[0][rest]
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            frames = self.convert(self.raw(start, stop))[::step] if step > 0 else \
                np.stack([self[i] for i in range(start, stop, step)])
        else:
            frames = np.stack([self[int(i)] for i in np.asarray(index).reshape(-1)])
        return frames[(slice(None), *rest)]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype)
