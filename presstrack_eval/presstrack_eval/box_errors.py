"""Why boxes are missed or false: our tracker on tuning scenes of the grid, every error box-frame classified by cause.

    python -m presstrack_eval.box_errors --scenario face_to_face --seeds 0 1 2 3 4 [--cache DIR]

Scenes are the robustness grid's default scene (track_grid.DEFAULT: 20 s, 15 Hz, 0.5 kPa noise, barefoot) with the
scenario and seeds given, and seeds of the tuning split only (below 10000: the held-out split is refused). The
simulator says which person loads every cell (`cell_owner`), so each of our confirmed boxes (a track counts from its
first frame once confirmed, as `presstrack-track` writes it) is known by whose cells it holds. Per frame, truth and
our boxes are matched one to one at IoU >= 0.5 (Hungarian), and each box-frame left over gets a cause (`CAUSES`).
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from pressure_tracker.motchallenge import iou
from pressure_tracker.tracker import PressureTracker, TrackerConfig
from pressure_tracker.tracking import TrackState

from .track_grid import DEFAULT, SPLIT_SEEDS, sim_config
from .track_suite import store_scene

CAUSES = {
    "miss: merged": "one box of ours holds this person's cells and another person's, who has no box of their own",
    "miss: foreign foot": "our box of this person also holds a foot of another person who has a box too",
    "miss: split": "this person's cells lie in two or more of our boxes",
    "miss: short": "our box holds only this person's cells, but too few of them (part of a foot missing)",
    "miss: no box": "no box of ours holds this person's cells (later than 1 s after they stepped on)",
    "miss: late birth": "no box of ours holds this person's cells, within 1 s of their first frame",
    "miss: edge sliver": "a person all but off the mat: a box of fewer than EDGE_SLIVER_CELLS cells at its border",
    "miss: box or rim": "our box holds this person's cells alone, most of them, and still IoU < 0.5",
    "false: merged": "our box holds cells of two people",
    "false: split part": "our box holds part of a person whose cells lie in another box of ours too",
    "false: box mismatch": "our box holds one person's cells, alone, at IoU < 0.5 with their box",
    "false: phantom": "our box holds nobody's cells (noise)",
}
PART_CELLS = 10         # cells of a person a box must hold to count as holding part of them
FOOT_CELLS = 20         # cells of another person a box must hold to count as holding a foot of theirs
EDGE_SLIVER_CELLS = 40  # a person at the border whose box covers fewer cells is all but off the mat


def classify_frame(truth_boxes: np.ndarray, owner: np.ndarray, ours: list[tuple[tuple, np.ndarray]],
                   arrived_lately: np.ndarray) -> Counter:
    """Causes (`CAUSES`) of the missed and false box-frames of one frame. truth_boxes: (people, 4) x1,y1,x2,y2, zero
    rows when absent; owner: (rows, cols) index of the person loading each cell, -1 for none; ours: (box, flat cells)
    per confirmed box of ours; arrived_lately: (people,) bool, whether each person stepped on within the last 1 s."""
    present = [j for j in range(len(truth_boxes)) if np.any(truth_boxes[j] != 0)]
    flat_owner = owner.ravel()
    holds = [Counter(flat_owner[cells][flat_owner[cells] >= 0].tolist()) for _, cells in ours]
    cost = np.ones((len(present), len(ours)))
    for a, j in enumerate(present):
        for h, (box, _) in enumerate(ours):
            overlap = iou(tuple(truth_boxes[j]), box)
            cost[a, h] = 1.0 - overlap if overlap >= 0.5 else 1.0
    matched_truth, matched_ours = set(), set()
    for a, h in zip(*linear_sum_assignment(cost)):
        if cost[a, h] < 1.0:
            matched_truth.add(present[a])
            matched_ours.add(h)
    causes: Counter = Counter()
    rows, cols = owner.shape
    for j in present:
        if j in matched_truth:
            continue
        cells = int(np.count_nonzero(flat_owner == j))
        x1, y1, x2, y2 = truth_boxes[j]
        if (x2 - x1) * (y2 - y1) < EDGE_SLIVER_CELLS and (x1 <= 0 or y1 <= 0 or x2 >= cols or y2 >= rows):
            causes["miss: edge sliver"] += 1
            continue
        holders = [h for h in range(len(ours)) if holds[h][j] >= PART_CELLS]
        if not holders:
            causes["miss: late birth" if arrived_lately[j] else "miss: no box"] += 1
        elif len(holders) >= 2:
            causes["miss: split"] += 1
        else:
            others = {k: n for k, n in holds[holders[0]].items() if k != j and n >= FOOT_CELLS}
            if others:
                boxed_elsewhere = any(holds[g][k] >= FOOT_CELLS for k in others for g in range(len(ours))
                                      if g != holders[0])
                causes["miss: foreign foot" if boxed_elsewhere else "miss: merged"] += 1
            elif holds[holders[0]][j] < 0.8 * cells:
                causes["miss: short"] += 1
            else:
                causes["miss: box or rim"] += 1
    for h in range(len(ours)):
        if h in matched_ours:
            continue
        held = holds[h]
        if not held:
            causes["false: phantom"] += 1
        elif sum(n >= FOOT_CELLS for n in held.values()) >= 2:
            causes["false: merged"] += 1
        elif any(holds[g][max(held, key=held.get)] >= PART_CELLS for g in range(len(ours)) if g != h):
            causes["false: split part"] += 1
        else:
            causes["false: box mismatch"] += 1
    return causes


def scene_causes(pressure: np.ndarray, box: np.ndarray, owner: np.ndarray, fps: float, pitch: float) -> Counter:
    """Causes of every missed and false box-frame of our tracker on one scene (arrays as the simulator gives them)."""
    tracker = PressureTracker(TrackerConfig(report_lost=False, cell_pitch=pitch))
    frames = []
    for index, frame in enumerate(pressure):
        frames.append([(person.track_id, person.state, tuple(person.box), np.flatnonzero(person.mask))
                       for person in tracker.update(frame, index / fps)])
    confirmed = {track_id for people in frames for track_id, state, _, _ in people if state == TrackState.CONFIRMED}
    present = np.any(box != 0, axis=2)
    arrival = np.where(present.any(axis=0), present.argmax(axis=0), len(box))
    causes: Counter = Counter()
    for index, people in enumerate(frames):
        ours = [(person_box, cells) for track_id, _, person_box, cells in people if track_id in confirmed]
        causes += classify_frame(box[index], owner[index], ours, index - arrival < fps)
    return causes


def load_scene(scenario: str, seed: int, cache: Path | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """(pressure, box, owner, fps, pitch) of the grid's default scene with `scenario` and `seed`, from `cache` if there."""
    if seed >= SPLIT_SEEDS["heldout"]:
        raise ValueError(f"seed {seed} is held out (seeds from {SPLIT_SEEDS['heldout']}): diagnose on tuning seeds only")
    scene = replace(DEFAULT, scenario=scenario, people=None if scenario != "wander" else DEFAULT.people)
    path = cache / f"box_errors_{scenario}_seed{seed}.npz" if cache is not None else None
    if path is not None and path.exists():
        with np.load(path) as data:
            return data["pressure"], data["box"], data["owner"], float(data["fps"]), float(data["pitch"])
    from presstrack_sim.simulator import simulate_scene

    simulated = simulate_scene(sim_config(scene, seed))
    arrays = (np.asarray(simulated.pressure, dtype=np.float32), np.asarray(simulated.box, dtype=np.float64),
              np.asarray(simulated.cell_owner))
    if path is not None:
        store_scene(path, pressure=arrays[0], box=arrays[1], owner=arrays[2], fps=scene.fps, pitch=scene.pitch)
    return (*arrays, scene.fps, scene.pitch)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default="face_to_face")
    parser.add_argument("--seeds", type=int, nargs="+", required=True, help="tuning seeds (below 10000)")
    parser.add_argument("--cache", type=Path, help="folder the simulated scenes are kept in")
    args = parser.parse_args(argv)
    total: Counter = Counter()
    print("| seed | misses | false | by cause |")
    print("|---|---:|---:|---|")
    for seed in args.seeds:
        causes = scene_causes(*load_scene(args.scenario, seed, args.cache))
        total += causes
        print(_row(str(seed), causes), flush=True)
    print(_row("**all**", total))
    return 0


def _row(label: str, causes: Counter) -> str:
    misses = sum(n for cause, n in causes.items() if cause.startswith("miss"))
    detail = ", ".join(f"{n} {cause}" for cause, n in causes.most_common())
    return f"| {label} | {misses} | {sum(causes.values()) - misses} | {detail} |"


if __name__ == "__main__":
    sys.exit(main())
