"""Speed of the tracking core on one CPU core: frames per second for 238 x 120 frames with 1, 3 and 5
people wandering on the simulated mat (presstrack_sim, scenario ``wander``; PressureTracker and the
baseline), plus tracking scores on the same scenes.

    presstrack-track-bench [--frames 300] [--people 1 3 5]

Timing covers `update()` only (simulation excluded), including crops and masks. Pin the process to one
core for a single-core figure, e.g. `taskset -c 0 presstrack-track-bench`.
"""
from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence

from pressure_tracker.motchallenge import Scene, evaluate, track_scene
from pressure_tracker.tracker import BaselineTracker, PressureTracker
from presstrack_sim.simulator import SimConfig, simulate_scene

FPS = 15.0


def _fps(tracker, scene) -> float:
    start = time.perf_counter()
    for index, frame in enumerate(scene.pressure):
        tracker.update(frame, index / scene.fps)
    return len(scene.pressure) / (time.perf_counter() - start)


def wander_scene(people: int, frames: int) -> Scene:
    """``people`` wandering for ``frames`` frames at 15 Hz, seeded by the head count."""
    simulated = simulate_scene(SimConfig(scenario="wander", people=people, seconds=frames / FPS, fps=FPS, seed=people))
    return Scene(path=f"sim/wander/{people}", pressure=simulated.pressure, boxes=simulated.box, fps=FPS,
                 cell_pitch=simulated.mat.pitch, nonfinite_cells=0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--people", type=int, nargs="+", default=[1, 3, 5])
    args = parser.parse_args(argv)
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{args.frames} frames of 238 x 120 per scene; process may use {affinity} core(s)")
    print(f"{'people':>6} {'tracker':<16} {'frames/s':>9} {'ms/frame':>9} {'MOTA':>6} {'IDF1':>6} {'IDsw':>5}")
    for people in args.people:
        scene = wander_scene(people, args.frames)
        for name, make in (("PressureTracker", PressureTracker), ("baseline", BaselineTracker)):
            fps = max(_fps(make(), scene) for _ in range(3))
            scores = evaluate(scene.boxes, track_scene(scene, make()))
            print(f"{people:>6} {name:<16} {fps:>9.0f} {1000.0 / fps:>9.3f} {100 * scores.mota:>6.1f} "
                  f"{100 * scores.idf1:>6.1f} {scores.id_switches:>5d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
