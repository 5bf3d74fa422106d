"""A long simulated session of people who leave the mat and come back: do identities hold for half an hour?

    presstrack-track-suite --long [--long-minutes 30] [--long-people 4] [--split heldout|tuning] [--out long.md]

The people (3-5) walk in over an edge, wander, walk out over another edge, wait outside 1-3 s and come back,
for the whole session (scenario 'enter_leave'), on the grid's default mat, sensor and feet (track_grid.py).
The session is simulated in chunks and every tracker is fed each chunk as it is made, so memory stays that of
a chunk whatever the length. The session's seed is the split's first seed + LONG_SEED_OFFSET.

Reported per tracker: MOTA, IDF1, id switches in all and per person per 5 minutes, track ids issued. Our tracker is
scored twice: as the MOT protocol does offline (a provisional id recognised as a known one written under it from its
first row, tentative rows back-filled, tracklets linked with hindsight: `motchallenge.OfflineFile`) and as published
(LIVE_NAME: each confirmed row under the id it had on its frame, as a live subscriber and `presstrack-soak` see it:
every rename is an id switch).
"""
from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from .peers import PEERS, make_peer
from .track_grid import DEFAULT, SPLIT_SEEDS, sim_config
from pressure_tracker.motchallenge import OfflineFile

from .track_suite import OURS, TrackerResult, mot_rows, ours, peer_rows, score_rows

LONG_SEED_OFFSET = 500
CHUNK_FRAMES = 150  # frames simulated and tracked together (10 s at 15 Hz; some 20 MB of pressure)
WINDOW_MINUTES = 5.0  # id switches are reported per person per this many minutes
LIVE_NAME = f"{OURS} as published"


def run_long(minutes: float, people: int, split: str = "heldout", peers: Sequence[str] = PEERS,
             log=print) -> tuple[dict[str, TrackerResult], dict]:
    """Per tracker name, its result over the whole session; and the session's facts (frames, people, seed)."""
    from presstrack_sim.simulator import Simulator
    from pressure_tracker.tracker import BaselineTracker, TrackerConfig

    if not minutes > 0:
        raise ValueError(f"--long-minutes must be positive, got {minutes}")
    if not 3 <= people <= 5:
        raise ValueError(f"the long session has 3-5 people, got {people}")
    seed = SPLIT_SEEDS[split] + LONG_SEED_OFFSET
    scene = replace(DEFAULT, scenario="enter_leave", people=people, seconds=60.0 * minutes)
    config = sim_config(scene, seed)
    simulator = Simulator(config)
    frames, fps = config.frames, config.fps
    ours_tracker = ours(scene.pitch)
    baseline = BaselineTracker(TrackerConfig(cell_pitch=scene.pitch))
    peer_trackers = {name: make_peer(name, fps) for name in peers}
    rows: dict[str, list] = {name: [] for name in (OURS, LIVE_NAME, "baseline", *peers)}
    seconds = dict.fromkeys(rows, 0.0)
    offline = {OURS: OfflineFile(fps), "baseline": OfflineFile(fps)}
    boxes = np.zeros((frames, len(simulator.people), 4), dtype=np.float32)
    start_time = time.perf_counter()
    for start in range(0, frames, CHUNK_FRAMES):
        chunk = simulator.render_chunk(start, min(start + CHUNK_FRAMES, frames))
        boxes[start:start + len(chunk.pressure)] = chunk.box
        detections: list = []
        for name, tracker in ((OURS, ours_tracker), ("baseline", baseline)):
            began = time.perf_counter()
            mot_rows(tracker, chunk.pressure, fps, start_frame=start, offline=offline[name],
                     detections_out=detections if name == OURS else None,
                     published_out=rows[LIVE_NAME] if name == OURS else None)
            seconds[name] += time.perf_counter() - began
        for name, peer in peer_trackers.items():
            began = time.perf_counter()
            rows[name] += peer_rows(peer, detections, start_frame=start)
            seconds[name] += time.perf_counter() - began
        if start // CHUNK_FRAMES % 40 == 0:
            log(f"long session: {start + len(chunk.pressure)} / {frames} frames, "
                f"{time.perf_counter() - start_time:.0f} s", file=sys.stderr)
    seconds[LIVE_NAME] = seconds[OURS]   # live, nothing is linked with hindsight
    for name, file in offline.items():
        began = time.perf_counter()
        rows[name] = file.rows()
        seconds[name] += time.perf_counter() - began
    results = {name: score_rows(sorted(r, key=lambda row: (row.frame, row.track_id)), boxes.astype(np.float64),
                                "long", frames / max(1e-9, seconds[name]))
               for name, r in rows.items()}
    facts = {"minutes": minutes, "frames": frames, "fps": fps, "people": len(simulator.people), "seed": seed,
             "split": split, "returns": int(_returns(boxes))}
    return results, facts


def _returns(boxes: np.ndarray) -> int:
    """How many times someone stepped back onto the mat after being off it (T, people, 4) boxes."""
    present = np.any(boxes != 0, axis=2)
    arrivals = (present[1:] & ~present[:-1]).sum(axis=0)
    first = present.any(axis=0) & ~present[0]  # a first arrival is not a return
    return int(np.sum(arrivals - first))


def switches_per_person_window(result: TrackerResult, facts: dict) -> float:
    """Id switches per person per WINDOW_MINUTES of session."""
    return result.scores.id_switches / facts["people"] / (facts["minutes"] / WINDOW_MINUTES)


def switches_in_windows(result: TrackerResult, facts: dict) -> list[int]:
    """Id switches in each WINDOW_MINUTES of the session, in order (the last window may be shorter): whether
    identities hold steadily or decay as the session goes on."""
    window = max(1, int(round(WINDOW_MINUTES * 60.0 * facts["fps"])))
    events = result.accumulator.mot_events
    frames = np.asarray(events.index.get_level_values("FrameId"))[np.asarray(events["Type"] == "SWITCH")]
    return np.bincount(frames.astype(int) // window, minlength=-(-facts["frames"] // window)).tolist()


def report(results: dict[str, TrackerResult], facts: dict) -> tuple[str, dict]:
    lines = [f"# Long session ({facts['minutes']:g} min, {facts['people']} people leaving and coming back "
             f"{facts['returns']} times, {facts['frames']} frames at {facts['fps']:g} Hz, {facts['split']} seed "
             f"{facts['seed']}; IoU >= 0.5)", "",
             f"| tracker | MOTA | IDF1 | IDsw | IDsw / person / {WINDOW_MINUTES:g} min | IDsw in each {WINDOW_MINUTES:g} min | "
             "ids | FP | FN | frames/s |",
             "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
    payload: dict = {**facts, "trackers": {}}
    for name, r in results.items():
        per_window = switches_per_person_window(r, facts)
        windows = switches_in_windows(r, facts)
        payload["trackers"][name] = {"mota": r.scores.mota, "idf1": r.scores.idf1, "id_switches": r.scores.id_switches,
                                     "id_switches_per_person_per_5_min": per_window,
                                     "id_switches_in_each_5_min": windows, "ids": r.ids,
                                     "false_positives": r.false_positives, "misses": r.misses, "frames_per_s": r.fps}
        label = f"**{name}**" if name in (OURS, LIVE_NAME) else name
        lines.append(f"| {label} | {100 * r.scores.mota:.1f} | {100 * r.scores.idf1:.1f} | {r.scores.id_switches} | "
                     f"{per_window:.2f} | {', '.join(map(str, windows))} | {r.ids} | {r.false_positives} | {r.misses} | {r.fps:.0f} |")
    return "\n".join(lines), payload
