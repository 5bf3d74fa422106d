"""Tracking benchmark on simulated crowd scenes: PressureTracker against the nearest-centroid baseline.

    presstrack-track-suite [--out suite.md] [--json suite.json] [--cache DIR] [--seconds S] [--scenes NAME ...]

Scenes come from the crowd simulator (presstrack_sim) with fixed seeds, so every run scores the same
recordings: two people crossing, three wandering, a couple side by side 40 cm apart, a face-to-face
couple, one standing while another passes, people entering and leaving. The ground truth is the
simulator's per-person box, labelled as MIP's are: around the person's own cells that the mat reads
above 1.5 kPa (presstrack_sim.simulator.label_box).
Generating a scene costs seconds (the simulator renders ~60 frames/s); with --cache DIR each scene is
stored there once as .npz (pressure, box, fps) and reused.

MOT rows: confirmed tracks only, as `presstrack-track` writes them; the first min_hits - 1 frames of a
track, reported tentative at the time, are written retroactively once it is confirmed (an offline
evaluation may look back; a live consumer sees them as TENTATIVE). Lost tracks are never written.
Scores (motchallenge.evaluate): MOTA, MOTP (mean IoU of matches), IDF1, id switches, HOTA; the overall
row pools all frames (motmetrics' OVERALL; HOTA combined as in TrackEval).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from presstrack_common.outputs import check_writable_file
from pressure_tracker.motchallenge import MotRow, Scores, accumulate, combine_hota, ground_truth_frames, hypothesis_frames, scores_from
from pressure_tracker.tracker import BaselineTracker, PressureTracker, TrackerConfig
from pressure_tracker.tracking import TrackState

DEFAULT_FPS = 15.0


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
    absent (slot = identity); fps [Hz]."""

    pressure: np.ndarray
    box: np.ndarray
    fps: float


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
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.npz")
        np.savez_compressed(partial, pressure=data.pressure, box=data.box, fps=fps)
        partial.replace(path)
    return data


def mot_rows(tracker, pressure: np.ndarray, fps: float, backfill_tentative: bool = True) -> list[MotRow]:
    """Run `tracker` over `pressure` (T, rows, cols) [kPa]; MOT rows of confirmed tracks, plus (if
    backfill_tentative) the rows a track had while tentative, written once it is confirmed."""
    rows: list[MotRow] = []
    pending: dict[int, list[MotRow]] = {}
    for index, frame in enumerate(pressure):
        for person in tracker.update(frame, index / fps):
            if person.state == TrackState.LOST:
                continue
            x1, y1, x2, y2 = person.box
            row = MotRow(index + 1, person.track_id, x1, y1, x2 - x1, y2 - y1, person.confidence)
            if person.state == TrackState.TENTATIVE:
                pending.setdefault(person.track_id, []).append(row)
                continue
            if backfill_tentative:
                rows += pending.pop(person.track_id, [])
            rows.append(row)
    rows.sort(key=lambda r: (r.frame, r.track_id))
    return rows


@dataclass
class TrackerResult:
    """Scores of one tracker on one scene, the motmetrics accumulator and HOTA result (for pooling),
    people in the ground truth, ids written and tracking speed [frames/s]."""

    scores: Scores
    accumulator: object
    hota: object
    people: int
    ids: int
    fps: float


def score_tracker(make_tracker, data: SceneData, name: str) -> TrackerResult:
    start = time.perf_counter()
    rows = mot_rows(make_tracker(), data.pressure, data.fps)
    speed = len(data.pressure) / max(1e-9, time.perf_counter() - start)
    gt = ground_truth_frames(data.box)
    accumulator, hota_result = accumulate(gt, hypothesis_frames(rows, len(gt), name))
    people = int(np.any(data.box != 0, axis=(0, 2)).sum())
    return TrackerResult(scores_from(accumulator, hota_result, name), accumulator, hota_result, people,
                         len({r.track_id for r in rows}), speed)


TRACKERS = {
    "PressureTracker": lambda: PressureTracker(TrackerConfig(report_lost=False)),
    "baseline": BaselineTracker,
}


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
              trackers: dict | None = None, log=print) -> dict[str, dict[str, TrackerResult]]:
    """Per tracker name, per scene name, the result. Trackers default to TRACKERS."""
    trackers = trackers or TRACKERS
    results: dict[str, dict[str, TrackerResult]] = {name: {} for name in trackers}
    for scene in scenes:
        start = time.perf_counter()
        data = load_or_simulate(scene, cache, fps)
        log(f"{scene.name}: {len(data.pressure)} frames ready in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        for name, make in trackers.items():
            results[name][scene.name] = score_tracker(make, data, scene.name)
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of presstrack-track-suite."""
    parser = argparse.ArgumentParser(prog="presstrack-track-suite", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the Markdown tables here")
    parser.add_argument("--json", type=Path, help="write the scores as JSON here")
    parser.add_argument("--cache", type=Path, help="store / reuse simulated scenes in this folder")
    parser.add_argument("--seconds", type=float, help="override every scene's length [s] (quick runs)")
    parser.add_argument("--scenes", nargs="+", metavar="NAME", help=f"subset of: {' '.join(s.name for s in SCENES)}")
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
    except ValueError as error:
        print(f"presstrack-track-suite: error: {error}", file=sys.stderr)
        return 2
    scenes = [known[n] for n in args.scenes] if args.scenes else list(SCENES)
    if args.seconds is not None:
        scenes = [SuiteScene(s.name, s.scenario, s.seed, args.seconds) for s in scenes]
    results = run_suite(scenes, args.cache)
    markdown, payload = report(scenes, results)
    print(markdown)
    try:
        if args.out is not None:
            args.out.write_text(markdown + "\n", encoding="utf-8")
        if args.json is not None:
            args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    except OSError as error:  # checked at start; the disk may still fill up
        print(f"presstrack-track-suite: error: cannot write results ({error})", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
