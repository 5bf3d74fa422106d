"""Conventions of the MIP dataset that every package shares: mat layout, raw units, network input scale.

MIP stores raw pressure with no physical unit; the paper's preprocessing clips it at 1.5e7 raw units
and divides by that range. We ASSUME that clip level is MIP_FULL_SCALE_KPA = 500 kPa (a plausible full
scale for 1 cm cells: barefoot walking peaks around 200-600 kPa), so MIP_KPA_PER_RAW = 500 / 1.5e7.
The network sees ``normalise_kpa(kpa)`` = kPa / 500 clipped to [0, 1], which is exactly the paper's
clip-and-divide of the raw values: weights trained on MIP and on our kPa files see the same numbers,
and the assumption only changes the kPa figures we publish, never the model input.
"""
from __future__ import annotations

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
