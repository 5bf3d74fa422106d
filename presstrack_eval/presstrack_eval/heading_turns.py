"""How the tracker's heading faces the walk, per simulated scene: the diagnosis behind README's heading figures.

    presstrack-heading [--split tuning|heldout|backwards|all] [--cache DIR]

Per scene, every frame where a confirmed track's centre of pressure is within 0.3 m of a true person's hip
midpoint who is on the mat from 1/3 s before to 1/3 s after: the walking direction is that person's hip path
over those 2/3 s; a walking frame is one at 0.3 m/s or more where the true body frame faces within 30 degrees
of that walk (people also sidestep and step back while they dodge each other), as in
test/test_body_frames.py. Printed per scene and pooled:
- heading: the tracker's heading within 30 degrees of the walk (share of walking frames), median, 95th
  percentile, reversed (over 150 degrees);
- stance foot: the same for the true lower foot's direction (ankle to toes joints), what a heading read off a
  planted foot can at best show; it points where the foot landed while the body turns on over it;
- feet down: the mean direction of the true feet touching the mat (heel or toes within FOOT_DOWN of flat), what
  a reading of every foot on the mat, each axis and toe end right, would show: the ceiling of a heading from
  the feet alone;
- whole feet (every frame, not only walking ones): of the tracker's whole feet (`shows_axis`) whose axis is within
  30 degrees of the true foot's, how often their shape alone (`toes_by_shape`) tells the toe end and is right,
  by contact area, and on the same feet seen on 2 cm cells (each 2 x 2 block of cells one cell);
- true past path: the true hip midpoint's path over the last heading_path_time only (what a live heading can know
  of the walk at best: a causal path lags a turn), within 30 degrees of the walk;
- hindsight: what a body frame published d late could show (HINDSIGHT): the heading of heading_along_path with
  the track's centre of pressure path over the centred window [t - d, t + d] in place of its last
  heading_path_time, and the feet's heading of frame t, on the walking frames and, against where the true body
  faces, on the sideways ones; and that centred path alone over the longest window (turned about where the feet
  point backwards);
- side-step rule: what a better rule for feet pointing more than side_step_angle across the path (a side step, or
  a turn?) could reach live: dropped (heading_along_path with side_step_angle 90 degrees: the feet's mean with
  the path whenever the path moves), on the walking and the sideways frames; at best (per frame the live heading
  or that one, whichever is right: what a perfect tell of a turn from a side step gives); and the feet, the path
  over heading_path_time (turned about where the feet point backwards) or that mean, whichever is right (any
  live rule choosing among those);
- per activity, the share of frames where the heading is within 30 degrees of where the true body faces:
  standing (hips under STANDING_SPEED, the body turning less than STILL over the 2/3 s), turning on the spot
  (under WALK_SPEED, the body turning TURN_RATE or faster), sideways (walking with the body SIDEWAYS off the
  walk: a side step) and backwards (walking with the body over 150 degrees off it: a dancer stepping back).
Tuning and held-out scenes (two seeds and one scenario never looked at while designing) are reported apart.
"""
from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

FPS = 15.0
WINDOW_FRAMES = 5   # 1/3 s either side: the walking direction, as the TF tests take it
WALK_SPEED = 0.3    # [m/s]
FORWARD = 30.0      # [deg] the true body faces its walk this closely in a walking frame
BACKWARD = 150.0    # [deg] ... and this far off it when it walks backwards
NEAR = 0.3          # [m] centre of pressure to the true hip midpoint, to pair a track with a person
HIP_L, HIP_R, ANKLE_L, ANKLE_R, FOOT_L, FOOT_R = 1, 2, 7, 8, 10, 11   # SMPL joints
FLAT_ANKLE, FLAT_TOES = 0.077, 0.028   # [m] the simulated ankle and toes joints' height with the foot flat
FOOT_DOWN = 0.008   # [m] a foot touches the mat while its ankle or toes joint is this close to flat
FOOT_MATCH = 0.12   # [m] a tracked foot's centre of pressure to the true foot's (ankle to toes) midpoint
AREA_BINS = (0.016, 0.020)   # [m^2] whole feet by contact area: below, between, above
AXIS_RIGHT = math.radians(30.0)   # a tracked foot's axis this close to the true foot's is scored on its toe end
SIDEWAYS = (60.0, 120.0)   # [deg] walking, the true body faces this far off its walk: a side step
STANDING_SPEED = 0.1   # [m/s] the true hips move slower than this ...
STILL = 15.0           # [deg] ... and the true body turns less than this over the 2/3 s: standing
TURN_RATE = 45.0       # [deg/s] slower than WALK_SPEED, the true body turns this fast: turning on the spot
ACTIVITIES = ("standing", "turning", "sideways", "backwards")   # heading to where the true body faces
HINDSIGHT = (0.1, 0.2, 1.0 / 3.0, 0.5)   # [s] half-widths d of the centred path windows (a body frame published d late)


