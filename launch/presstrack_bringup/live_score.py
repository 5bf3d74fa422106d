"""Scores a running graph against the simulator's live ground truth (`presstrack score`, used by the demo).

The driver stamps the simulator's ground truth (/mat/sim/persons, /mat/sim/bodies) with the stamp of the
pressure frame it belongs to, and the tracker and mesh recovery keep that stamp on their outputs, so
every output is matched to its truth by stamp. Tracking: CLEAR-MOT, IDF1 and HOTA on boxes (the
tracker's confirmed people against the true ones). Bodies: each frame's predicted and true people are
paired by the Hungarian algorithm on joint error; MPJPE is pelvis-aligned (mean of the hips, as the
paper), W-MPJPE is in the world frame without alignment. Latency: arrival of /presstrack/bodies minus
the pressure frame's acquisition stamp, on this host's clock.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

import numpy as np
import rclpy
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from mesh_recovery.metrics import match_people, mpjpe, world_mpjpe
from presstrack_msgs.msg import PersonPressure, PersonPressureArray, SmplBodyArray
from pressure_tracker.motchallenge import accumulate, scores_from


@dataclass
class Summary:
    frames: int
    ground_truth_people: int
    tracked_ids: int
    mota: float
    idf1: float
    hota: float
    id_switches: int
    mpjpe_mm: float
    world_mpjpe_mm: float
    latency_p50_ms: float
    latency_p99_ms: float

    def lines(self) -> list[str]:
        return [
            f"frames                {self.frames}",
            f"people (truth)        {self.ground_truth_people}",
            f"track ids issued      {self.tracked_ids}",
            f"MOTA / IDF1 / HOTA    {self.mota:.3f} / {self.idf1:.3f} / {self.hota:.3f}  ({self.id_switches} id switches)",
            f"MPJPE / W-MPJPE       {self.mpjpe_mm:.1f} mm / {self.world_mpjpe_mm:.1f} mm",
            f"latency p50 / p99     {self.latency_p50_ms:.1f} ms / {self.latency_p99_ms:.1f} ms",
        ]


def _boxes(msg: PersonPressureArray, confirmed_only: bool) -> dict[int, np.ndarray]:
    return {p.track_id: np.array([p.box.x_offset, p.box.y_offset, p.box.x_offset + p.box.width,
                                  p.box.y_offset + p.box.height], dtype=float)
            for p in msg.persons if not confirmed_only or p.state == PersonPressure.STATE_CONFIRMED}


def _joints(msg: SmplBodyArray) -> dict[int, np.ndarray]:
    return {b.track_id: np.array([[j.x, j.y, j.z] for j in b.joints]) for b in msg.bodies}


def _stamp(msg) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


class LiveScorer(Node):
    def __init__(self) -> None:
        super().__init__("presstrack_score")
        self.frames: set[int] = set()
        self.truth_boxes: dict[int, dict[int, np.ndarray]] = {}
        self.tracked_boxes: dict[int, dict[int, np.ndarray]] = {}
        self.truth_joints: dict[int, dict[int, np.ndarray]] = {}
        self.body_joints: dict[int, dict[int, np.ndarray]] = {}
        self.latency_ms: list[float] = []
        self.create_subscription(Image, "/mat/pressure", lambda m: self.frames.add(_stamp(m)), qos_profile_sensor_data)
        self.create_subscription(PersonPressureArray, "/mat/sim/persons",
                                 lambda m: self.truth_boxes.__setitem__(_stamp(m), _boxes(m, False)), 50)
        self.create_subscription(PersonPressureArray, "/presstrack/persons",
                                 lambda m: self.tracked_boxes.__setitem__(_stamp(m), _boxes(m, True)), 50)
        self.create_subscription(SmplBodyArray, "/mat/sim/bodies",
                                 lambda m: self.truth_joints.__setitem__(_stamp(m), _joints(m)), 50)
        self.create_subscription(SmplBodyArray, "/presstrack/bodies", self.on_bodies, 50)

    def on_bodies(self, msg: SmplBodyArray) -> None:
        self.latency_ms.append((time.time_ns() - _stamp(msg)) * 1e-6)
        self.body_joints[_stamp(msg)] = _joints(msg)

    def summary(self) -> Summary:
        return summarise(self.frames, self.truth_boxes, self.tracked_boxes, self.truth_joints, self.body_joints,
                         self.latency_ms)


def _accumulated(truth_boxes, tracked_boxes):
    """(stamps, motmetrics accumulator, HOTA result) over the stamps that have ground truth, in time order (no
    accumulator and no HOTA result without such stamps)."""
    stamps = sorted(truth_boxes)
    if not stamps:
        return stamps, None, None
    gt, hyp = [], []
    for stamp in stamps:
        for frames_of, boxes in ((gt, truth_boxes[stamp]), (hyp, tracked_boxes.get(stamp, {}))):
            ids = np.array(sorted(boxes), dtype=int)
            frames_of.append((ids, np.array([boxes[i] for i in ids], dtype=float).reshape(-1, 4)))
    return (stamps, *accumulate(gt, hyp))


def id_switch_stamps(truth_boxes, tracked_boxes) -> list[int]:
    """The stamp of each id switch `summarise` counts (one per switching true person), in time order."""
    stamps, accumulator, _ = _accumulated(truth_boxes, tracked_boxes)
    if accumulator is None:
        return []
    events = accumulator.mot_events
    frames = events[events["Type"] == "SWITCH"].index.get_level_values("FrameId")
    return [stamps[frame] for frame in frames]


def summarise(frames, truth_boxes, tracked_boxes, truth_joints, body_joints, latency_ms) -> Summary:
    """Scores over the frames that have ground truth (see the module docstring)."""
    stamps, accumulator, hota_result = _accumulated(truth_boxes, tracked_boxes)
    tracking = scores_from(accumulator, hota_result, "live") if stamps else None

    errors, world_errors = [], []
    for stamp, truth in truth_joints.items():
        predicted = body_joints.get(stamp)
        if not predicted or not truth:
            continue
        pred, true = np.stack(list(predicted.values())), np.stack(list(truth.values()))
        for p, g in match_people(pred, true):
            errors.append(float(mpjpe(pred[p][None], true[g][None])[0]))
            world_errors.append(float(world_mpjpe(pred[p][None], true[g][None])[0]))
    tracked_ids = {i for boxes in tracked_boxes.values() for i in boxes}
    truth_ids = {i for boxes in truth_boxes.values() for i in boxes}
    return Summary(
        frames=len(frames), ground_truth_people=len(truth_ids), tracked_ids=len(tracked_ids),
        mota=tracking.mota if tracking else float("nan"), idf1=tracking.idf1 if tracking else float("nan"),
        hota=tracking.hota.hota if tracking else float("nan"), id_switches=tracking.id_switches if tracking else 0,
        mpjpe_mm=1000 * float(np.mean(errors)) if errors else float("nan"),
        world_mpjpe_mm=1000 * float(np.mean(world_errors)) if world_errors else float("nan"),
        latency_p50_ms=float(np.percentile(latency_ms, 50)) if latency_ms else float("nan"),
        latency_p99_ms=float(np.percentile(latency_ms, 99)) if latency_ms else float("nan"),
    )


def score(duration: float, json_path: str | None) -> Summary:
    """Listen for ``duration`` seconds (or until Ctrl-C), then print and optionally save the summary."""
    rclpy.init()
    scorer = LiveScorer()
    deadline = time.monotonic() + duration
    try:
        while time.monotonic() < deadline:
            rclpy.spin_once(scorer, timeout_sec=0.1)
    except KeyboardInterrupt:
        pass
    summary = scorer.summary()
    scorer.destroy_node()
    rclpy.try_shutdown()
    if json_path:
        with open(json_path, "w") as file:
            json.dump(asdict(summary), file, indent=2)
    return summary
