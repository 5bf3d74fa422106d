"""The tracker's hand-made fast helpers agree with the library routines they replace, on random inputs."""
from __future__ import annotations

import math

import numpy as np
from painted_footprints import Walker, walking_scene
from scipy import ndimage

from pressure_tracker.detection import Foot, _grown, _nearest_owner, _paired, _parts
from pressure_tracker.heading import follow_stances, same_cells
from pressure_tracker.tracker import PressureTracker
from pressure_tracker.tracking import PeopleTracker


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


def test_paired_cells_are_those_with_a_neighbour():
    rng = np.random.default_rng(22)
    for _ in range(300):
        rows, cols = (int(n) for n in rng.integers(1, 40, 2))
        mask = rng.random((rows, cols)) < rng.uniform(0.0, 0.3)
        # A cell's 3 x 3 neighbourhood counts itself: more than one True there is a True neighbour.
        around = ndimage.correlate(mask.astype(int), np.ones((3, 3), dtype=int), mode="constant")
        np.testing.assert_array_equal(_paired(mask), mask & (around > 1))


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
        assert same_cells(_foot(a, shape[1]), _foot(b, shape[1])) == bool(np.isin(a, b).any())


def _parts_by_linear_search(rows, cols, reach):
    """The cut `_parts` makes, by trying every radius from reach - 1 down (what it bisects)."""
    r0, c0 = rows.min() - reach, cols.min() - reach
    image = np.zeros((rows.max() - r0 + reach + 1, cols.max() - c0 + reach + 1), dtype=bool)
    image[rows - r0, cols - c0] = True
    for radius in range(reach - 1, -1, -1):
        grown = ndimage.binary_dilation(image, np.ones((2 * radius + 1,) * 2, dtype=bool)) if radius else image
        labels, count = ndimage.label(grown, structure=np.ones((3, 3), dtype=bool))
        if count >= 2:
            part_of = labels[rows - r0, cols - c0]
            return [np.flatnonzero(part_of == part) for part in range(1, count + 1)]
    return None


def test_parts_cut_at_the_widest_gap_by_bisection():
    rng = np.random.default_rng(22)
    checked = 0
    for _ in range(300):
        reach = int(rng.integers(1, 6))
        # a few pads of random size, a random gap apart along a line, as pieces of one long contact
        pads = []
        start = 0
        for _ in range(int(rng.integers(1, 5))):
            length, width = (int(n) for n in rng.integers(1, 6, 2))
            pads.append([(start + i, j) for i in range(length) for j in range(width)])
            start += length + int(rng.integers(1, 2 * reach + 3))
        rows, cols = (np.array(v) for v in zip(*[cell for pad in pads for cell in pad]))
        expected = _parts_by_linear_search(rows, cols, reach)
        if expected is None:
            continue
        got = _parts(rows, cols, rows.astype(float), reach)
        assert [list(part) for part in got] == [list(part) for part in expected]
        checked += 1
    assert checked > 100


def test_nearest_owner_is_the_distance_transforms_where_the_nearest_cells_agree():
    # Cells of a blob, a few owners on some of them: every cell nobody held takes the owner of a nearest held cell
    # (ties between owners go to the distance transform, as before).
    rng = np.random.default_rng(22)
    for _ in range(300):
        cells = np.sort(rng.choice(24 * 16, int(rng.integers(2, 200)), replace=False))
        rows, cols = np.divmod(cells, 16)
        owner = np.where(rng.random(cells.size) < rng.uniform(0.05, 0.9), rng.integers(0, 3, cells.size), -1)
        owners = _nearest_owner(rows, cols, owner)
        held = owner >= 0
        np.testing.assert_array_equal(owners[held], owner[held])
        if held.any():
            distance = (rows[:, None] - rows[held]) ** 2 + (cols[:, None] - cols[held]) ** 2
            nearest = distance == distance.min(axis=1, keepdims=True)
            assert all(owners[c] in owner[held][nearest[c]] for c in np.flatnonzero(~held))



def test_stances_followed_through_the_owner_map_are_those_of_comparing_cells(monkeypatch):
    # Three people crossing and walking abreast: each foot's stance (where it landed, its toe end) found from the
    # cells the last frame's feet held is the one `follow_stances` finds by comparing cells.
    walkers = [Walker((0.3, 0.2), math.pi / 2), Walker((0.9, 0.25), 2.0, speed=1.0), Walker((0.55, 1.6), -math.pi / 2)]
    scene = walking_scene(walkers, n_frames=60, noise_kpa=1.0, seed=7)
    followed = PeopleTracker._followed
    compared = []

    def checked(self, t, track, plan):
        stances = followed(self, t, track, plan)
        expected = follow_stances(plan.matched[t].feet, track.stances)
        assert [(s.foot, tuple(s.landed_at), s.toes) for s in stances] == \
            [(s.foot, tuple(s.landed_at), s.toes) for s in expected]
        compared.append(sum(s.landed_at is not s.foot.centroid_m for s in stances))   # stances carried on
        return stances

    monkeypatch.setattr(PeopleTracker, "_followed", checked)
    tracker = PressureTracker()
    for k, frame in enumerate(scene.pressure):
        tracker.update(frame, k / scene.fps)
    assert len(compared) > 80 and sum(compared) > 80
