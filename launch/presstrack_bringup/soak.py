"""``presstrack-soak``: run the simulated graph for a long time and report what grows or degrades.

    presstrack-soak [--duration 600] [--warmup 30] [--people 3] [--rate 15] [--sample-every 5] [--out DIR]
                    [--faults-every S] [--episode S] [--set NODE.PARAM=VALUE ...]

The simulated scene (scenario random, seed 1) is one episode for the whole run unless ``--episode`` says
otherwise: each new episode of the simulator is a new crowd under new ids. The simulated driver fills its scene's
gait arrays as it plays, so its RSS grows with the scene (~7.7 MiB/min with 3 people), up to the scene's end:
judge the driver's own memory with ``--episode 60``.

Per node process: RSS sampled every few seconds; growth = mean RSS of the last minute minus the mean of
the first minute after the warm-up, and the least-squares slope over the measured time (MiB/min). Also
dropped frames (/mat/pressure stamps without a /presstrack/bodies message), the driver's late frames,
latency, and tracking scores with id switches from ``live_score.summarise`` against the simulator's truth.
Writes DIR/soak.json and DIR/soak.md (default ./out/soak).

With ``--faults-every S`` a fault is injected every S seconds, in turn: a /mat/info that says the mat is
100 x 50 cells, a second of noise-storm frames on /mat/pressure, and the driver killed with SIGKILL (the
launcher respawns it and the simulation starts over). Reported: frames without bodies outside the faults
(the noise burst's second, and a driver restart until FAULT_SETTLE_S after the restarted driver's first frame
heard, are the injected seconds; the report says how long each restart kept the mat's frames away;
the mat's frames without bodies within a burst are reported apart), the id switches within those seconds
apart from the rest, and, for each noise burst, whether the confirmed identities before it are the ones after it.
DIR/logs/scored_boxes.json holds what was scored (the true and tracked boxes per stamp) to score it again.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import psutil

from presstrack_common.faults import noise_storm
from pressure_tracker.motchallenge import iou
from presstrack_common.outputs import check_output_folder
from presstrack_bringup.live_probe import (Graph, ProcessSampler, TopicProbe, isolate_ros, machine_description,
                                           machine_markdown, markdown_table, spin_for)


def memory_growth(sampler: ProcessSampler, name: str, start: float, stop: float, window_s: float,
                  respawn_settled: float | None = None) -> dict:
    """RSS statistics of one node over [start, stop] (monotonic s); ``window_s`` is the averaging window. A node
    respawned meanwhile (the driver-restart fault) is judged on the process that ran last, from ``respawn_settled``
    (monotonic s; for the restarted driver, FAULT_SETTLE_S after its first frame: it plans its scene again first)
    or else FAULT_SETTLE_S after its first sample: a new process's RSS says nothing about the old one's growth,
    nor does its start-up. CPU counts them all."""
    window = sampler.between(name, start, stop)
    restarts = len({s.pid for s in window}) - 1 if window else 0
    samples = [s for s in window if s.pid == window[-1].pid] if window else []
    if restarts:
        settled = samples[0].t + FAULT_SETTLE_S if respawn_settled is None else respawn_settled
        samples = [s for s in samples if s.t >= settled]
    if len(samples) < 2:
        return {"samples": len(samples), "restarts": restarts}
    start = samples[0].t
    t = np.array([s.t - start for s in samples])
    rss_mib = np.array([s.rss_bytes / 2**20 for s in samples])
    first, last = rss_mib[t <= window_s], rss_mib[t >= t[-1] - window_s]
    slope_per_s = float(np.polyfit(t, rss_mib, 1)[0])
    return {"samples": len(samples), "first_window_mean_mib": float(first.mean()), "last_window_mean_mib": float(last.mean()),
            "growth_mib": float(last.mean() - first.mean()), "slope_mib_per_min": 60.0 * slope_per_s,
            "min_mib": float(rss_mib.min()), "peak_mib": float(rss_mib.max()),
            "cpu_percent": sampler.cpu_percent(name, window[0].t, stop), "restarts": restarts,
            "judged_s": float(t[-1])}


FAULTS = ("bad_mat_info", "noise_burst", "driver_restart")
FAULT_SETTLE_S = 10.0   # [s] after the first frame of a restarted driver: tracks confirmed again, identities settled
BURST_FRAMES = 15       # noise frames in a burst (a second at 15 Hz)
END_OF_RUN_NS = 2**63 - 1  # a stamp later than any of the run's
SCENE_PLAN_TIMEOUT_S = 600.0  # [s] the simulated driver plans its whole scene before its first frame: ~40 s for a
                              # 30-minute scene on an idle core, over 60 s on a loaded one
FIRST_BODY_TIMEOUT_S = 60.0  # [s] the graph's first /presstrack/bodies message within this of the mat's first frame
RESPAWN_TIMEOUT_S = 10.0     # [s] a killed driver is gone (reaped by the launcher) within this


class FaultInjector:
    """Injects the FAULTS in turn into a running graph; remembers when and what, for the report."""

    def __init__(self, node, graph: Graph, heard_stamps: dict[int, float], rate_hz: float, rows: int = 238,
                 cols: int = 120) -> None:
        from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_sensor_data
        from sensor_msgs.msg import Image

        from presstrack_msgs.msg import MatInfo

        self._node, self._graph, self._shape = node, graph, (rows, cols)
        self._heard, self._period_ns = heard_stamps, round(1e9 / rate_hz)
        self._mat_info = MatInfo
        self._pressure = node.create_publisher(Image, "/mat/pressure", qos_profile_sensor_data)
        self._info = node.create_publisher(MatInfo, "/mat/info", QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL))
        self._rng = np.random.default_rng(0)
        self.injected: list[dict] = []   # kind, start_ns, stop_ns
        self.noise_stamps: set[int] = set()

    def inject(self, sampler: ProcessSampler) -> None:
        kind = FAULTS[len(self.injected) % len(FAULTS)]
        fault = {"kind": kind, "start_ns": time.time_ns()}
        if kind == "bad_mat_info":
            self._info.publish(self._mat_info(rows=100, cols=50, cell_pitch=0.01, pressure_unit="kPa", full_scale=600.0,
                                              noise_floor=1.0, world_frame="world"))
        elif kind == "noise_burst":
            from std_msgs.msg import Header

            from presstrack_common.conversions import array_to_image

            # The mat's newest frame heard may be still on its way to the tracker: the burst's seconds start there.
            fault["overtakable_from_ns"] = stamp = self.between_the_mats_frames_ns() - self._period_ns // 2
            for _ in range(BURST_FRAMES):
                stamp = max(stamp + 1, self.between_the_mats_frames_ns())
                header = Header(frame_id="mat")
                header.stamp.sec, header.stamp.nanosec = divmod(stamp, 1_000_000_000)
                self._pressure.publish(array_to_image(noise_storm(self._shape, self._rng), header))
                self.noise_stamps.add(stamp)
                spin_for(self._node, 1.0 / BURST_FRAMES, sampler)
        else:
            driver = self._graph.node_processes()["mat_driver"]
            driver.kill()
            # Until the launcher has reaped it: else the caller's next look at the graph can find the dead driver
            # and sample nothing of its successor until the next fault.
            with contextlib.suppress(psutil.TimeoutExpired):
                driver.wait(timeout=RESPAWN_TIMEOUT_S)
        self.injected.append(fault | {"stop_ns": time.time_ns()})
        print(f"[presstrack-soak] injected {kind}", file=sys.stderr, flush=True)

    def between_the_mats_frames_ns(self) -> int:
        """A stamp half a period after the newest frame of the mat heard: noise frames stamped with this clock's
        time instead would interleave with the driver's (stamped when due, earlier than sent) and refuse its
        frames as stamps going back, a fault of the injection, not of the graph."""
        mats = [stamp for stamp in self._heard if stamp not in self.noise_stamps]
        return max(mats) + self._period_ns // 2 if mats else time.time_ns()

    def restarts_ns(self) -> list[tuple[int, int | None]]:
        """Per driver restart: when it was killed, and the stamp of the restarted driver's first frame heard (None:
        none yet). The simulated driver plans its scene again before its first frame, for tens of seconds."""
        return [(f["start_ns"], min((stamp for stamp in self._heard if stamp > f["stop_ns"] and stamp not in
                                     self.noise_stamps), default=None))
                for f in self.injected if f["kind"] == "driver_restart"]

    def restart_windows_ns(self) -> list[tuple[int, int]]:
        """Each driver restart from the kill until FAULT_SETTLE_S after the restarted driver's first frame heard
        (until the run's end if none was)."""
        return [(killed, END_OF_RUN_NS if resumed is None else resumed + int(FAULT_SETTLE_S * 1e9))
                for killed, resumed in self.restarts_ns()]

    def burst_windows_ns(self) -> list[tuple[int, int]]:
        """The seconds of the noise bursts: a second publisher on /mat/pressure, whose frames can overtake one
        of the driver's still on its way and make it a stamp going back (a fault of the injection)."""
        return [(min(f["start_ns"], f.get("overtakable_from_ns", f["start_ns"])), f["stop_ns"]) for f in self.injected
                if f["kind"] == "noise_burst"]

    def in_injected_seconds(self, stamps_ns: Sequence[int]) -> list[int]:
        """The stamps within a noise burst's seconds or a driver restart's (`restart_windows_ns`)."""
        windows = self.restart_windows_ns() + self.burst_windows_ns()
        return [stamp for stamp in stamps_ns if any(start <= stamp <= stop for start, stop in windows)]

    def identities_across_bursts(self, tracked_boxes: dict[int, dict], truth_boxes: dict[int, dict]) -> list[dict]:
        """Per noise burst, the last frame before it and the first frame 2 s after it: each simulated person
        tracked (confirmed) in both, by box overlap with the truth, with the id they had before and after;
        ``kept`` when every such person has the same id (None when no one was tracked in both)."""
        stamps = sorted(s for s in tracked_boxes if s not in self.noise_stamps and s in truth_boxes)
        outcome = []
        for fault in (f for f in self.injected if f["kind"] == "noise_burst"):
            before = [s for s in stamps if s < fault["start_ns"]]
            after = [s for s in stamps if s > fault["stop_ns"] + 2_000_000_000]
            if not (before and after):
                continue
            ids_before, ids_after = (matched_track_ids(tracked_boxes[s], truth_boxes[s]) for s in (before[-1], after[0]))
            people = sorted(set(ids_before) & set(ids_after))
            outcome.append({"ids_before": sorted(tracked_boxes[before[-1]]), "ids_after": sorted(tracked_boxes[after[0]]),
                            "people_before": len(truth_boxes[before[-1]]), "people_after": len(truth_boxes[after[0]]),
                            "person_ids": {int(person): [ids_before[person], ids_after[person]] for person in people},
                            "kept": all(ids_before[p] == ids_after[p] for p in people) if people else None})
        return outcome


def matched_track_ids(tracked: dict[int, np.ndarray], truth: dict[int, np.ndarray], min_iou: float = 0.3) -> dict[int, int]:
    """Simulated person id -> the track id whose box overlaps theirs most (intersection over union at least
    ``min_iou``), each track given to one person at most, best overlaps first."""
    pairs = sorted(((iou(truth_box, track_box), person, track) for person, truth_box in truth.items()
                    for track, track_box in tracked.items()), reverse=True)
    matched: dict[int, int] = {}
    for overlap, person, track in pairs:
        if overlap >= min_iou and person not in matched and track not in matched.values():
            matched[person] = track
    return matched


def scene_sets(episode_s: float, extra_sets: Sequence[str] = ()) -> list[str]:
    """The graph's parameter sets for simulated scenes of ``episode_s`` seconds (``extra_sets`` win)."""
    return [f"mat_driver.episode_s={float(episode_s)!r}", *extra_sets]


def boxes_json(boxes: dict[int, dict[int, np.ndarray]]) -> dict[str, dict[str, list[float]]]:
    return {str(stamp): {str(i): [float(v) for v in box] for i, box in frame.items()} for stamp, frame in boxes.items()}


def within(mapping: dict[int, object], start_ns: int, stop_ns: int) -> dict:
    return {stamp: value for stamp, value in mapping.items() if start_ns <= stamp < stop_ns}


def run_soak(people: int, rate_hz: float, warmup_s: float, duration_s: float, sample_every_s: float, log_dir: Path,
             extra_sets: Sequence[str] = (), faults_every_s: float | None = None, episode_s: float | None = None) -> dict:
    import rclpy

    from presstrack_bringup.live_score import LiveScorer, id_switch_stamps, summarise

    rclpy.init()
    scorer = LiveScorer()
    probe = TopicProbe(scorer)
    # One scene for the whole run by default: the simulator's next episode is a new crowd under new ids, not what
    # a room sees (and the tracker's memory fills with people who will never come back).
    episode_s = episode_s or FIRST_BODY_TIMEOUT_S + warmup_s + duration_s + 10.0
    result: dict = {"people": people, "rate_hz": rate_hz, "warmup_s": warmup_s, "duration_s": duration_s,
                    "sample_every_s": sample_every_s, "faults_every_s": faults_every_s, "episode_s": episode_s}
    try:
        with Graph(people, rate_hz, scene_sets(episode_s, extra_sets), log_path=log_dir / "graph.log") as graph:
            sampler = ProcessSampler(graph.node_processes())
            faults = FaultInjector(scorer, graph, probe.pressure, rate_hz) if faults_every_s else None
            if not spin_for(scorer, SCENE_PLAN_TIMEOUT_S, sampler, sample_every_s, until=lambda: len(probe.pressure) > 0):
                raise RuntimeError(f"no /mat/pressure within {SCENE_PLAN_TIMEOUT_S:g} s of start")
            if not spin_for(scorer, FIRST_BODY_TIMEOUT_S, sampler, sample_every_s, until=lambda: len(probe.bodies) > 0):
                raise RuntimeError(f"no /presstrack/bodies within {FIRST_BODY_TIMEOUT_S:g} s of the mat's first frame")
            spin_for(scorer, warmup_s, sampler, sample_every_s)
            start, start_ns = time.monotonic(), time.time_ns()
            last_report = start
            next_fault = start + faults_every_s if faults else float("inf")
            while time.monotonic() - start < duration_s:
                if time.monotonic() >= next_fault:
                    faults.inject(sampler)
                    next_fault += faults_every_s
                    sampler.processes = graph.node_processes()  # a respawned driver is a new process
                spin_for(scorer, min(5.0 if faults else 30.0, duration_s - (time.monotonic() - start)), sampler,
                         sample_every_s)
                if time.monotonic() - last_report >= 60.0:
                    last_report = time.monotonic()
                    rss = ", ".join(f"{n} {sampler.samples[n][-1].rss_bytes / 2**20:.0f}" for n in sampler.samples)
                    print(f"[presstrack-soak] {last_report - start:.0f} s: RSS MiB {rss}", file=sys.stderr, flush=True)
            stop, stop_ns = time.monotonic(), time.time_ns()
            spin_for(scorer, 3.0, sampler, sample_every_s)
            window_s = min(60.0, (stop - start) / 3)
            result["memory_window_s"] = window_s
            # The restarted driver settled, on this monotonic clock (the restart windows are stamps, wall clock).
            restarts = faults.restart_windows_ns() if faults else []
            respawn_settled = {"mat_driver": start + (restarts[-1][1] - start_ns) * 1e-9} if restarts else {}
            result["processes"] = {name: memory_growth(sampler, name, start, stop, window_s, respawn_settled.get(name))
                                   for name in sampler.processes}
            result["rss_series_mib"] = {name: [[round(s.t - start, 1), round(s.rss_bytes / 2**20, 2)]
                                               for s in sampler.samples[name]] for name in sampler.processes}
            for stamp in faults.noise_stamps if faults else ():
                probe.pressure.pop(stamp, None)  # the injected frames are not the mat's
            result |= probe.frame_accounting(start_ns, stop_ns)
            if faults:
                windows, bursts = faults.restart_windows_ns(), faults.burst_windows_ns()
                without = [s for s in set(probe.pressure) - set(probe.bodies) if start_ns <= s < stop_ns]
                result["faults"] = faults.injected
                result["driver_restart_outages_s"] = [None if resumed is None else (resumed - killed) * 1e-9
                                                      for killed, resumed in faults.restarts_ns()]
                in_bursts = sorted(s for s in without if any(a <= s <= b for a, b in bursts))
                result["frames_without_bodies_in_noise_bursts"] = len(in_bursts)
                outside = sorted(s for s in without if not any(a <= s < b for a, b in windows) and s not in in_bursts)
                result["frames_without_bodies_outside_faults"] = len(outside)
                # Their stamps, to find them in the nodes' logs (DIR/logs/graph.log stamps its warnings alike),
                # and where each stopped: no persons message heard (the tracker did not get or passed over the
                # frame), or persons heard but no bodies (the mesh node skipped it, or the listener missed them).
                result["frames_without_bodies_outside_faults_stamps_ns"] = outside
                result["frames_without_bodies_outside_faults_with_persons"] = sum(s in scorer.tracked_boxes for s in outside)
                result["identities_across_noise_bursts"] = faults.identities_across_bursts(scorer.tracked_boxes,
                                                                                        scorer.truth_boxes)
            # What the nodes counted over the measured time: frames skipped or dropped, and why.
            result["node_counters"] = {name: probe.counter_increases(name, start, stop) for name in probe.diagnostics}
            published, late = (probe.driver_counter(key, start, stop) for key in ("frames_published", "frames_late"))
            result["published_rate_hz"] = published[0] / published[1] if published else float("nan")
            result["driver_frames_late"] = late[0] if late else None
            summary = summarise(within(dict.fromkeys(scorer.frames), start_ns, stop_ns),
                                within(scorer.truth_boxes, start_ns, stop_ns), within(scorer.tracked_boxes, start_ns, stop_ns),
                                within(scorer.truth_joints, start_ns, stop_ns), within(scorer.body_joints, start_ns, stop_ns),
                                [(arrival - stamp * 1e-9) * 1e3 for stamp, arrival in probe.bodies.items()
                                 if start_ns <= stamp < stop_ns])
            result["score"] = asdict(summary)
            truth, tracked = (within(boxes, start_ns, stop_ns) for boxes in (scorer.truth_boxes, scorer.tracked_boxes))
            switches = id_switch_stamps(truth, tracked)
            if faults:
                result["id_switches_in_injected_seconds"] = len(faults.in_injected_seconds(switches))
            # What was scored, to score it again offline: per stamp, the true and the tracked boxes, and the switches.
            (log_dir / "scored_boxes.json").write_text(json.dumps(
                {"truth": boxes_json(truth), "tracked": boxes_json(tracked), "id_switch_stamps_ns": switches}))
    except RuntimeError as error:
        result["error"] = str(error)
    finally:
        scorer.destroy_node()
        rclpy.try_shutdown()
    return result


def switches_per_person_window(switches: int, people: int, duration_s: float, window_s: float = 300.0) -> float:
    """Id switches per person per `window_s` (5 minutes) of a run of `duration_s`."""
    return switches / max(1, people) / (duration_s / window_s)


def restart_outages_sentence(outages_s: Sequence[float | None]) -> str:
    """How long each driver restart kept the mat's frames away, for the report ('' without restarts)."""
    if not outages_s:
        return ""
    each = ", ".join("none before the end" if s is None else f"{s:.1f} s" for s in outages_s)
    return (f" Driver restarts: the mat's frames back after {each} (injected seconds until {FAULT_SETTLE_S:g} s "
            "after that).")


def write_report(out: Path, report: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "soak.json").write_text(json.dumps(report, indent=2))
    soak = report["soak"]
    parts = ["# PressTrack soak", "", machine_markdown(report["machine"]), ""]
    if "error" in soak:
        parts += [f"**error**: {soak['error']}"]
    else:
        scene = f" (simulated scenes of {soak['episode_s']:g} s)" if soak.get("episode_s") else ""
        parts += [f"{soak['people']} simulated people at {soak['rate_hz']:g} Hz{scene}; {soak['warmup_s']:g} s warm-up after the "
                  f"first body, then {soak['duration_s']:g} s measured; RSS every {soak['sample_every_s']:g} s; growth = "
                  f"mean of the last {soak['memory_window_s']:.0f} s minus mean of the first {soak['memory_window_s']:.0f} s.",
                  "", markdown_table(
                      ["node", "RSS first MiB", "RSS last MiB", "growth MiB", "slope MiB/min", "peak MiB", "CPU %",
                       "restarts (growth of the last process, over s)"],
                      [[name, p.get("first_window_mean_mib", float("nan")), p.get("last_window_mean_mib", float("nan")),
                        p.get("growth_mib", float("nan")), p.get("slope_mib_per_min", float("nan")),
                        p.get("peak_mib", float("nan")), p.get("cpu_percent", float("nan")),
                        f"{p.get('restarts', 0)} ({p.get('judged_s', float('nan')):.0f})"]
                       for name, p in soak["processes"].items()]), ""]
        score = soak["score"]
        parts += [markdown_table(["frames heard", "bodies", "frames without bodies", "driver late", "published Hz",
                                  "latency p50 / p99 ms", "id switches", "id switches / person / 5 min", "track ids issued",
                                  "MOTA / IDF1 / HOTA", "MPJPE mm"],
                                 [[soak["pressure_frames_heard"], soak["bodies_received"], soak["frames_without_bodies"],
                                   soak["driver_frames_late"], soak["published_rate_hz"],
                                   f"{soak['latency_p50_ms']:.1f} / {soak['latency_p99_ms']:.1f}", score["id_switches"],
                                   f"{switches_per_person_window(score['id_switches'], soak['people'], soak['duration_s']):.2f}",
                                   score["tracked_ids"], f"{score['mota']:.3f} / {score['idf1']:.3f} / {score['hota']:.3f}",
                                   score["mpjpe_mm"]]]), ""]
        if soak.get("faults_every_s"):
            kept = soak["identities_across_noise_bursts"]
            kinds = [f["kind"] for f in soak["faults"]]
            judged = [k for k in kept if k["kept"] is not None]
            parts += [f"Faults every {soak['faults_every_s']:g} s: " + ", ".join(f"{kinds.count(k)} {k}" for k in FAULTS)
                      + f". Frames without bodies outside the faults: {soak['frames_without_bodies_outside_faults']} "
                      f"({soak.get('frames_without_bodies_outside_faults_with_persons', 0)} of them with a persons "
                      f"message), within the noise bursts' seconds: {soak.get('frames_without_bodies_in_noise_bursts', 0)}. "
                      f"Id switches within the injected seconds: {soak.get('id_switches_in_injected_seconds', 0)} "
                      f"of {score['id_switches']}. "
                      f"Identities kept across noise bursts: {sum(k['kept'] for k in judged)} of {len(judged)}"
                      + (f" ({len(kept) - len(judged)} with no one tracked both before and after)" if len(judged) < len(kept)
                         else "") + "." + restart_outages_sentence(soak.get("driver_restart_outages_s", [])), ""]
        if soak.get("node_counters"):
            parts += [markdown_table(["node", "counters grown over the measured time"],
                                     [[name, ", ".join(f"{k} {v}" for k, v in grown.items()) or "none"]
                                      for name, grown in soak["node_counters"].items()]), ""]
    (out / "soak.md").write_text("\n".join(parts))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="presstrack-soak", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=600.0, metavar="S", help="measured seconds (default 600)")
    parser.add_argument("--warmup", type=float, default=30.0, metavar="S", help="seconds after the first body (default 30)")
    parser.add_argument("--people", type=int, default=3, metavar="N", help="simulated people (default 3)")
    parser.add_argument("--rate", type=float, default=15.0, metavar="HZ", help="mat rate (default 15)")
    parser.add_argument("--sample-every", type=float, default=5.0, metavar="S", help="RSS sampling period (default 5)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NODE.PARAM=VALUE",
                        help="extra parameter override for the graph (repeatable)")
    parser.add_argument("--out", default="out/soak", metavar="DIR", help="where soak.json and soak.md go (default ./out/soak)")
    parser.add_argument("--faults-every", type=float, metavar="S", help="inject a fault every S seconds, in turn: "
                        + ", ".join(FAULTS) + " (default: none)")
    parser.add_argument("--episode", type=float, metavar="S", help="length of a simulated scene; the next is a new "
                        "crowd under new ids (default: one scene for the whole run, as the offline tools score it)")
    options = parser.parse_args(argv)
    for name in ("duration", "warmup", "rate", "sample_every", "faults_every", "episode"):
        value = getattr(options, name)
        if value is None:
            continue
        if not (math.isfinite(value) and value > 0):
            parser.error(f"--{name.replace('_', '-')} must be positive, got {value:g}")
    if options.people < 1:
        parser.error(f"--people must be >= 1, got {options.people}")
    try:
        out = check_output_folder(options.out, "--out")
    except ValueError as error:
        parser.exit(2, f"presstrack-soak: error: {error}\n")
    isolate_ros()
    (out / "logs").mkdir(parents=True, exist_ok=True)
    report: dict = {"machine": machine_description()}
    report["soak"] = run_soak(options.people, options.rate, options.warmup, options.duration, options.sample_every,
                              out / "logs", options.sets, options.faults_every, options.episode)
    report["machine"]["load_average_at_end"] = machine_description()["load_average_1_5_15"]
    write_report(out, report)
    print((out / "soak.md").read_text())
    return 0 if "error" not in report["soak"] else 1


if __name__ == "__main__":
    sys.exit(main())
