"""Conventions of the MIP dataset that every package shares: mat layout, raw units, network input scale,
and the one reader of the keys every MIP-format .npz has (`open_mip`, `read_mip_pressure`, `load_mip_file`).

MIP stores raw pressure with no physical unit; the paper's preprocessing clips it at 1.5e7 raw units
and divides by that range. We ASSUME that clip level is MIP_FULL_SCALE_KPA = 500 kPa (a plausible full
scale for 1 cm cells: barefoot walking peaks around 200-600 kPa), so MIP_KPA_PER_RAW = 500 / 1.5e7.
The network sees ``normalise_kpa(kpa)`` = kPa / 500 clipped to [0, 1], which is exactly the paper's
clip-and-divide of the raw values: weights trained on MIP and on our kPa files see the same numbers,
and the assumption only changes the kPa figures we publish, never the model input.
"""
from __future__ import annotations

import math
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MIP_ROWS = 238
MIP_COLS = 120
MIP_PITCH_M = 0.01
MIP_FPS = 15.0
MIP_RAW_FULL_SCALE = 1.5e7       # raw units where the paper's preprocessing clips
MIP_FULL_SCALE_KPA = 500.0       # ASSUMPTION: see the module docstring
MIP_KPA_PER_RAW = MIP_FULL_SCALE_KPA / MIP_RAW_FULL_SCALE
# The authors' mat corners in their world frame [m]: cells (0,0), (0,last col), (last row,0), (last row,last col).
MIP_MAT_CORNERS_WORLD = np.array([[1.17, 1.83], [-0.03, 1.818], [1.135, -0.567], [-0.06, -0.565]])


def normalise_kpa(kpa: np.ndarray) -> np.ndarray:
    """Network input: pressure in kPa / MIP_FULL_SCALE_KPA, clipped to [0, 1], float32."""
    return np.clip(np.asarray(kpa, dtype=np.float32) / np.float32(MIP_FULL_SCALE_KPA), 0.0, 1.0)


# ---------------------------------------------------------------------------------------------------------------
# Reading MIP-format .npz files: the part every reader shares (replay, tracker scenes, training data, simulator).
#
# Pressure unit, resolved one way for every reader (kPa = stored value * kPa per stored unit):
#   1. an explicit scale passed by the caller (e.g. a calibrated mat), whatever the file says;
#   2. else the file's 'pressure_scale_kpa' (kPa per stored unit; with 'pressure_unit' = 'kPa' it must be 1);
#   3. else the file's 'pressure_unit': 'kPa' (any case) needs no scale, any other unit needs 'pressure_scale_kpa';
#   4. else (MIP's own files carry neither key) raw MIP units: MIP_KPA_PER_RAW.
# ---------------------------------------------------------------------------------------------------------------

PRESSURE_KPA = "kPa"


def kpa_per_unit(unit: str | None, scale_kpa: float | None) -> float:
    """kPa per stored pressure unit from a file's 'pressure_unit' and 'pressure_scale_kpa' (None: key absent).

    Raises ValueError for a scale that is not a positive number, a unit other than kPa without a scale, or a
    kPa unit with a scale other than 1.
    """
    if scale_kpa is not None:
        if not (math.isfinite(scale_kpa) and scale_kpa > 0):
            raise ValueError(f"pressure_scale_kpa must be a positive number, got {scale_kpa}")
        if unit is not None and unit.lower() == PRESSURE_KPA.lower() and not math.isclose(scale_kpa, 1.0):
            raise ValueError(f"pressure_unit {unit!r} contradicts pressure_scale_kpa {scale_kpa} (kPa needs 1)")
        return float(scale_kpa)
    if unit is None:
        return MIP_KPA_PER_RAW
    if unit.lower() != PRESSURE_KPA.lower():
        raise ValueError(f"pressure_unit {unit!r} needs pressure_scale_kpa to convert to kPa")
    return 1.0


def nonfinite_message(path: str | Path, count: int) -> str:
    """The one line every reader reports for a file whose NaN/Inf pressure cells were set to 0."""
    return f"{path}: {count} NaN/Inf pressure cells treated as 0"