@dataclass(frozen=True)
class HeadingScene:
    scenario: str
    seed: int
    seconds: float
    people: int | None = None

    @property
    def name(self) -> str:
        return f"{self.scenario}/seed{self.seed}"


TUNING = (HeadingScene("enter_leave", 3, 30.0, 2),   # the recorded session's scene
          HeadingScene("wander", 1, 40.0, 3), HeadingScene("wander", 2, 40.0, 2),
          HeadingScene("crossing2", 1, 30.0), HeadingScene("enter_leave", 4, 40.0, 2))
HELD_OUT = (HeadingScene("wander", 7, 40.0, 3), HeadingScene("enter_leave", 8, 40.0, 2),
            HeadingScene("wander3", 21, 40.0))   # wander3: a scenario left out of the design
BACKWARDS = (HeadingScene("face_to_face", 41, 30.0),)   # one dancer of the couple steps back


def _angle(a: float) -> float:
    """|a| [deg] wrapped to [0, 180]."""
    return abs(math.degrees(math.remainder(a, 2.0 * math.pi)))


def _simulate(scene: HeadingScene, cache: Path | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pressure (T, rows, cols), true joints (T, P, 24, 3) world, present (T, P))."""
    path = cache / f"{scene.scenario}_seed{scene.seed}_{scene.seconds:g}s_{scene.people}p.npz" if cache else None
    if path is not None and path.exists():
        with np.load(path) as data:
            return data["pressure"], data["joints"], data["present"]
    from presstrack_sim.simulator import SimConfig, simulate_scene

    sim = simulate_scene(SimConfig(scenario=scene.scenario, people=scene.people, seed=scene.seed,
                                   seconds=scene.seconds, fps=FPS))
    arrays = np.asarray(sim.pressure, np.float32), np.asarray(sim.keypoints_3d), np.asarray(sim.present)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, pressure=arrays[0], joints=arrays[1], present=arrays[2])
    return arrays


def scene_angles(scene: HeadingScene, cache: Path | None = None) -> dict[str, np.ndarray]:
    """[deg] per walking frame: 'heading' and 'stance_foot' to the walk; per backwards frame: 'backwards'
    (the heading to where the body faces)."""
    from mesh_recovery.body_frames import body_pose
    from presstrack_common.mat_geometry import MatGeometry
    from pressure_tracker.tracker import PressureTracker, TrackState

    pressure, joints, present = _simulate(scene, cache)
    mat = MatGeometry()
    hips = (joints[:, :, HIP_L] + joints[:, :, HIP_R]) / 2.0
    tracker = PressureTracker()
    past = max(1, round(tracker.config.heading_path_time * FPS))   # frames of the path the live heading follows
    angles: dict[str, list[float]] = {"heading": [], "stance_foot": [], "feet_down": [], "past_path": [],
                                      "shape": [], "shape_2cm": [], "shape_area": [], "no_side_step": [],
                                      "no_side_step_sideways": [], "side_step_at_best": [], "feet_path_at_best": [],
                                      **{a: [] for a in ACTIVITIES}}
    w = WINDOW_FRAMES
    # Per track, per frame it had feet: (x, y) [m, mat frame] of its centre of pressure, its feet's heading and its
    # path's velocity over heading_path_time (vx, vy) [m/s], the live heading's inputs.
    seen: dict[int, dict[int, tuple[float, float, float | None, np.ndarray]]] = {}
    # (frame, track id, direction [rad, world]) of each walking frame (the walk) and sideways frame (the body's facing)
    walks: list[tuple[int, int, float]] = []
    sidesteps: list[tuple[int, int, float]] = []

    def body_yaw(t: int, q: int) -> float:
        _, rotation = body_pose(joints[t, q])
        return math.atan2(rotation[1, 0], rotation[0, 0])

    for t, frame in enumerate(pressure):
        people = [p for p in tracker.update(frame, t / FPS) if p.state == TrackState.CONFIRMED and p.mask.any()]
        for track in tracker.tracker.tracks:
            if track.frames_since_update == 0:
                seen.setdefault(track.track_id, {})[t] = (*track.detection.centroid_m, track.feet_heading,
                                                          track.walking_velocity(tracker.config.heading_path_time))
        _score_shapes(tracker, joints[t][present[t]], mat, pressure.shape[2], angles)
        if not w <= t < len(pressure) - w:
            continue
        on_mat = [q for q in range(hips.shape[1]) if present[t - w:t + w + 1, q].all()]
        for person in people:
            if not math.isfinite(person.heading):
                continue
            cop = mat.mat_to_world(np.array([*person.centroid_m, 0.0]))[:2]
            nearest = min(on_mat, key=lambda q: np.linalg.norm(hips[t, q, :2] - cop), default=None)
            if nearest is None or np.linalg.norm(hips[t, nearest, :2] - cop) > NEAR:
                continue
            walk = (hips[t + w, nearest] - hips[t - w, nearest])[:2]
            heading = person.heading + mat.yaw_world_from_mat
            faces = body_yaw(t, nearest)
            if np.linalg.norm(walk) < WALK_SPEED * 2 * w / FPS:
                turned = _angle(body_yaw(t + w, nearest) - body_yaw(t - w, nearest))
                if turned >= TURN_RATE * 2 * w / FPS:
                    angles["turning"].append(_angle(heading - faces))
                elif turned < STILL and np.linalg.norm(walk) < STANDING_SPEED * 2 * w / FPS:
                    angles["standing"].append(_angle(heading - faces))
                continue
            walk_yaw = math.atan2(walk[1], walk[0])
            off_walk = _angle(faces - walk_yaw)
            _, _, feet, path_velocity = seen[person.track_id][t]
            no_side_step, path = (None if value is None else value + mat.yaw_world_from_mat
                                  for value in _without_side_steps(feet, path_velocity, tracker.config))
            if off_walk > BACKWARD:
                angles["backwards"].append(_angle(heading - faces))
            elif SIDEWAYS[0] <= off_walk <= SIDEWAYS[1]:
                angles["sideways"].append(_angle(heading - faces))
                angles["no_side_step_sideways"].append(_angle(no_side_step - faces))
                sidesteps.append((t, person.track_id, faces))
            if off_walk > FORWARD:
                continue
            angles["heading"].append(_angle(heading - walk_yaw))
            angles["no_side_step"].append(_angle(no_side_step - walk_yaw))
            angles["side_step_at_best"].append(min(angles["heading"][-1], angles["no_side_step"][-1]))
            choices = (feet + mat.yaw_world_from_mat, no_side_step) + (() if path is None else (path,))
            angles["feet_path_at_best"].append(min(_angle(choice - walk_yaw) for choice in choices))
            walks.append((t, person.track_id, walk_yaw))
            if t >= past and present[t - past, nearest]:
                went = (hips[t, nearest] - hips[t - past, nearest])[:2]
                angles["past_path"].append(_angle(math.atan2(went[1], went[0]) - walk_yaw))
            ankle, toes = min(((ANKLE_L, FOOT_L), (ANKLE_R, FOOT_R)), key=lambda j: joints[t, nearest, j[1], 2])
            foot = joints[t, nearest, toes] - joints[t, nearest, ankle]
            angles["stance_foot"].append(_angle(math.atan2(foot[1], foot[0]) - walk_yaw))
            body = joints[t, nearest]
            down = [(body[toes] - body[ankle])[:2] for ankle, toes in ((ANKLE_L, FOOT_L), (ANKLE_R, FOOT_R))
                    if body[ankle, 2] < FLAT_ANKLE + FOOT_DOWN or body[toes, 2] < FLAT_TOES + FOOT_DOWN]
            mean = sum(direction / np.linalg.norm(direction) for direction in down) if down else foot[:2]
            angles["feet_down"].append(_angle(math.atan2(mean[1], mean[0]) - walk_yaw))
    for delay in HINDSIGHT:
        for key, frames in ((f"hindsight_{delay:.2f}", walks), (f"hindsight_sideways_{delay:.2f}", sidesteps)):
            angles[key] = [_angle(_hindsight(seen[track_id], t, delay, tracker.config)[0] + mat.yaw_world_from_mat
                                  - direction) for t, track_id, direction in frames]
    angles["hindsight_path"] = [_angle(_hindsight(seen[track_id], t, HINDSIGHT[-1], tracker.config)[1]
                                       + mat.yaw_world_from_mat - walk_yaw) for t, track_id, walk_yaw in walks]
    return {key: np.array(value) for key, value in angles.items()}


def _without_side_steps(feet: float, path_velocity: np.ndarray, config) -> tuple[float, float | None]:
    """[rad, mat frame] from a frame's live heading inputs: heading_along_path without its side-step rule
    (side_step_angle 90 degrees: the feet's mean with the path whenever it moves), and the path's direction
    turned about where the feet point more than 90 degrees off it (None where it does not move)."""
    from pressure_tracker.heading import heading_along_path

    no_side_step = heading_along_path(feet, path_velocity, replace(config, side_step_angle=90.0))
    if not path_velocity.any():
        return no_side_step, None
    path = math.atan2(path_velocity[1], path_velocity[0])
    return no_side_step, path + (math.pi if math.cos(feet - path) < 0 else 0.0)


def _hindsight(seen: dict[int, tuple[float, float, float | None, np.ndarray]], t: int, delay: float,
               config) -> tuple[float, float]:
    """[rad, mat frame] at frame t, from a track's `seen` (frame: CoP x, y, feet heading, ...) within `delay` [s] either
    side: heading_along_path with that centred path's velocity, and the path's own direction, turned about where
    the feet's heading of frame t points more than 90 degrees off it. Frame t is a scored frame: its feet tell."""
    from pressure_tracker.heading import heading_along_path

    frames = [s for s in sorted(seen) if abs(s - t) <= delay * FPS + 1e-9]
    (x0, y0), (x1, y1), feet = seen[frames[0]][:2], seen[frames[-1]][:2], seen[t][2]
    velocity = np.array([x1 - x0, y1 - y0]) / max((frames[-1] - frames[0]) / FPS, 1.0 / FPS)
    path = math.atan2(velocity[1], velocity[0])
    return heading_along_path(feet, velocity, config), path + (math.pi if math.cos(feet - path) < 0 else 0.0)


def _score_shapes(tracker, people_joints: np.ndarray, mat, cols: int, scores: dict[str, list[float]]) -> None:
    """Appends to scores['shape'] / ['shape_2cm'], per whole foot of the tracker's people this frame whose axis is
    within 30 degrees of its true foot's: 1 if its shape names the right toe end, 0 the wrong one, NaN neither;
    and its contact area [m^2] to scores['shape_area']."""
    from pressure_tracker.heading import shows_axis, toes_by_shape

    truth = [((people_joints[q, ankle] + people_joints[q, toes])[:2] / 2.0,
              math.atan2(*(people_joints[q, toes] - people_joints[q, ankle])[1::-1]) - mat.yaw_world_from_mat)
             for q in range(len(people_joints)) for ankle, toes in ((ANKLE_L, FOOT_L), (ANKLE_R, FOOT_R))]
    for track in tracker.tracker.tracks:
        for stance in track.stances if track.frames_since_update == 0 else ():
            foot = stance.foot
            if not truth or not shows_axis(foot, tracker.config):
                continue
            cop = mat.mat_to_world(np.array([*foot.centroid_m, 0.0]))[:2]
            middle, toes = min(truth, key=lambda item: np.linalg.norm(item[0] - cop))
            if np.linalg.norm(middle - cop) > FOOT_MATCH or abs(math.cos(toes - foot.axis)) < math.cos(AXIS_RIGHT):
                continue
            right = 1.0 if math.cos(toes - foot.axis) > 0 else -1.0
            rows, columns = np.divmod(foot.cells, cols)
            coarse = replace(foot, cells=np.unique(rows // 2 * (cols // 2 + 1) + columns // 2))
            for key, sign in (("shape", toes_by_shape(foot, cols)),
                              ("shape_2cm", toes_by_shape(coarse, cols // 2 + 1))):
                scores[key].append(float(sign == right) if sign else math.nan)
            scores["shape_area"].append(foot.area)


def _figures(angles: np.ndarray) -> str:
    if not len(angles):
        return "no frames"
    return (f"{len(angles)} frames, {100 * np.mean(angles < 30.0):.1f} % within 30°, median {np.median(angles):.1f}°, "
            f"95th pct. {np.percentile(angles, 95):.1f}°, reversed {100 * np.mean(angles > 150.0):.1f} %")


def _shape_figures(right: np.ndarray) -> str:
    """right: 1 / 0 / NaN per whole foot (see `_score_shapes`)."""
    told = right[np.isfinite(right)]
    if not len(told):
        return "no feet"
    return f"{len(right)} feet, told {100 * len(told) / len(right):.0f} %, right {100 * np.mean(told):.1f} %"


def _facing(angles: np.ndarray) -> str:
    """angles [deg] of a heading to where the true body faces."""
    facing = f", {100 * np.mean(angles < 30.0):.1f} % facing the body's way" if len(angles) else ""
    return f"{len(angles)} frames{facing}"


def _line(name: str, angles: dict[str, np.ndarray]) -> str:
    area = angles["shape_area"]
    by_area = "; ".join(f"{label} {_shape_figures(angles['shape'][pick])}" for label, pick in (
        (f"< {AREA_BINS[0] * 1e4:.0f} cm²", area < AREA_BINS[0]),
        (f"{AREA_BINS[0] * 1e4:.0f}-{AREA_BINS[1] * 1e4:.0f} cm²", (area >= AREA_BINS[0]) & (area < AREA_BINS[1])),
        (f">= {AREA_BINS[1] * 1e4:.0f} cm²", area >= AREA_BINS[1])))
    activities = "; ".join(f"{activity} {_facing(angles[activity])}" for activity in ACTIVITIES)
    return (f"{name}: heading {_figures(angles['heading'])}; stance foot {_figures(angles['stance_foot'])}; "
            f"feet down {_figures(angles['feet_down'])}; true past path {_figures(angles['past_path'])}; "
            + "".join(f"hindsight ±{delay:.2f} s {_figures(angles[f'hindsight_{delay:.2f}'])}, sideways "
                      f"{_facing(angles[f'hindsight_sideways_{delay:.2f}'])}; " for delay in HINDSIGHT)
            + f"its path alone ±{HINDSIGHT[-1]:.2f} s {_figures(angles['hindsight_path'])}; "
            f"side-step rule dropped {_figures(angles['no_side_step'])}, sideways "
            f"{_facing(angles['no_side_step_sideways'])}; side-step rule at best (the feet alone or their mean with "
            f"the path, whichever is right) {_figures(angles['side_step_at_best'])}; the feet, the path or that mean "
            f"at best {_figures(angles['feet_path_at_best'])}; "
            f"{activities}; whole feet' shape: {_shape_figures(angles['shape'])} ({by_area}); on 2 cm cells "
            + _shape_figures(angles["shape_2cm"]))


def report(scenes: Sequence[HeadingScene], label: str, cache: Path | None) -> list[str]:
    lines, pooled = [f"## {label}"], {}
    for scene in scenes:
        angles = scene_angles(scene, cache)
        for key, value in angles.items():
            pooled.setdefault(key, []).append(value)
        lines.append(_line(scene.name, angles))
    lines.append(_line("pooled", {key: np.concatenate(value) for key, value in pooled.items()}))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("tuning", "heldout", "backwards", "all"), default="all")
    parser.add_argument("--cache", type=Path, help="store / reuse simulated scenes in this folder")
    args = parser.parse_args(argv)
    splits = {"tuning": [("tuning", TUNING)], "heldout": [("held-out", HELD_OUT)],
              "backwards": [("walking backwards", BACKWARDS)]}
    chosen = [item for items in splits.values() for item in items] if args.split == "all" else splits[args.split]
    for label, scenes in chosen:
        print("\n".join(report(scenes, label, args.cache)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
