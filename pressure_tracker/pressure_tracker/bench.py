"""Speed of the tracking core on one CPU core: frames per second for 238 x 120 frames with about 1, 3
and 5 synthetic walkers on the mat at once (`synthetic.walker_stream`; PressureTracker and the
baseline), plus tracking scores on the same scenes.

    python -m pressure_tracker.bench [--frames 300] [--people 1 3 5]

Timing covers `update()` only (scene rendering excluded), including crops and masks. Pin the process
to one core for a single-core figure, e.g. `taskset -c 0 python -m pressure_tracker.bench`.
"""
from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence

from .motchallenge import Scene, evaluate, track_scene
from .synthetic import walker_stream, walking_scene
from .tracker import BaselineTracker, PressureTracker


def _fps(tracker, scene) -> float:
    start = time.perf_counter()
    for index, frame in enumerate(scene.pressure):
        tracker.update(frame, index / scene.fps)
    return len(scene.pressure) / (time.perf_counter() - start)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--people", type=int, nargs="+", default=[1, 3, 5])
    args = parser.parse_args(argv)
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{args.frames} frames of 238 x 120 per scene; process may use {affinity} core(s)")
    print(f"{'people':>6} {'tracker':<16} {'frames/s':>9} {'ms/frame':>9} {'MOTA':>6} {'IDF1':>6} {'IDsw':>5}")
    for people in args.people:
        synthetic = walking_scene(walker_stream(people, args.frames / 15.0), args.frames, seed=people)
        scene = Scene(path="synthetic", pressure=synthetic.pressure, boxes=synthetic.boxes, fps=synthetic.fps,
                      cell_pitch=synthetic.cell_pitch, nonfinite_cells=0)
        for name, make in (("PressureTracker", PressureTracker), ("baseline", BaselineTracker)):
            fps = max(_fps(make(), scene) for _ in range(3))
            scores = evaluate(scene.boxes, track_scene(scene, make()))
            print(f"{people:>6} {name:<16} {fps:>9.0f} {1000.0 / fps:>9.3f} {100 * scores.mota:>6.1f} "
                  f"{100 * scores.idf1:>6.1f} {scores.id_switches:>5d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
