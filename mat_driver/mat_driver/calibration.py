"""Raw mat samples -> pressure in kPa, with per-cell calibration and data-quality accounting.

Per cell (r, c), for a raw frame ``raw`` (rows, cols)::

    kpa = (raw - offset[r, c]) * gain[r, c] * kpa_per_raw

then, in this order: non-finite results -> 0 (counted), dead cells -> 0, negatives -> 0 (counted),
values below ``noise_floor_kpa`` -> 0, stuck cells -> 0 (counted), values at or above
``full_scale_kpa`` clipped to it (counted as saturated).

MIP files: ``Calibration.for_mip`` converts their raw units with the documented (assumed) scale of
``presstrack_common.mip_format``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from presstrack_common.mip_format import MIP_COLS, MIP_FULL_SCALE_KPA, MIP_KPA_PER_RAW, MIP_ROWS


@dataclass
class CalibrationStats:
    """Data-quality counts for the last frame passed through ``Calibration.apply``."""

    nonfinite_cells: int = 0  # NaN/Inf raw values (or results), output 0
    dead_cells: int = 0  # cells in dead_mask, output 0
    negative_cells: int = 0  # cells below zero after offset removal, output 0
    stuck_cells: int = 0  # cells whose raw value repeated too long while above the noise floor, output 0
    saturated_cells: int = 0  # cells at or above full scale, output clipped to full scale
    active_cells: int = 0  # cells with a non-zero output
    saturation_ratio: float = 0.0  # saturated_cells / active_cells, 0 when nothing is active


@dataclass(eq=False)  # holds arrays: compare fields explicitly
class Calibration:
    """Per-cell calibration of one mat, plus the stuck-cell history it needs (hence stateful).

    offset: (rows, cols) raw units subtracted first.   gain: (rows, cols) >= 0, dimensionless.
    kpa_per_raw: global raw -> kPa scale (> 0).       dead_mask: (rows, cols) bool, True = dead cell.
    noise_floor_kpa: outputs below it are 0.          full_scale_kpa: outputs are clipped to it.
    stuck_after_frames: a cell whose raw value is identical in this many consecutive frames after the
        first (so seen ``stuck_after_frames + 1`` times in a row) while its pressure is above the noise
        floor is reported stuck and output as 0, until its value changes. 0 disables the check (the
        default: a person standing very still on a coarse ADC could otherwise be erased; ~150 frames,
        10 s at 15 fps, is a reasonable hardware setting).
    """

    offset: np.ndarray
    gain: np.ndarray
    kpa_per_raw: float = 1.0
    dead_mask: np.ndarray | None = None
    noise_floor_kpa: float = 0.0
    full_scale_kpa: float = float("inf")
    stuck_after_frames: int = 0
    last_stats: CalibrationStats = field(default_factory=CalibrationStats, init=False)
    _previous_raw: np.ndarray | None = field(default=None, init=False, repr=False)
    _repeat_count: np.ndarray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.offset = np.asarray(self.offset, dtype=np.float64)
        self.gain = np.asarray(self.gain, dtype=np.float64)
        if self.dead_mask is not None:
            self.dead_mask = np.asarray(self.dead_mask)
        self.validate()

    @property
    def shape(self) -> tuple[int, int]:
        return self.offset.shape  # type: ignore[return-value]

    def validate(self) -> None:
        """Raise ValueError naming the first problem found; call again after changing fields."""
        offset, gain = np.asarray(self.offset), np.asarray(self.gain)
        if offset.ndim != 2 or 0 in offset.shape:
            raise ValueError(f"offset must be a non-empty 2-D (rows, cols) array, got shape {offset.shape}")
        if gain.shape != offset.shape:
            raise ValueError(f"gain shape {gain.shape} does not match offset shape {offset.shape}")
        if not np.all(np.isfinite(offset)):
            raise ValueError(f"offset has {int(np.sum(~np.isfinite(offset)))} non-finite values")
        if not np.all(np.isfinite(gain)):
            raise ValueError(f"gain has {int(np.sum(~np.isfinite(gain)))} non-finite values")
        if np.any(gain < 0):
            raise ValueError(f"gain has {int(np.sum(gain < 0))} negative values; gains must be >= 0")
        if self.dead_mask is not None:
            dead_mask = np.asarray(self.dead_mask)
            if dead_mask.dtype != np.bool_:
                raise ValueError(f"dead_mask must be a bool array, got dtype {dead_mask.dtype}")
            if dead_mask.shape != offset.shape:
                raise ValueError(f"dead_mask shape {dead_mask.shape} does not match offset shape {offset.shape}")
        if not (np.isfinite(self.kpa_per_raw) and self.kpa_per_raw > 0):
            raise ValueError(f"kpa_per_raw must be finite and > 0, got {self.kpa_per_raw}")
        if not (np.isfinite(self.noise_floor_kpa) and self.noise_floor_kpa >= 0):
            raise ValueError(f"noise_floor_kpa must be finite and >= 0, got {self.noise_floor_kpa}")
        if np.isnan(self.full_scale_kpa) or self.full_scale_kpa <= self.noise_floor_kpa:
            raise ValueError(
                f"full_scale_kpa ({self.full_scale_kpa}) must be greater than noise_floor_kpa ({self.noise_floor_kpa})"
            )
        if isinstance(self.stuck_after_frames, bool) or not isinstance(self.stuck_after_frames, (int, np.integer)):
            raise ValueError(f"stuck_after_frames must be an integer, got {self.stuck_after_frames!r}")
        if self.stuck_after_frames < 0:
            raise ValueError(f"stuck_after_frames must be >= 0 (0 disables), got {self.stuck_after_frames}")

    @classmethod
    def identity(cls, rows: int, cols: int, **settings: float | int) -> Calibration:
        """Zero offset, unit gain, no dead cells; ``settings`` are the scalar fields (kpa_per_raw, ...)."""
        if rows < 1 or cols < 1:
            raise ValueError(f"rows and cols must be >= 1, got {rows} x {cols}")
        return cls(offset=np.zeros((rows, cols)), gain=np.ones((rows, cols)), **settings)  # type: ignore[arg-type]

    @classmethod
    def for_mip(cls, **settings: float | int) -> Calibration:
        """MIP's 238 x 120 raw frames in kPa under the assumed scale; clips where the paper clips (1.5e7 raw)."""
        return cls.identity(
            MIP_ROWS, MIP_COLS, kpa_per_raw=MIP_KPA_PER_RAW, full_scale_kpa=MIP_FULL_SCALE_KPA, **settings
        )

    @classmethod
    def from_npz(cls, path: str | Path, **settings: float | int) -> Calibration:
        """Load 'offset' and 'gain' (rows, cols) and optional 'dead_mask' from an .npz file."""
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key in ("offset", "gain") if key not in data.files]
            if missing:
                raise ValueError(f"calibration file {path} lacks array(s) {missing}; it has {sorted(data.files)}")
            dead_mask = data["dead_mask"] if "dead_mask" in data.files else None
            return cls(offset=data["offset"], gain=data["gain"], dead_mask=dead_mask, **settings)  # type: ignore[arg-type]

    def save_npz(self, path: str | Path) -> None:
        """Write the per-cell arrays (not the scalar settings) in the format ``from_npz`` reads."""
        arrays = {"offset": self.offset, "gain": self.gain}
        if self.dead_mask is not None:
            arrays["dead_mask"] = self.dead_mask
        np.savez(path, **arrays)

    def reset_history(self) -> None:
        """Forget the stuck-cell history, e.g. after a device reset or reconnect."""
        self._previous_raw = None
        self._repeat_count = None

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Convert one raw (rows, cols) frame to kPa, float32 (rows, cols); fills ``last_stats``."""
        raw = np.asarray(raw)
        if raw.shape != self.shape:
            raise ValueError(f"raw frame shape {raw.shape} does not match calibration shape {self.shape}")
        if not (np.issubdtype(raw.dtype, np.integer) or np.issubdtype(raw.dtype, np.floating)):
            raise ValueError(f"raw frame must hold real numbers, got dtype {raw.dtype}")
        raw = raw.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            kpa = (raw - self.offset) * self.gain * self.kpa_per_raw
        stats = CalibrationStats()

        nonfinite = ~np.isfinite(kpa)
        stats.nonfinite_cells = int(nonfinite.sum())
        kpa[nonfinite] = 0.0
        if self.dead_mask is not None:
            stats.dead_cells = int(self.dead_mask.sum())
            kpa[self.dead_mask] = 0.0
        negative = kpa < 0
        stats.negative_cells = int(negative.sum())
        kpa[negative] = 0.0
        kpa[kpa < self.noise_floor_kpa] = 0.0

        stuck = self._update_stuck(raw, kpa > 0)
        stats.stuck_cells = int(stuck.sum())
        kpa[stuck] = 0.0

        saturated = kpa >= self.full_scale_kpa
        stats.saturated_cells = int(saturated.sum())
        kpa[saturated] = self.full_scale_kpa
        stats.active_cells = int(np.count_nonzero(kpa))
        stats.saturation_ratio = stats.saturated_cells / stats.active_cells if stats.active_cells else 0.0
        self.last_stats = stats
        return kpa.astype(np.float32)

    def _update_stuck(self, raw: np.ndarray, above_floor: np.ndarray) -> np.ndarray:
        """Bool (rows, cols): cells stuck in this frame. NaN never equals itself, so never counts as stuck."""
        if self.stuck_after_frames == 0:
            return np.zeros(raw.shape, dtype=bool)
        if self._previous_raw is None or self._repeat_count is None:
            self._repeat_count = np.zeros(raw.shape, dtype=np.int64)
        else:
            self._repeat_count = np.where(raw == self._previous_raw, self._repeat_count + 1, 0)
        self._previous_raw = raw
        return (self._repeat_count >= self.stuck_after_frames) & above_floor