class MipArchive:
    """An open MIP-format .npz (see `open_mip`): ``files``, ``key in archive``, ``archive[key]``.

    Each member is read once (later look-ups return the same array). A member that cannot be read
    (truncated, corrupt, pickled objects) raises ValueError naming the file and the key.
    """

    def __init__(self, path: Path, npz: np.lib.npyio.NpzFile) -> None:
        self.path = path
        self.files: list[str] = list(npz.files)
        self._npz = npz
        self._arrays: dict[str, np.ndarray] = {}

    def __contains__(self, key: str) -> bool:
        return key in self.files

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._arrays:
            if key not in self.files:
                raise KeyError(key)
            try:
                self._check_claimed_size(key)
                self._arrays[key] = np.asarray(self._npz[key])
            except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
                raise ValueError(f"{self.path}: truncated or corrupt .npz file, cannot read key '{key}' "
                                 f"({error})") from None
            except ValueError as error:  # pickled object arrays, malformed .npy headers
                raise ValueError(f"{self.path}: key '{key}' cannot be read ({error})") from None
        return self._arrays[key]

    def _check_claimed_size(self, key: str) -> None:
        """ValueError if the member's .npy header claims more data than the member holds: a damaged or hostile
        header (say 10**15 cells) is refused in one line before anything is allocated for it."""
        name = f"{key}.npy"
        info = self._npz.zip.getinfo(name)
        with self._npz.zip.open(name) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(member)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(member)
            header_bytes = member.tell()
        if dtype.hasobject:
            return  # refused by np.load itself (allow_pickle=False)
        claimed = math.prod(shape) * dtype.itemsize
        if claimed > info.file_size - header_bytes:
            raise ValueError(f"its header claims {shape} {dtype} ({claimed:.3g} bytes) but it holds "
                             f"{info.file_size - header_bytes} bytes")

    def number(self, key: str, default: float | None) -> float | None:
        """The file's value of ``key`` (one positive finite number), ``default`` without the key."""
        if key not in self.files:
            return default
        value = self[key]
        if value.size != 1 or value.dtype.kind not in "iuf" or not np.isfinite(value).all() or value.item() <= 0:
            got = value.item() if value.size == 1 and value.dtype.kind in "iuf" else f"{value.dtype} {value.shape}"
            raise ValueError(f"{self.path}: key '{key}' must be one positive number, got {got}")
        return float(value.item())

    def text(self, key: str) -> str | None:
        """The file's string ``key``, None without the key."""
        if key not in self.files:
            return None
        value = self[key]
        if value.size != 1 or value.dtype.kind not in "US":
            raise ValueError(f"{self.path}: key '{key}' must be one string, got {value.dtype} {value.shape}")
        item = value.item()
        return item.decode("ascii", "replace") if isinstance(item, bytes) else str(item)


@contextmanager
def open_mip(path: str | Path) -> Iterator[MipArchive]:
    """Open a MIP-format .npz safely (no pickles) for reading; closed when the ``with`` block ends.

    Raises ValueError naming the file when it is missing, not a zip archive (garbage, truncated) or
    otherwise unreadable as an .npz.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: cannot read: no such file")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not a readable .npz file, cannot read it as a zip archive "
                         "(truncated, or not an .npz)")
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise ValueError(f"{path}: not a readable .npz file, cannot read it ({error})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):  # is_zipfile looks for the end record anywhere: be sure
        raise ValueError(f"{path}: not a readable .npz file, cannot read it as an .npz archive")
    with npz:
        yield MipArchive(path, npz)


@dataclass(frozen=True)
class MipPressure:
    """The common part of a MIP-format file.

    pressure: (T, rows, cols) as stored (integer or float dtype), NaN/Inf cells set to 0;
    kpa_per_unit: kPa per stored unit (see `kpa_per_unit`); nonfinite_cells: how many cells were NaN/Inf;
    fps [Hz] ('fps', default MIP_FPS); cell_pitch [m] ('cell_pitch', default MIP_PITCH_M).
    """

    path: Path
    pressure: np.ndarray
    kpa_per_unit: float
    fps: float
    cell_pitch: float
    nonfinite_cells: int

    def kpa(self, index=slice(None), dtype: type = np.float32) -> np.ndarray:
        """Pressure in kPa of ``self.pressure[index]`` (default: all frames), as ``dtype``."""
        return np.asarray(self.pressure[index], dtype=dtype) * dtype(self.kpa_per_unit)


def read_mip_pressure(archive: MipArchive, scale_kpa: float | None = None) -> MipPressure:
    """Check and read the shared keys of an open file: 'pressure' (T, rows, cols) numeric with no empty axis,
    its unit ('pressure_unit', 'pressure_scale_kpa'; ``scale_kpa`` overrides both), 'fps' and 'cell_pitch'.

    Raises ValueError naming the file and the problem.
    """
    path = archive.path
    if "pressure" not in archive:
        raise ValueError(f"{path}: missing key 'pressure' (not a MIP-format file)")
    pressure = archive["pressure"]
    if pressure.ndim != 3 or 0 in pressure.shape:
        raise ValueError(f"{path}: pressure must have shape (T, rows, cols) with no empty axis, got {pressure.shape}")
    if pressure.dtype.kind not in "iuf":
        raise ValueError(f"{path}: pressure must be numeric (integer or float), got dtype {pressure.dtype}")
    if scale_kpa is None:
        unit, scale_kpa = archive.text("pressure_unit"), archive.number("pressure_scale_kpa", None)
    else:
        unit = None  # the caller's scale overrides whatever the file says
    try:
        factor = kpa_per_unit(unit, scale_kpa)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    nonfinite = 0
    if pressure.dtype.kind == "f":
        finite = np.isfinite(pressure)
        nonfinite = int(pressure.size - np.count_nonzero(finite))
        if nonfinite:  # a damaged cell is no pressure; the rest of the recording is good
            pressure = np.where(finite, pressure, 0)
    return MipPressure(path, pressure, factor, archive.number("fps", MIP_FPS),
                       archive.number("cell_pitch", MIP_PITCH_M), nonfinite)


def load_mip_file(path: str | Path, scale_kpa: float | None = None) -> MipPressure:
    """`read_mip_pressure` of the file at ``path`` (for readers that need no other key)."""
    with open_mip(path) as archive:
        return read_mip_pressure(archive, scale_kpa)
