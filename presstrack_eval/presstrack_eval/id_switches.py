"""Why identities switch: our tracker on simulated sessions, every id switch classified by cause against the truth.

    python -m presstrack_eval.id_switches --scenario random --people 3 --seeds 2 3 4 5 6 --seconds 300
    python -m presstrack_eval.id_switches --long --people 4 --seeds 500 --seconds 1800 [--cache DIR]

Both protocols are scored: offline (a provisional id recognised as a known one is written under it from its
first row, the MOT protocol of `presstrack-track`) and as published (each confirmed row under the id it had on
its frame, what a live subscriber and `presstrack-soak` see). A switch is a truth person matched (IoU >= 0.5)
under another id than the last one they were matched under; its cause (`CAUSES`) says what the new id was and
whether the person had been off the mat in between (a return) or not. `--long`: scenario 'enter_leave' on the
grid's default mat, as `presstrack-track-suite --long` runs it (its seed is the seed given, not the split's).
Scenes are simulated once per `--cache` directory and read back from it (a 5-minute scene is ~500 MB).
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from .track_suite import mot_rows, ours, score_rows
from pressure_tracker.motchallenge import OfflineFile

CAUSES = {
    "rename": "the provisional id replaced by the known id it was recognised as (as published only)",
    "new id, return": "a new id for a person who had been off the mat",
    "new id, on mat": "a new id for a person who never left the mat (feet lost for a moment, or taken as a new person)",
    "own id, return": "back to the id this person was mostly seen under, after being off the mat",
    "own id, on mat": "back to the id this person was mostly seen under, without leaving the mat",
    "another's id, return": "the id another person was mostly seen under, after being off the mat",
    "another's id, on mat": "the id another person was mostly seen under (a swap, a hand-over)",
}
CHUNK_FRAMES = 150


def classify_switches(events, present: np.ndarray, aliases: dict[int, int]) -> Counter:
    """Count the id switches of a motmetrics accumulator's `events` (mot_events) by cause (`CAUSES`). present:
    (T, people) whether each truth person (id = slot + 1) is on the mat; aliases: provisional id -> known id."""
    matched = events[events["Type"].isin(["MATCH", "SWITCH"])]
    frames = np.asarray(matched.index.get_level_values("FrameId"))
    last: dict[int, tuple[int, int]] = {}   # truth id -> (hypothesis id, frame) of their last match
    seen: dict[int, Counter] = {}           # hypothesis id -> frames matched to each truth id so far
    causes: Counter = Counter()
    for frame, kind, truth, hypothesis in zip(frames, matched["Type"], matched["OId"], matched["HId"]):
        truth, hypothesis = int(truth), int(hypothesis)
        if kind == "SWITCH" and truth in last:
            previous, since = last[truth]
            returned = not present[since + 1:frame, truth - 1].all()
            where = "return" if returned else "on mat"
            if aliases.get(previous) == hypothesis:
                causes["rename"] += 1
            elif hypothesis not in seen:
                causes[f"new id, {where}"] += 1
            elif seen[hypothesis].most_common(1)[0][0] == truth:
                causes[f"own id, {where}"] += 1
            else:
                causes[f"another's id, {where}"] += 1
        last[truth] = (hypothesis, int(frame))
        seen.setdefault(hypothesis, Counter())[truth] += 1
    return causes


def _chunks(args, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray, float]]:
    """(pressure, box, fps) of the session, CHUNK_FRAMES at a time, simulated or read from args.cache."""
    from presstrack_sim.simulator import SimConfig, Simulator
    from .track_grid import DEFAULT, sim_config

    if args.long:
        config = sim_config(replace(DEFAULT, scenario="enter_leave", people=args.people, seconds=args.seconds), seed)
    else:
        config = SimConfig(scenario=args.scenario, people=args.people, seed=seed, seconds=args.seconds, fps=args.fps)
    folder = Path(args.cache) / f"{'long' if args.long else args.scenario}-{args.people}-{seed}-{args.seconds:g}" \
        if args.cache else None
    simulator = None
    for start in range(0, config.frames, CHUNK_FRAMES):
        stop = min(start + CHUNK_FRAMES, config.frames)
        files = (folder / f"{start}.pressure.npy", folder / f"{start}.box.npy") if folder else None
        if files and files[1].exists():
            yield np.load(files[0]), np.load(files[1]), config.fps
            continue
        simulator = simulator or Simulator(config)
        chunk = simulator.render_chunk(start, stop)
        if files:
            folder.mkdir(parents=True, exist_ok=True)
            np.save(files[0], chunk.pressure)
            np.save(files[1], chunk.box)
        yield chunk.pressure, chunk.box, config.fps


def diagnose(args, seed: int) -> dict[str, tuple]:
    """Per protocol ('offline', 'published'): (scores, ids, switch causes) of our tracker on the session."""
    tracker = ours()
    published, boxes = [], []
    offline = None
    start = 0
    for pressure, box, fps in _chunks(args, seed):
        offline = offline or OfflineFile(fps)
        mot_rows(tracker, pressure, fps, start_frame=start, offline=offline, published_out=published)
        boxes.append(box)
        start += len(pressure)
    box = np.concatenate(boxes).astype(np.float64)
    present = np.any(box != 0, axis=2)
    out = {}
    for protocol, protocol_rows in (("offline", offline.rows()), ("published", published)):
        result = score_rows(sorted(protocol_rows, key=lambda row: (row.frame, row.track_id)), box, protocol, 0.0)
        out[protocol] = (result.scores, result.ids,
                         classify_switches(result.accumulator.mot_events, present, offline.aliases))
    return out


def scene_arguments(description: str) -> argparse.ArgumentParser:
    """The scene options `_chunks` reads (shared with `reid_signatures`)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--scenario", default="random")
    parser.add_argument("--long", action="store_true", help="the long session's scenes (enter_leave, grid default mat)")
    parser.add_argument("--people", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", required=True)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--cache", help="folder the simulated scenes are kept in")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = scene_arguments(__doc__.split("\n")[0]).parse_args(argv)
    print("| seed | protocol | MOTA | IDF1 | IDsw | ids | switches by cause |")
    print("|---|---|---:|---:|---:|---:|---|")
    for seed in args.seeds:
        for protocol, (scores, ids, causes) in diagnose(args, seed).items():
            detail = ", ".join(f"{count} {cause}" for cause, count in causes.most_common())
            print(f"| {seed} | {protocol} | {100 * scores.mota:.1f} | {100 * scores.idf1:.1f} | {scores.id_switches} "
                  f"| {ids} | {detail} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
