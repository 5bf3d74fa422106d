"""Contact from the frames themselves: the unloaded mat's level and noise (`NoiseFloor`, the contact threshold) and
the cells that read high alone for too long (`DefectiveCells`); step 1 of detection.py's pipeline.
Conventions are detection.py's."""
from __future__ import annotations

import math

import numpy as np

# Quantile one standard deviation above the median of a Gaussian, Phi(1).
_ONE_SIGMA_QUANTILE = 0.5 * (1.0 + math.erf(1.0 / math.sqrt(2.0)))
# Noise floor estimate: every n-th row and column of every n-th frame (the floor drifts slowly).
_NOISE_SAMPLE_STRIDE = 3
_NOISE_UPDATE_INTERVAL = 4


def force_n(pressure_sum: float | np.ndarray, cell_pitch: float) -> float | np.ndarray:
    """[N] force of cells whose pressures [kPa] sum to `pressure_sum` on cells of side `cell_pitch` [m]."""
    return pressure_sum * cell_pitch * cell_pitch * 1000.0


class NoiseFloor:
    """Running robust estimate of the unloaded mat, giving the contact threshold.

    Every few frames, a sparse grid of cells is sampled; its median (level) and the distance from the median
    to the 84.13 % quantile (sigma: one standard deviation of Gaussian noise, and still right when the mat
    clips negative readings to 0, where a MAD would be 0) describe the unloaded mat, since people cover a
    few % of it. threshold = level + sigmas * sigma, at least `min_kpa` and `peak_share` of the sample's highest
    reading (on a mat without noise, sigma is 0 and the faint tail of a foot's pressure, far below its peak, would
    be contact: a foot's pressure falls smoothly from a peak of hundreds of kPa to nothing). A frame that asks for a higher
    threshold gets it at once (a noisier mat must not flood the tracker with contact); a lower one is
    followed with time constant `time_constant_s` (a few quiet frames must not expose the next noisy ones).
    Every step is proportional to the data: frames scaled by any factor give the threshold scaled by that
    factor (min_kpa = 0, the unit unknown).
    """

    def __init__(self, sigmas: float, min_kpa: float = 0.0, time_constant_s: float = 3.0, peak_share: float = 0.0
                 ) -> None:
        self.sigmas = sigmas
        self.min_kpa = min_kpa
        self.peak_share = peak_share
        self._peak = 0.0   # the highest reading of the last sample
        self.time_constant_s = time_constant_s
        self.level = 0.0
        self.sigma = 0.0
        self._initialised = False
        self._frames = 0
        self._seconds = 0.0   # since the last estimate

    @property
    def threshold(self) -> float:
        return self.rim_threshold(self.sigmas)

    def rim_threshold(self, sigmas: float) -> float:
        """level + sigmas * sigma, at least min_kpa and peak_share of the highest reading of the last sample:
        where a foot's rim fades into the noise."""
        return max(self.min_kpa, self.peak_share * self._peak, self.level + sigmas * self.sigma)

    def update(self, frame: np.ndarray, dt: float) -> float:
        """Blend in `frame` (rows, cols) taken dt [s] after the last one; return the contact threshold."""
        self._frames += 1
        self._seconds += dt
        if self._initialised and (self._frames - 1) % _NOISE_UPDATE_INTERVAL:
            return self.threshold
        sample = frame[::_NOISE_SAMPLE_STRIDE, ::_NOISE_SAMPLE_STRIDE]
        level, one_sigma_up = np.quantile(sample, [0.5, _ONE_SIGMA_QUANTILE])
        self._peak = float(sample.max())   # a foot's peak spans several cells: the sample finds it, near enough
        level, sigma = float(level), float(one_sigma_up - level)
        if not self._initialised or level + self.sigmas * sigma > self.level + self.sigmas * self.sigma:
            rate = 1.0
        else:
            rate = min(1.0, self._seconds / self.time_constant_s)
        self.level += rate * (level - self.level)
        self.sigma += rate * (sigma - self.sigma)
        self._initialised = True
        self._seconds = 0.0
        return self.threshold


class DefectiveCells:
    """Hot and stuck cells, learnt from the frames: a cell that stands alone above the contact threshold (an
    8-connected piece of one cell) for `stuck_time` seconds in all is defective. No foot is one cell: a foot's
    contact covers several cm² and its pressure spreads smoothly over neighbouring cells, so a cell reading high
    while all its neighbours read nothing is the cell, not a load. A defective cell is in nobody's contact or rim
    (`detect_feet`, `with_rim`), so it neither makes a foot nor grows one when a foot lands beside it, until it
    reads below the threshold again (a cell that recovered). A single-cell spike is dropped from contact anyway;
    what this adds is the cell's history, for when a foot comes next to it.
    """

    def __init__(self, stuck_time: float) -> None:
        self.stuck_time = stuck_time
        self.cells = np.zeros(0, dtype=np.int64)     # flat indices of the cells watched: alone above threshold
        self.seconds = np.zeros(0)                   # ... for this long in all

    @property
    def defective(self) -> np.ndarray:
        """Flat indices of the defective cells."""
        return self.cells[self.seconds >= self.stuck_time]

    def update(self, frame: np.ndarray, threshold: float, alone: np.ndarray, dt: float) -> None:
        """Learn from a frame taken dt [s] after the last: `alone` holds the flat indices of its single-cell
        contact pieces. A watched cell reading below `threshold` is forgotten; one above it but beside others
        (a foot next to it, or a defective cell kept out of contact) keeps its time."""
        if not alone.size and not self.cells.size:   # nothing to learn or to watch (most frames of a sound mat)
            return
        cells = np.union1d(self.cells, alone)
        seconds = np.zeros(cells.size)
        seconds[np.searchsorted(cells, self.cells)] = self.seconds
        seconds[np.searchsorted(cells, alone)] += dt
        keep = frame.ravel()[cells] > threshold
        self.cells, self.seconds = cells[keep], seconds[keep]
