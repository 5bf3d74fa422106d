"""Tracking benchmark on simulated crowd scenes: PressureTracker against the baseline and peer trackers.

    presstrack-track-suite [--out suite.md] [--json suite.json] [--cache DIR] [--seconds S] [--scenes NAME ...]
    presstrack-track-suite --grid [--split heldout|tuning] [--repeats N] [--axes AXIS ...] [--old-labels]
                           [--cache DIR] [--out ...]
    presstrack-track-suite --long [--long-minutes M] [--long-people N] [--split ...] [--out ...]

--grid: the robustness grid (track_grid.py); --long: one long session of people leaving and coming back
(track_long.py).

Scenes come from the crowd simulator (presstrack_sim) with fixed seeds, so every run scores the same
recordings: two people crossing, three wandering, a couple side by side 40 cm apart, a face-to-face
couple, one standing while another passes, people entering and leaving. The ground truth is the
simulator's per-person box, labelled as MIP's are: around the person's own cells that the mat reads
above 1.5 kPa, or 3 noise sigmas on a noisier mat, in regions of more than one cell
(presstrack_sim.simulator.label_box).
Generating a scene costs seconds (the simulator renders ~60 frames/s); with --cache DIR each scene is
stored there once as .npz (pressure, box, fps) and reused.

MOT rows: confirmed tracks only, as `presstrack-track` writes them; the first min_hits - 1 frames of a
track, reported tentative at the time, are written retroactively once it is confirmed (an offline
evaluation may look back; a live consumer sees them as TENTATIVE). Lost tracks are never written. A newcomer
is confirmed at once under a provisional id; one later recognised as somebody who had left
(`PressureTracker.recognised`) has all its rows written under that person's id (a live consumer sees them as
tentative until their id is settled: `TrackedPerson.withheld`). Then, with hindsight, the file's tracklets are
linked into people (pressure_tracker/linking.py: never co-present, reachable at walking speed, one body; offline
only, as `presstrack-track` writes its files).
Scores (motchallenge.evaluate): MOTA, MOTP (mean IoU of matches), IDF1, id switches, HOTA; the overall
row pools all frames (motmetrics' OVERALL; HOTA combined as in TrackEval).

Every table also scores the peers of peers.py (the paper's UoE tracker, SORT, ByteTrack, OC-SORT) on our
tracker's own per-frame person detections (`PressureTracker.frame_detections`), so they differ from ours only
in association; the nearest-centroid baseline finds its own blobs.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from presstrack_common.outputs import check_writable_file
from pressure_tracker.motchallenge import (MotRow, OfflineFile, Scores, accumulate, combine_hota, ground_truth_frames,
                                          hypothesis_frames, scores_from)
from pressure_tracker.tracker import BaselineTracker, PressureTracker, TrackState, TrackerConfig

from .peers import PEERS, detection_boxes, make_peer

DEFAULT_FPS = 15.0
OURS = "PressureTracker"


@dataclass(frozen=True)
class SuiteScene:
    """One benchmark scene: simulator scenario, seed and length [s]; name labels the table row."""

    name: str
    scenario: str
    seed: int
    seconds: float


SCENES = (
    SuiteScene("crossing2-a", "crossing2", 11, 40.0),
    SuiteScene("crossing2-b", "crossing2", 12, 40.0),
    SuiteScene("wander3-a", "wander3", 21, 45.0),
    SuiteScene("wander3-b", "wander3", 22, 45.0),
    SuiteScene("side_by_side", "side_by_side", 31, 40.0),
    SuiteScene("face_to_face", "face_to_face", 41, 40.0),
    SuiteScene("stand_and_pass", "stand_and_pass", 51, 40.0),
    SuiteScene("enter_leave", "enter_leave", 61, 45.0),
)


@dataclass
class SceneData:
    """pressure (T, rows, cols) float32 [kPa]; box (T, people, 4) x1,y1,x2,y2 [cells], zero rows when
    absent (slot = identity); fps [Hz]; cell_pitch [m]."""

    pressure: np.ndarray
    box: np.ndarray
    fps: float
    cell_pitch: float = 0.01


def _cache_path(cache: Path, scene: SuiteScene, fps: float) -> Path:
    return cache / f"{scene.scenario}_seed{scene.seed}_{scene.seconds:g}s_{fps:g}fps.npz"


def load_or_simulate(scene: SuiteScene, cache: Path | None = None, fps: float = DEFAULT_FPS) -> SceneData:
    """The scene's recording, from `cache` if stored there, else simulated (and stored when cache is set)."""
    path = _cache_path(cache, scene, fps) if cache is not None else None
    if path is not None and path.exists():
        with np.load(path) as data:
            return SceneData(data["pressure"].astype(np.float32), data["box"].astype(np.float64), float(data["fps"]))
    # Imported on use: the simulator pulls in torch and the body model.
    from presstrack_sim.simulator import SimConfig, simulate_scene

    simulated = simulate_scene(SimConfig(scenario=scene.scenario, seconds=scene.seconds, seed=scene.seed, fps=fps))
    data = SceneData(np.asarray(simulated.pressure, dtype=np.float32), np.asarray(simulated.box, dtype=np.float64), fps)
    if path is not None:
        store_scene(path, pressure=data.pressure, box=data.box, fps=fps)
    return data


