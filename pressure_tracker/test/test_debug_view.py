"""Debug picture: size, colours, boxes."""
from __future__ import annotations

import math

import numpy as np

from pressure_tracker.debug_view import render_debug_image
from painted_footprints import Walker, walking_scene
from pressure_tracker.tracker import PressureTracker


def test_debug_image_shows_boxes_of_tracked_people():
    scene = walking_scene([Walker((0.6, 0.3), math.pi / 2)], n_frames=10, noise_kpa=1.0)
    tracker = PressureTracker()
    for index, frame in enumerate(scene.pressure):
        people = tracker.update(frame, index / 15)
    image = render_debug_image(scene.pressure[-1], people, scale=2)
    assert image.shape == (476, 240, 3) and image.dtype == np.uint8
    x1, y1, x2, y2 = people[0].box
    top_edge = image[2 * y1, 2 * x1:2 * x2]
    assert np.all(top_edge == top_edge[0]) and not np.array_equal(top_edge[0], image[0, 0])
    empty = render_debug_image(np.zeros((238, 120), dtype=np.float32), [], scale=1)
    assert np.all(empty == empty[0, 0])
