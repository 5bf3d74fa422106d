"""Can returning people be told apart? Every visit's body signature as our tracker measured it, against the truth.

    python -m presstrack_eval.reid_signatures --long --people 4 --seeds 500 --seconds 1800 [--cache DIR]
    python -m presstrack_eval.reid_signatures --scenario random --people 3 --seeds 2 3 4 5 6 --seconds 300

A visit is one track from its first feet to its departure; its truth person is the one its boxes overlapped most
(IoU >= 0.5, in most of its frames). Reported per truth person: the simulated body weight and foot length, and
the mean and spread of what the tracker measured on their visits (weight as a log ratio, foot length in mm); and
the bound an ideal gallery sets: the share of visits whose signature lies nearer (in the measured spread, leave
one out) to their own person's mean than to anybody else's -- returns the signature can decide at all.
Scenes are simulated as `id_switches` does (same `--cache` layout).
"""
from __future__ import annotations

import math
import sys
from collections import Counter, defaultdict

import numpy as np

from .id_switches import _chunks, scene_arguments
from .track_suite import ours
from pressure_tracker.motchallenge import iou
from pressure_tracker.motion import TrackState

GRAVITY = 9.81


def truth_bodies(args, seed: int) -> list[tuple[float, float]]:
    """(weight [N] on the feet, foot length [m]) of each simulated person of the session."""
    from dataclasses import replace

    from presstrack_sim.simulator import SimConfig, Simulator
    from .track_grid import DEFAULT, sim_config

    if args.long:
        config = sim_config(replace(DEFAULT, scenario="enter_leave", people=args.people, seconds=args.seconds), seed)
    else:
        config = SimConfig(scenario=args.scenario, people=args.people, seed=seed, seconds=args.seconds, fps=args.fps)
    simulator = Simulator(config)
    bodies = []
    for person in simulator.people:
        forward = [np.ptp(points[:, 2]) for points in person.body.sole_points]
        bodies.append(((person.body.mass + person.carried_kg) * GRAVITY, float(np.mean(forward))))
    return bodies


def visits(args, seed: int) -> list[dict]:
    """Per departed track: its truth person (-1: none), signature and contact time."""
    tracker = ours()
    people = tracker.tracker
    overlap: dict[int, Counter] = defaultdict(Counter)   # id(track) -> frames matched to each truth slot
    out: list[dict] = []
    depart = people.identities.depart

    def recorded_depart(track, clock):
        signature = track.signature(people.config)
        votes = overlap.pop(id(track), Counter())
        truth, frames = votes.most_common(1)[0] if votes else (-1, 0)
        if signature is not None:
            out.append({"truth": truth if frames >= 0.5 * track.hits else -1, "weight": signature.weight_n,
                        "foot": signature.foot_length_m, "contact": track.contact_time, "clock": clock})
        depart(track, clock)

    people.identities.depart = recorded_depart
    index = 0
    for pressure, box, fps in _chunks(args, seed):
        for frame, truth in zip(pressure, box):
            tracker.update(frame, index / fps)
            index += 1
            present = np.flatnonzero(np.any(truth != 0, axis=1))
            for track in people.tracks:
                if track.frames_since_update or track.state == TrackState.TENTATIVE or not len(present):
                    continue
                overlaps = [iou(track.detection.box, tuple(truth[p])) for p in present]
                best = int(np.argmax(overlaps))
                if overlaps[best] >= 0.5:
                    overlap[id(track)][int(present[best])] += 1
    return out


def report(bodies: list[tuple[float, float]], measured: list[dict], log=print) -> dict:
    """Print the per-person table and the ideal gallery's bound; return the figures."""
    by_person: dict[int, list[dict]] = defaultdict(list)
    for visit in measured:
        if visit["truth"] >= 0:
            by_person[visit["truth"]].append(visit)
    log("| person | true weight [N] | true foot [mm] | visits | measured weight: mean [N], bias, sd | "
        "measured foot: mean [mm], sd [mm] |")
    log("|---|---:|---:|---:|---|---|")
    spread_w, spread_f = [], []
    for p, (weight, foot) in enumerate(bodies):
        rows = by_person.get(p, [])
        if len(rows) < 2:
            log(f"| {p + 1} | {weight:.0f} | {1000 * foot:.0f} | {len(rows)} | - | - |")
            continue
        logw = np.log([r["weight"] for r in rows])
        feet = np.array([r["foot"] for r in rows])
        spread_w.append(np.std(logw, ddof=1))
        spread_f.append(np.std(feet, ddof=1))
        log(f"| {p + 1} | {weight:.0f} | {1000 * foot:.0f} | {len(rows)} | {math.exp(logw.mean()):.0f}, "
            f"{100 * (logw.mean() - math.log(weight)):+.1f} %, {100 * spread_w[-1]:.1f} % | "
            f"{1000 * feet.mean():.0f}, {1000 * spread_f[-1]:.1f} |")
    sd_w, sd_f = float(np.median(spread_w)), float(np.median(spread_f))
    decided = total = 0
    for p, rows in by_person.items():
        for i, visit in enumerate(rows):
            point = np.array([math.log(visit["weight"]) / sd_w, visit["foot"] / sd_f])
            distances = {}
            for q, others in by_person.items():
                pool = [r for j, r in enumerate(others) if q != p or j != i]
                if not pool:
                    continue
                centre = np.array([np.mean(np.log([r["weight"] for r in pool])) / sd_w,
                                   np.mean([r["foot"] for r in pool]) / sd_f])
                distances[q] = float(np.linalg.norm(point - centre))
            if p in distances and len(distances) > 1:
                total += 1
                decided += min(distances, key=distances.get) == p
    unassigned = sum(visit["truth"] < 0 for visit in measured)
    log(f"\nvisits weighed: {len(measured)} ({unassigned} matched to no one person); within-person spread (median "
        f"over people): weight {100 * sd_w:.1f} %, foot {1000 * sd_f:.1f} mm; visits nearest their own person's "
        f"mean (ideal gallery, leave one out): {decided} / {total} = {100 * decided / max(1, total):.1f} %")
    return {"visits": len(measured), "unassigned": unassigned, "sd_weight": sd_w, "sd_foot": sd_f,
            "decided": decided, "total": total}


def main(argv: list[str] | None = None) -> int:
    args = scene_arguments(__doc__.split("\n")[0]).parse_args(argv)
    for seed in args.seeds:
        print(f"\nseed {seed}\n")
        report(truth_bodies(args, seed), visits(args, seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
