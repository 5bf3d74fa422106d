"""The tracker's hand-made fast helpers agree with the library routines they replace, on random inputs."""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from pressure_tracker.detection import Foot, _grown
from pressure_tracker.tracking import _same_cells


def test_square_dilation_is_scipys_binary_dilation():
    rng = np.random.default_rng(20)
    for _ in range(300):
        rows, cols = (int(n) for n in rng.integers(1, 40, 2))
        radius = int(rng.integers(1, 7))
        mask = rng.random((rows, cols)) < rng.uniform(0.0, 0.2)
        square = np.ones((2 * radius + 1, 2 * radius + 1), dtype=bool)
        grown = _grown(mask, radius)
        assert grown.flags.c_contiguous
        np.testing.assert_array_equal(grown, ndimage.binary_dilation(mask, structure=square))


def _foot(cells: np.ndarray, cols: int) -> Foot:
    rows_of, cols_of = np.divmod(cells, cols)
    box = (int(cols_of.min()), int(rows_of.min()), int(cols_of.max()) + 1, int(rows_of.max()) + 1)
    return Foot(cells, box, np.zeros(2), 1.0, 1e-4 * cells.size, 0.1, 0.0, False)


def test_same_cells_is_any_shared_cell():
    rng = np.random.default_rng(21)
    shape = (30, 20)
    for _ in range(500):
        a, b = (rng.permutation(rng.choice(shape[0] * shape[1], int(rng.integers(1, 60)), replace=False))
                for _ in range(2))
        assert _same_cells(_foot(a, shape[1]), _foot(b, shape[1])) == bool(np.isin(a, b).any())
