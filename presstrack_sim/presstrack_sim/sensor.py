"""A model of the sensing mat: how a matrix of pressure cells turns the contact pressure into readings.

`SensorModel` holds the parameters (kPa, seconds, fractions of cells), `SENSOR_PROFILES` names sets of them, and
`Sensor` is one mat built from a model: its own defective cells, cell gains and noise stream, and the state its
hysteresis and creep carry from frame to frame.

Stages, in the order applied to each frame (every stage is off at its default but the legacy ones: crosstalk, noise,
clipping and quantisation):
1. cell gain: each cell's sensitivity is off by N(0, `gain_spread`) (relative; manufacturing spread);
2. response: reading = full_scale * (p / full_scale) ** `response_exponent` (piezoresistive cells: conductance
   follows a power of the load, so a cell calibrated at full scale over-reads light loads when the exponent < 1);
3. hysteresis: while a cell unloads it reads high, by `hysteresis_fraction` of the drop from its recent peak (the
   peak relaxes with `hysteresis_tau_s`); loading reads true;
4. creep: under a steady load the reading drifts up towards (1 + `creep_fraction`) x load with time constant
   `creep_tau_s`;
5. ghosting: a passive row/column matrix leaks current through sneak paths, so every cell reads
   `ghost_fraction` x (its row's total) x (its column's total) / (the mat's total): zero where its row or column
   carries nothing, "ghost" blobs where the rows and columns of two loaded regions cross;
6. crosstalk: Gaussian blur of `crosstalk_sigma` cells (the conductive layer spreads charge to neighbours);
7. noise: N(0, `noise_kpa` + `noise_fraction` x reading);
8. hot cells (`hot_fraction`) add a fixed offset up to `hot_offset_kpa` (they read on an empty mat);
9. firmware threshold: readings below `threshold_kpa` are exactly 0 (a real mat reads 0 when unloaded);
10. clipping to [0, `full_scale_kpa`] (saturation) and quantisation to `bits` over the full scale;
11. dead cells read 0, seam cells (between tiles of `tile_cells`, `seam_cells` wide) read 0, stuck cells read a
    fixed value.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
from scipy.ndimage import gaussian_filter

from presstrack_common.mip_format import MIP_FULL_SCALE_KPA


@dataclass(frozen=True)
class SensorModel:
    """The parameters of a pressure mat (module docstring for what each stage does). Defaults: the legacy model every
    fixed scene, the tracker's tuning and the shipped network were made with (`SENSOR_PROFILES['legacy']`)."""

    full_scale_kpa: float = 400.0
    noise_kpa: float = 0.3
    noise_fraction: float = 0.02
    crosstalk_sigma: float = 0.5
    bits: int = 12
    dead_fraction: float = 0.0
    stuck_fraction: float = 0.0
    threshold_kpa: float = 0.0
    gain_spread: float = 0.0
    response_exponent: float = 1.0
    hysteresis_fraction: float = 0.0
    hysteresis_tau_s: float = 1.0
    creep_fraction: float = 0.0
    creep_tau_s: float = 5.0
    ghost_fraction: float = 0.0
    hot_fraction: float = 0.0
    hot_offset_kpa: float = 0.0
    tile_cells: int = 0  # cells per square tile side; 0: the mat is one piece
    seam_cells: int = 0  # insensitive cells at each seam between tiles

    def __post_init__(self) -> None:
        if not self.full_scale_kpa > 0:
            raise ValueError(f"sensor full scale must be positive kPa, got {self.full_scale_kpa}")
        for name in ("noise_kpa", "noise_fraction", "crosstalk_sigma", "threshold_kpa", "gain_spread",
                     "hot_offset_kpa", "creep_fraction", "ghost_fraction"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"sensor {name} must be >= 0, got {getattr(self, name)}")
        for name in ("hysteresis_tau_s", "creep_tau_s", "response_exponent"):
            if not getattr(self, name) > 0:
                raise ValueError(f"sensor {name} must be > 0, got {getattr(self, name)}")
        if not 1 <= self.bits <= 32:
            raise ValueError(f"sensor bits must be in 1..32, got {self.bits}")
        for name in ("dead_fraction", "stuck_fraction", "hot_fraction", "hysteresis_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"sensor {name} must be a fraction in [0, 1], got {getattr(self, name)}")
        if self.dead_fraction + self.stuck_fraction + self.hot_fraction > 1:
            raise ValueError("sensor dead, stuck and hot fractions add up to more than all cells")
        if self.tile_cells < 0 or self.seam_cells < 0 or (self.tile_cells and self.seam_cells >= self.tile_cells):
            raise ValueError(f"sensor tiles need 0 <= seam_cells < tile_cells, got {self.seam_cells}, "
                             f"{self.tile_cells}")

    @classmethod
    def ideal(cls) -> SensorModel:
        """No noise, blur, saturation worth mentioning, or defects: reads the contact pressure as it is."""
        return cls(full_scale_kpa=1e9, noise_kpa=0.0, noise_fraction=0.0, crosstalk_sigma=0.0, bits=32)

    @classmethod
    def profile(cls, name: str, **overrides: float) -> SensorModel:
        """The named profile of SENSOR_PROFILES, with some parameters replaced."""
        if name not in SENSOR_PROFILES:
            raise ValueError(f"unknown sensor profile {name!r}; known: {', '.join(SENSOR_PROFILES)}")
        return replace(SENSOR_PROFILES[name], **overrides)

    @property
    def stateful(self) -> bool:
        """Whether a reading depends on earlier frames (hysteresis, creep)."""
        return self.hysteresis_fraction > 0 or self.creep_fraction > 0


SENSOR_PROFILES: dict[str, SensorModel] = {
    # What the simulator always had: low noise floor everywhere (no threshold), 400 kPa full scale, 12 bits.
    "legacy": SensorModel(),
    "ideal": SensorModel.ideal(),
    # A thresholded commercial floor/platform mat. Sources, as the makers publish them (not checked against a unit
    # here): novel emed-x, 4 sensors/cm^2, 10-1270 kPa; Tekscan MatScan/HR Mat, 8-bit readings, up to 862 kPa,
    # per-cell equilibration leaving a few % gain spread; firmware zeroes readings under a noise threshold, so an
    # unloaded mat reads exactly 0. Threshold 5 kPa, noise 0.5 kPa + 1 %, 1 in 1000 cells dead, 1 in 5000 hot.
    "commercial": SensorModel(full_scale_kpa=862.0, noise_kpa=0.5, noise_fraction=0.01, crosstalk_sigma=0.3, bits=8,
                              dead_fraction=1e-3, hot_fraction=2e-4, hot_offset_kpa=20.0, threshold_kpa=5.0,
                              gain_spread=0.03),
    # A textile piezoresistive matrix (Velostat/EeonTex-type layer between conductive stripes, read as a passive
    # row/column matrix). Interlink's FSR integration guide: resistance ~ 1/force (power law), hysteresis about
    # +10 %, drift < 5 % per decade of time, part-to-part repeatability +-6 %; D'Alessio (1999, Sens. Actuators A
    # 72:71-76) for the sneak-path crosstalk ("ghosting") of passive matrices. Saturates early (300 kPa), more
    # defects (1 % dead, 0.2 % stuck, 0.2 % hot), a low threshold (2 kPa) over a noisier floor.
    "textile": SensorModel(full_scale_kpa=300.0, noise_kpa=0.8, noise_fraction=0.03, crosstalk_sigma=0.8, bits=10,
                           dead_fraction=0.01, stuck_fraction=0.002, hot_fraction=0.002, hot_offset_kpa=15.0,
                           threshold_kpa=2.0, gain_spread=0.10, response_exponent=0.7, hysteresis_fraction=0.10,
                           hysteresis_tau_s=1.0, creep_fraction=0.05, creep_tau_s=5.0, ghost_fraction=0.03),
    # What is known of MIP's mat (PressTrack-HMR; /work/shared/PAPER.md): 1 cm cells, 238 x 120 frames, raw
    # readings clipped at 1.5e7, which we take as MIP_FULL_SCALE_KPA (500 kPa, presstrack_common.mip_format).
    # The rest is unknown and taken from the commercial profile, with a 16-bit-like fine quantisation.
    "mip": SensorModel(full_scale_kpa=MIP_FULL_SCALE_KPA, noise_kpa=0.5, noise_fraction=0.01, crosstalk_sigma=0.5,
                       bits=16, dead_fraction=1e-3, hot_fraction=2e-4, hot_offset_kpa=20.0, threshold_kpa=2.0,
                       gain_spread=0.03),
    # The commercial profile on a floor of 48 cm tiles with 1-cell insensitive seams (modular floors: a mat larger
    # than one sensor sheet is tiled).
    "tiled": SensorModel(full_scale_kpa=862.0, noise_kpa=0.5, noise_fraction=0.01, crosstalk_sigma=0.3, bits=8,
                         dead_fraction=1e-3, hot_fraction=2e-4, hot_offset_kpa=20.0, threshold_kpa=5.0,
                         gain_spread=0.03, tile_cells=48, seam_cells=1),
}
SENSOR_PARAMETERS = tuple(f.name for f in fields(SensorModel))


def seam_mask(shape: tuple[int, int], tile_cells: int, seam_cells: int) -> np.ndarray:
    """(rows, cols) bool: the cells at the seams between square tiles of `tile_cells` (the first `seam_cells` rows
    and columns of every tile but the first along each axis)."""
    seams = np.zeros(shape, dtype=bool)
    if tile_cells and seam_cells:
        row_seam = (np.arange(shape[0]) % tile_cells < seam_cells) & (np.arange(shape[0]) >= tile_cells)
        col_seam = (np.arange(shape[1]) % tile_cells < seam_cells) & (np.arange(shape[1]) >= tile_cells)
        seams[row_seam] = True
        seams[:, col_seam] = True
    return seams


class Sensor:
    """A SensorModel with its own fixed defects (dead, stuck, hot and seam cells, cell gains), noise stream and the
    state of its hysteresis and creep. `frame_period_s` is the time between the frames it is given."""

    def __init__(self, model: SensorModel, shape: tuple[int, int], rng: np.random.Generator,
                 frame_period_s: float = 1.0 / 15.0):
        if not frame_period_s > 0:
            raise ValueError(f"sensor frame period must be positive, got {frame_period_s}")
        self.model, self.rng, self.frame_period_s = model, rng, frame_period_s
        cells = shape[0] * shape[1]
        order = rng.permutation(cells)
        dead_count, stuck_count = int(round(model.dead_fraction * cells)), int(round(model.stuck_fraction * cells))
        self.dead = np.zeros(cells, dtype=bool)
        self.dead[order[:dead_count]] = True
        self.stuck = np.zeros(cells, dtype=bool)
        self.stuck[order[dead_count:dead_count + stuck_count]] = True
        self.stuck_value = rng.uniform(0.0, model.full_scale_kpa, cells)
        self.dead, self.stuck, self.stuck_value = (a.reshape(shape) for a in (self.dead, self.stuck, self.stuck_value))
        # Draws the legacy model does not make come after its own, so its recordings stay as they were.
        self.hot_offset = np.zeros(shape)
        if model.hot_fraction > 0:
            hot_count = int(round(model.hot_fraction * cells))
            hot = order[dead_count + stuck_count:dead_count + stuck_count + hot_count]
            self.hot_offset.flat[hot] = rng.uniform(0.5, 1.0, hot_count) * model.hot_offset_kpa
        self.gain = 1.0 + model.gain_spread * rng.standard_normal(shape) if model.gain_spread > 0 else None
        self.seams = seam_mask(shape, model.tile_cells, model.seam_cells)
        self.insensitive = self.dead | self.seams
        self._peak = np.zeros(shape)  # hysteresis: the recent peak each cell has seen
        self._settled = np.zeros(shape)  # creep: the load each cell has settled under

    def measure(self, pressure_kpa: np.ndarray) -> np.ndarray:
        """(rows, cols) true kPa -> (rows, cols) float32 reading in kPa; also (F, rows, cols) -> (F, rows, cols),
        the same as measuring the F images one after another."""
        model = self.model
        reading = np.asarray(pressure_kpa, dtype=float)
        if reading.shape[-2:] != self.dead.shape or reading.ndim not in (2, 3):
            raise ValueError(f"pressure must have shape ([F,] {self.dead.shape[0]}, {self.dead.shape[1]}), "
                             f"got {reading.shape}")
        if self.gain is not None:
            reading = reading * self.gain
        if model.response_exponent != 1.0:
            reading = model.full_scale_kpa * (np.maximum(reading, 0.0) / model.full_scale_kpa) ** \
                model.response_exponent
        if model.stateful:
            reading = self._history(reading)
        if model.ghost_fraction > 0:
            reading = reading + model.ghost_fraction * _sneak_paths(reading)
        if model.crosstalk_sigma > 0:
            sigma = (0.0,) * (reading.ndim - 2) + (model.crosstalk_sigma,) * 2  # no blur across frames
            reading = gaussian_filter(reading, sigma, mode="constant", truncate=3.0)
        if model.noise_kpa > 0 or model.noise_fraction > 0:
            sigma = model.noise_kpa + model.noise_fraction * reading
            reading = reading + sigma * self.rng.standard_normal(reading.shape)
        if model.hot_fraction > 0:
            reading = reading + self.hot_offset
        if model.threshold_kpa > 0:
            reading = np.where(reading < model.threshold_kpa, 0.0, reading)
        reading = np.clip(reading, 0.0, model.full_scale_kpa)
        if model.bits < 32:
            step = model.full_scale_kpa / (2 ** model.bits - 1)
            reading = np.round(reading / step) * step
        if self.insensitive.any():
            reading = np.where(self.insensitive, 0.0, reading)
        if self.stuck.any():
            reading = np.where(self.stuck, self.stuck_value, reading)
        return reading.astype(np.float32)

    def _history(self, reading: np.ndarray) -> np.ndarray:
        """Hysteresis and creep, frame by frame (they carry state from one frame to the next)."""
        model, out = self.model, np.empty_like(reading)
        relax = np.exp(-self.frame_period_s / model.hysteresis_tau_s)
        settle = 1.0 - np.exp(-self.frame_period_s / model.creep_tau_s)
        frames = reading.reshape((-1,) + reading.shape[-2:])
        for index, load in enumerate(frames):
            self._peak = np.maximum(load, self._peak * relax)
            self._settled += (load - self._settled) * settle
            out.reshape(frames.shape)[index] = (load + model.hysteresis_fraction * (self._peak - load)
                                                + model.creep_fraction * np.minimum(self._settled, load))
        return out


def _sneak_paths(reading: np.ndarray) -> np.ndarray:
    """(..., rows, cols) -> the rank-one sneak-path image row_total x column_total / total (kPa), per frame."""
    rows, cols = reading.sum(axis=-1), reading.sum(axis=-2)
    total = np.maximum(rows.sum(axis=-1), 1e-12)[..., None, None]
    return rows[..., :, None] * cols[..., None, :] / total