def store_scene(path: Path, **arrays: np.ndarray | float) -> None:
    """Write a cached scene atomically. The temporary name holds the process id, so runs sharing a cache
    never write into each other's file; the last rename wins with a whole file either way."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial.npz")
    np.savez_compressed(partial, **arrays)
    partial.replace(path)


def mot_rows(tracker, pressure: np.ndarray, fps: float, backfill_tentative: bool = True, start_frame: int = 0,
             detections_out: list | None = None, offline: OfflineFile | None = None,
             published_out: list | None = None) -> list[MotRow]:
    """Run `tracker` over `pressure` (T, rows, cols) [kPa]; the MOT rows an offline writer writes (`OfflineFile`:
    confirmed tracks, plus, if backfill_tentative, the rows a track had while tentative, written once it is
    confirmed; relabelled and linked with hindsight). `offline`: the file of a longer recording fed in pieces
    (the tracker keeps its state between them; `start_frame` is the index of pressure[0] in it): each piece is
    added to it and the rows it added are returned, unlabelled; the caller takes `offline.rows()` after the last.
    `detections_out`: each frame's `tracker.frame_detections` as (boxes, confidences) is appended here.
    `published_out`: the confirmed rows as a live subscriber sees them (no back-fill, no relabelling, no withheld
    rows: each id as published on its frame) are appended here."""
    whole = offline is None
    offline = OfflineFile(fps, backfill_tentative) if whole else offline
    added: list[MotRow] = []
    for index, frame in enumerate(pressure, start=start_frame):
        people = tracker.update(frame, index / fps)
        if detections_out is not None:
            detections_out.append(detection_boxes(tracker.frame_detections))
        added += offline.add(index, people, tracker, frame.shape)
        if published_out is not None:
            published_out += [MotRow.of_person(index, p) for p in people
                              if p.state == TrackState.CONFIRMED and not p.withheld]
    return offline.rows() if whole else added


def peer_rows(peer, detections: Sequence[tuple[np.ndarray, np.ndarray]], start_frame: int = 0) -> list[MotRow]:
    """MOT rows of a peer tracker (peers.py) fed one (boxes, confidences) pair per frame."""
    rows = []
    for index, (boxes, confidences) in enumerate(detections, start=start_frame):
        for track_id, (x1, y1, x2, y2) in peer.update(boxes, confidences):
            rows.append(MotRow(index + 1, track_id, x1, y1, x2 - x1, y2 - y1, 1.0))
    return rows


@dataclass
class TrackerResult:
    """Scores of one tracker on one scene, the motmetrics accumulator and HOTA result (for pooling),
    people in the ground truth, ids written, tracking speed [frames/s] (for a peer: its association alone),
    false positives and misses (box-frames)."""

    scores: Scores
    accumulator: object
    hota: object
    people: int
    ids: int
    fps: float
    false_positives: int = 0
    misses: int = 0


def score_rows(rows: Sequence[MotRow], box: np.ndarray, name: str, speed: float) -> TrackerResult:
    """Score MOT rows against the true boxes (T, people, 4)."""
    import motmetrics

    gt = ground_truth_frames(box)
    accumulator, hota_result = accumulate(gt, hypothesis_frames(rows, len(gt), name))
    counts = motmetrics.metrics.create().compute(accumulator, metrics=["num_false_positives", "num_misses"], name=name)
    people = int(np.any(box != 0, axis=(0, 2)).sum())
    return TrackerResult(scores_from(accumulator, hota_result, name), accumulator, hota_result, people,
                         len({r.track_id for r in rows}), speed, int(counts.iloc[0]["num_false_positives"]),
                         int(counts.iloc[0]["num_misses"]))


def ours(cell_pitch: float = 0.01) -> PressureTracker:
    """Our tracker as the suite runs it (lost tracks not reported)."""
    return PressureTracker(TrackerConfig(report_lost=False, cell_pitch=cell_pitch))


def _timed(run) -> tuple[list[MotRow], float]:
    start = time.perf_counter()
    rows = run()
    return rows, time.perf_counter() - start


def track_all(data: SceneData, peers: Sequence[str] = PEERS) -> dict[str, tuple[list[MotRow], float]]:
    """Per tracker name (ours, the baseline, each peer): its MOT rows on the scene and its frames/s. The peers
    are fed the detections our tracker made on each frame."""
    frames = max(1, len(data.pressure))
    detections: list = []
    runs = {OURS: _timed(lambda: mot_rows(ours(data.cell_pitch), data.pressure, data.fps, detections_out=detections)),
            "baseline": _timed(lambda: mot_rows(BaselineTracker(TrackerConfig(cell_pitch=data.cell_pitch)),
                                                data.pressure, data.fps))}
    for name in peers:
        runs[name] = _timed(lambda: peer_rows(make_peer(name, data.fps), detections))
    return {name: (rows, frames / max(1e-9, seconds)) for name, (rows, seconds) in runs.items()}


def score_scene(data: SceneData, name: str, peers: Sequence[str] = PEERS) -> dict[str, TrackerResult]:
    """Per tracker name, its result on one scene (`track_all`)."""
    return {tracker: score_rows(rows, data.box, name, speed) for tracker, (rows, speed) in track_all(data, peers).items()}


def overall(results: dict[str, TrackerResult]) -> Scores:
    """Scores pooled over scenes (motmetrics OVERALL, HOTA combined)."""
    import motmetrics

    names = list(results)
    summary = motmetrics.metrics.create().compute_many(
        [results[n].accumulator for n in names], names=names,
        metrics=["num_frames", "mota", "motp", "idf1", "num_switches"], generate_overall=True)
    row = summary.loc["OVERALL"]
    motp = float(row["motp"])
    return Scores(int(row["num_frames"]), float(row["mota"]), 1.0 - motp if math.isfinite(motp) else 0.0,
                  float(row["idf1"]), int(row["num_switches"]), combine_hota([results[n].hota for n in names]))


def _scores_dict(scores: Scores, ids: int | None = None, speed: float | None = None) -> dict:
    entry = {"frames": scores.frames, "mota": scores.mota, "motp": scores.motp, "idf1": scores.idf1,
             "id_switches": scores.id_switches, "hota": scores.hota.hota, "deta": scores.hota.deta, "assa": scores.hota.assa}
    if ids is not None:
        entry["ids"] = ids
    if speed is not None:
        entry["frames_per_s"] = speed
    return entry


def _table(tracker: str, results: dict[str, TrackerResult], total: Scores) -> str:
    lines = [f"### {tracker}", "",
             "| scene | frames | people | ids | MOTA | MOTP | IDF1 | IDsw | HOTA | frames/s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        s = r.scores
        lines.append(f"| {name} | {s.frames} | {r.people} | {r.ids} | {100 * s.mota:.1f} | {100 * s.motp:.1f} | "
                     f"{100 * s.idf1:.1f} | {s.id_switches} | {100 * s.hota.hota:.1f} | {r.fps:.0f} |")
    lines.append(f"| **overall** | {total.frames} | | | **{100 * total.mota:.1f}** | {100 * total.motp:.1f} | "
                 f"**{100 * total.idf1:.1f}** | {total.id_switches} | {100 * total.hota.hota:.1f} | |")
    return "\n".join(lines)


def run_suite(scenes: Sequence[SuiteScene], cache: Path | None = None, fps: float = DEFAULT_FPS,
              peers: Sequence[str] = PEERS, log=print) -> dict[str, dict[str, TrackerResult]]:
    """Per tracker name (ours, baseline, peers), per scene name, the result."""
    results: dict[str, dict[str, TrackerResult]] = {}
    for scene in scenes:
        start = time.perf_counter()
        data = load_or_simulate(scene, cache, fps)
        log(f"{scene.name}: {len(data.pressure)} frames ready in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        for tracker, result in score_scene(data, scene.name, peers).items():
            results.setdefault(tracker, {})[scene.name] = result
    return results


def report(scenes: Sequence[SuiteScene], results: dict[str, dict[str, TrackerResult]]) -> tuple[str, dict]:
    """Markdown tables (percentages) and a JSON-ready dict (fractions) of `run_suite` results."""
    sections = ["# Tracking suite (simulated scenes, 15 fps, IoU >= 0.5)", "",
                "Scenes: " + ", ".join(f"{s.name} ({s.scenario}, seed {s.seed}, {s.seconds:g} s)" for s in scenes), ""]
    payload: dict = {"scenes": [vars(s) for s in scenes], "trackers": {}}
    for tracker, per_scene in results.items():
        total = overall(per_scene)
        sections += [_table(tracker, per_scene, total), ""]
        payload["trackers"][tracker] = {
            "scenes": {name: {"people": r.people, **_scores_dict(r.scores, r.ids, r.fps)} for name, r in per_scene.items()},
            "overall": _scores_dict(total)}
    return "\n".join(sections), payload


def _write(markdown: str, payload: dict, out: Path | None, json_path: Path | None) -> int:
    print(markdown)
    try:
        if out is not None:
            out.write_text(markdown + "\n", encoding="utf-8")
        if json_path is not None:
            json_path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    except OSError as error:  # checked at start; the disk may still fill up
        print(f"presstrack-track-suite: error: cannot write results ({error})", file=sys.stderr)
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of presstrack-track-suite."""
    from .track_grid import AXES, SPLIT_SEEDS

    parser = argparse.ArgumentParser(prog="presstrack-track-suite", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the Markdown tables here")
    parser.add_argument("--json", type=Path, help="write the scores as JSON here")
    parser.add_argument("--cache", type=Path, help="store / reuse simulated scenes in this folder")
    parser.add_argument("--seconds", type=float, help="override every scene's length [s] (quick runs)")
    parser.add_argument("--scenes", nargs="+", metavar="NAME", help=f"subset of: {' '.join(s.name for s in SCENES)}")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--grid", action="store_true", help="the robustness grid (one table per axis)")
    mode.add_argument("--long", action="store_true", help="one long session of people leaving and coming back")
    parser.add_argument("--split", choices=tuple(SPLIT_SEEDS), default="heldout",
                        help="grid / long session seeds: tuning 0-999, heldout 10000+ (default)")
    parser.add_argument("--repeats", type=int, default=1, help="grid: seeds per cell (default 1)")
    parser.add_argument("--axes", nargs="+", choices=tuple(AXES), help="grid: only these axes (default: all)")
    parser.add_argument("--old-labels", action="store_true",
                        help="grid: boxes labelled as before issue 20's labeller (a fixed 1.5 kPa, inside the noise "
                             "of a noisy mat) instead of above the noise (max(1.5 kPa, 3 noise sigmas))")
    parser.add_argument("--long-minutes", type=float, default=30.0, help="long session length [min] (default 30)")
    parser.add_argument("--long-people", type=int, default=4, help="long session people, 3-5 (default 4)")
    args = parser.parse_args(argv)
    known = {s.name: s for s in SCENES}
    unknown = [n for n in args.scenes or [] if n not in known]
    if unknown:
        print(f"unknown scene(s) {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    if args.seconds is not None and not (math.isfinite(args.seconds) and args.seconds > 0):
        print(f"--seconds must be positive, got {args.seconds}", file=sys.stderr)
        return 2
    try:
        for path, what in ((args.out, "--out"), (args.json, "--json")):
            if path is not None:
                check_writable_file(path, what)
        if args.grid:
            from .track_grid import report as grid_report, run_grid

            results = run_grid(args.axes or tuple(AXES), args.split, args.repeats, args.seconds, args.cache,
                               old_labels=args.old_labels)
            return _write(*grid_report(results, args.split), args.out, args.json)
        if args.long:
            from .track_long import report as long_report, run_long

            if not (math.isfinite(args.long_minutes) and args.long_minutes > 0):
                raise ValueError(f"--long-minutes must be positive, got {args.long_minutes}")
            return _write(*long_report(*run_long(args.long_minutes, args.long_people, args.split)), args.out, args.json)
    except ValueError as error:
        print(f"presstrack-track-suite: error: {error}", file=sys.stderr)
        return 2
    scenes = [known[n] for n in args.scenes] if args.scenes else list(SCENES)
    if args.seconds is not None:
        scenes = [SuiteScene(s.name, s.scenario, s.seed, args.seconds) for s in scenes]
    results = run_suite(scenes, args.cache)
    return _write(*report(scenes, results), args.out, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
