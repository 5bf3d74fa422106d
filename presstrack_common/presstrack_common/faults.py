"""Frames of the faults the suite is tested and soaked against, made one way for every test and tool."""
from __future__ import annotations

import numpy as np


def noise_storm(shape: tuple[int, int], rng: np.random.Generator, blobs: int = 400, kpa: float = 50.0) -> np.ndarray:
    """A (rows, cols) [kPa] frame of ``blobs`` small 3 x 3 hot blobs, the way a failing mat or a flooded cable
    reads: far more 'people' than any max_people."""
    rows, cols = shape
    frame = np.zeros((rows, cols), dtype=np.float32)
    for row, col in zip(rng.integers(0, rows - 3, blobs), rng.integers(0, cols - 3, blobs)):
        frame[row:row + 3, col:col + 3] = kpa
    return frame
