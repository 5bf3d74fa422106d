"""Command-line tools: track a MIP-layout scene into a MOTChallenge file, and score track files.

    presstrack-track SCENE.npz --out tracks.txt [--baseline] [--pressure-scale KPA_PER_UNIT]
    presstrack-track-eval SCENE.npz tracks.txt [SCENE2.npz tracks2.txt ...]

presstrack-track writes the file as `motchallenge.OfflineFile` does: every confirmed row, a visit's tentative first
frames once it is confirmed, recognised returns under the known id, and the tracklets linked into people with
hindsight (linking.py; the live node's ids are decided frame by frame and never so).

Exit status: 0 on success, 2 on unusable input (one line on stderr naming the file and the problem), 3 when
presstrack-track finds nobody in the whole file (one line on stderr: the frames' pressure range, the unit it
assumed and how to set it; no track file is written).
"""
from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence

from presstrack_common.outputs import check_writable_file
from presstrack_common.mip_format import nonfinite_message

from .motchallenge import (SceneError, Scores, accumulate, combine_hota, ground_truth_frames, hypothesis_frames,
                           load_scene, read_mot, scores_from, track_scene, write_mot)
from .tracker import BaselineTracker, PressureTracker, TrackerConfig

EXIT_BAD_INPUT = 2
EXIT_NOBODY = 3
UNIT_FROM = {"caller": "--pressure-scale", "file": "the file's pressure_unit / pressure_scale_kpa",
             "assumed": "assumed MIP raw units: the file has no pressure_unit"}


def _fail(prog: str, message: object) -> int:
    """One line on stderr, as argparse words its own errors, and the bad-input status."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _report_nonfinite(path, count: int) -> None:
    if count:
        print(nonfinite_message(path, count), file=sys.stderr)


def nobody_message(scene) -> str:
    """One line: nobody was tracked in `scene`, its pressure range as read, the unit assumed and how to set it."""
    low, high = float(scene.pressure.min()), float(scene.pressure.max())
    stored = f"{low / scene.kpa_per_unit:.4g} to {high / scene.kpa_per_unit:.4g} stored units"
    return (f"{scene.path}: nobody tracked in {len(scene.pressure)} frames: pressure {low:.3g} to {high:.3g} kPa "
            f"({stored} x {scene.kpa_per_unit:.4g} kPa per unit, {UNIT_FROM[scene.unit_from]}); if the unit is "
            f"wrong, pass --pressure-scale KPA_PER_UNIT or store 'pressure_unit' and 'pressure_scale_kpa' in the file")


def track_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of presstrack-track."""
    parser = argparse.ArgumentParser(prog="presstrack-track", description="Track the people of a MIP-layout scene "
                                     "and write MOTChallenge rows (frame,id,left,top,width,height,conf,-1,-1,-1; cells).")
    parser.add_argument("scene", help="scene .npz with key 'pressure' (T, rows, cols)")
    parser.add_argument("--out", required=True, help="output MOTChallenge text file")
    parser.add_argument("--baseline", action="store_true", help="use the nearest-centroid blob tracker")
    parser.add_argument("--pressure-scale", type=float, default=None,
                        help="kPa per stored unit (default: the file's 'pressure_unit' / 'pressure_scale_kpa', "
                             "else MIP raw units)")
    args = parser.parse_args(argv)
    if args.pressure_scale is not None and not (math.isfinite(args.pressure_scale) and args.pressure_scale > 0):
        return _fail("presstrack-track", f"--pressure-scale must be a positive number, got {args.pressure_scale}")
    try:
        check_writable_file(args.out, "track file")
    except ValueError as error:
        return _fail("presstrack-track", error)
    try:
        scene = load_scene(args.scene, pressure_scale_kpa=args.pressure_scale)
    except SceneError as error:
        return _fail("presstrack-track", error)
    _report_nonfinite(scene.path, scene.nonfinite_cells)
    # The file's own cell pitch: feet and steps are measured in metres.
    config = TrackerConfig(report_lost=False, cell_pitch=scene.cell_pitch)
    tracker = BaselineTracker(config) if args.baseline else PressureTracker(config)
    rows = track_scene(scene, tracker)
    if not rows:
        print(f"presstrack-track: error: {nobody_message(scene)}", file=sys.stderr)
        return EXIT_NOBODY
    try:
        write_mot(rows, args.out)
    except OSError as error:
        return _fail("presstrack-track", f"{args.out}: cannot write ({error.strerror})")
    print(f"{args.out}: {len(rows)} rows, {len({r.track_id for r in rows})} ids, {len(scene.pressure)} frames")
    return 0


def _format(name: str, scores: Scores) -> str:
    return (f"{name:<40} {scores.frames:>7d} {100 * scores.mota:>7.1f} {100 * scores.motp:>7.1f} {100 * scores.idf1:>7.1f} "
            f"{scores.id_switches:>6d} {100 * scores.hota.hota:>7.1f} {100 * scores.hota.deta:>7.1f} {100 * scores.hota.assa:>7.1f}")


def eval_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of presstrack-track-eval."""
    parser = argparse.ArgumentParser(prog="presstrack-track-eval", description="Score MOTChallenge track files against "
                                     "the ground-truth 'box' key of MIP-layout scenes (MOTA, MOTP as mean IoU, IDF1, "
                                     "id switches, HOTA). Percentages.")
    parser.add_argument("pairs", nargs="+", metavar="SCENE.npz TRACKS.txt", help="scene and track file, repeated")
    args = parser.parse_args(argv)
    if len(args.pairs) % 2:
        return _fail("presstrack-track-eval", "expected pairs of SCENE.npz TRACKS.txt, got an odd number of paths")
    import motmetrics

    accumulators, hotas, names, lines = [], [], [], []
    for scene_path, tracks_path in zip(args.pairs[::2], args.pairs[1::2]):
        try:
            scene = load_scene(scene_path, need_boxes=True)
            gt = ground_truth_frames(scene.boxes)
            hyp = hypothesis_frames(read_mot(tracks_path), len(gt), tracks_path)
        except SceneError as error:
            return _fail("presstrack-track-eval", error)
        accumulator, hota_result = accumulate(gt, hyp)
        name = str(scene_path)
        accumulators.append(accumulator)
        hotas.append(hota_result)
        names.append(name)
        lines.append(_format(name, scores_from(accumulator, hota_result, name)))
    print(f"{'sequence':<40} {'frames':>7} {'MOTA':>7} {'MOTP':>7} {'IDF1':>7} {'IDsw':>6} {'HOTA':>7} {'DetA':>7} {'AssA':>7}")
    print("\n".join(lines))
    if len(accumulators) > 1:
        summary = motmetrics.metrics.create().compute_many(
            accumulators, names=names, metrics=["num_frames", "mota", "motp", "idf1", "num_switches"], generate_overall=True)
        overall = summary.loc["OVERALL"]
        print(_format("OVERALL", Scores(int(overall["num_frames"]), float(overall["mota"]), 1.0 - float(overall["motp"]),
                                        float(overall["idf1"]), int(overall["num_switches"]), combine_hota(hotas))))
    return 0
