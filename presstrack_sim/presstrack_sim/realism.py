"""The realism report: gait, force, pressure and sensor quantities measured from scene files, beside published norms.

Everything is measured from what a file holds (MIP layout plus the simulator's keys): the pressure as the mat read
it, each cell's owner, the joints, the foot contacts and the body masses; nothing is read from the simulator's code.

A person's cells are split between their feet by the nearer foot (ankle-to-toe segment of the skeleton, as MIP's
labelling gives regions the identity of the nearest foot joint). A stance is a run of frames with the foot in
contact while its person walks (pelvis faster than WALKING_SPEED). Along the foot's axis (ankle to toe joint), the
toe-less foot runs from the heel end of the stance's footprint to TOE_PAD_START_M ahead of the toe joint; its rear,
middle and front thirds are rearfoot, midfoot and forefoot (the arch index's division, Cavanagh & Rodgers 1987).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from presstrack_body.kinematics import JOINT_NAMES

from .body_overlap import penetration_depth, vertex_normals
from .mip_format import Scene, load_scene

GRAVITY = 9.81
WALKING_SPEED = 0.5  # m/s: pelvis speed above which a person counts as walking
STANDING_SPEED = 0.05  # m/s: below this, with both feet down, standing
# Steady walking: the pelvis's displacement over STRIDE_S (about one stride at 110 steps/min, which averages out the
# within-stride surges and the side-to-side sway) keeps its direction within STEADY_TURN_DEG and its speed within
# STEADY_SPEED_CHANGE over the STRIDE_S before and after: no starting, stopping or turning.
STRIDE_S = 1.0
STEADY_TURN_DEG = 10.0
STEADY_SPEED_CHANGE = 0.1  # m/s
FOOTPRINT_KPA = 2.0  # a cell is part of a footprint (arch index, foot angle) when it reads above this
TOE_PAD_START_M = 0.02  # the toe-less foot ends this far ahead of the toe joint (the metatarsal heads)
MIN_STANCE_S = 0.25
_JOINT = {name: index for index, name in enumerate(JOINT_NAMES)}
ANKLES = (_JOINT["left_ankle"], _JOINT["right_ankle"])
TOES = (_JOINT["left_foot"], _JOINT["right_foot"])
PELVIS = _JOINT["pelvis"]

# quantity -> (unit, low, high, source of the range). Ranges are for healthy adults walking barefoot at their
# comfortable speed, or standing barefoot.
NORMS: dict[str, tuple[str, float, float, str]] = {
    "walking speed": ("m/s", 1.0, 1.5, "comfortable gait, adults 20-79 (Bohannon 1997: 1.27-1.46)"),
    "steady walking speed": ("m/s", 1.0, 1.5, "the same, on straight, level stretches (Bohannon 1997)"),
    "cadence": ("steps/min", 95.0, 125.0, "Tudor-Locke et al. 2011 (about 100-120)"),
    "stance": ("% of cycle", 58.0, 62.0, "Perry 1992 (60 %)"),
    "double support": ("% of cycle", 16.0, 24.0, "Perry 1992 (2 x 10 %)"),
    "peak foot force": ("BW", 1.05, 1.30, "first vertical GRF peak, Winter 1991"),
    "walking heel peak": ("kPa", 370.0, 520.0, "barefoot walking, Shorten 1989 (as quoted in issue 19)"),
    "walking forefoot peak": ("kPa", 630.0, 740.0, "barefoot walking, Shorten 1989 (as quoted in issue 19)"),
    "standing rearfoot share": ("%", 50.0, 65.0, "Cavanagh, Rodgers & Iiboshi 1987 (heel 60 %)"),
    "standing rearfoot peak": ("kPa", 80.0, 160.0, "barefoot standing (issue 19: about 96 kPa)"),
    "arch index": ("-", 0.15, 0.32, "Cavanagh & Rodgers 1987: high <= 0.21 < normal < 0.26 <= flat"),
    "foot progression angle": ("deg", 3.0, 13.0, "out-toeing, adults (issue 19: 5-13)"),
    "step width": ("cm", 6.0, 14.0, "heel-centre distance across the walking line (about 8-10)"),
    "step width SD within walker": ("cm", 1.5, 3.5, "Owings & Grabiner 2004 (about 2.4)"),
    "empty cells reading > 0": ("%", 0.0, 0.1, "thresholded mats read exactly 0 unloaded"),
    "phantom force": ("N", 0.0, 5.0, "force read where nobody stands"),
    "frames with a saturated cell": ("%", 0.1, 100.0, "heavy people saturate real mats"),
    # One value per scene of two or more: centre to centre, over the frames two people are on the mat together.
    "closest pelvises": ("m", 0.0, 0.25, "people pass as close as 25 cm (issue 19)"),
    "closest feet": ("m", 0.0, 0.25, "ankle to ankle, people pass as close as 25 cm (issue 19)"),
}
# Measured only when the report is given the body model (`--meshes`): posing every body is slow.
MESH_NORMS: dict[str, tuple[str, float, float, str]] = {
    "close pairs overlapping > 1 cm": ("%", 0.0, 0.0, "bodies do not interpenetrate (issue 19: beyond 1 cm)"),
}


@dataclass
class Quantity:
    """One row of the report: values measured (one per stance, person or frame, as the quantity goes)."""

    name: str
    values: list[float]

    def summary(self) -> str:
        if not self.values:
            return "-"
        values = np.asarray(self.values, dtype=float)
        low, median, high = np.percentile(values, [5, 50, 95])
        return f"{median:.3g} ({low:.3g}-{high:.3g})"

    def within_norm(self) -> str:
        unit, low, high, _ = (NORMS | MESH_NORMS)[self.name]
        if not self.values:
            return "-"
        median = float(np.median(self.values))
        return "yes" if low <= median <= high else ("low" if median < low else "high")


def _foot_of_cells(cells_xy: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """(N, 2) world points, (24, 3) joints -> (N,) 0 left / 1 right: the nearer ankle-to-toe segment."""
    distances = []
    for side in range(2):
        a, b = joints[ANKLES[side], :2], joints[TOES[side], :2]
        t = np.clip(((cells_xy - a) @ (b - a)) / max(float((b - a) @ (b - a)), 1e-9), 0.0, 1.0)
        distances.append(np.linalg.norm(cells_xy - (a + t[:, None] * (b - a)), axis=1))
    return np.argmin(np.stack(distances), axis=0)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def _closest_approach(scene: Scene) -> tuple[list[float], list[float]]:
    """([m], [m]) the smallest pelvis-to-pelvis and ankle-to-ankle distance of any two people while both are on
    the mat; empty lists for a scene that never has two."""
    pelvis, ankles = scene.keypoints_3d[:, :, PELVIS, :2], scene.keypoints_3d[:, :, list(ANKLES), :2]
    pelvises, feet = [], []
    for a in range(pelvis.shape[1]):
        for b in range(a + 1, pelvis.shape[1]):
            both = scene.present[:, a] & scene.present[:, b]
            if both.any():
                pelvises.append(float(np.linalg.norm(pelvis[both, a] - pelvis[both, b], axis=1).min()))
                feet.append(float(np.linalg.norm(ankles[both, a][:, :, None] - ankles[both, b][:, None],
                                                 axis=-1).min()))
    return ([min(pelvises)], [min(feet)]) if pelvises else ([], [])


def measure_scene(scene: Scene, sensor_full_scale_kpa: float | None = None) -> dict[str, list[float]]:
    """The report's quantities for one scene: name -> values. Saturation is a reading at the sensor's full scale
    (None: at the file's highest reading)."""
    out: dict[str, list[float]] = {name: [] for name in NORMS}
    if scene.cell_owner is None:
        raise ValueError(f"{scene.name}: no cell_owner key; the report needs the simulator's files")
    mat, fps = scene.mat, scene.fps
    rows, cols = np.mgrid[0:mat.rows, 0:mat.cols]
    cells_world = mat.cell_to_world(np.stack([rows.ravel(), cols.ravel()], axis=1))
    cell_newton = mat.cell_area_m2 * 1000.0
    pressure = scene.pressure
    frames, people = scene.present.shape
    # Sensor: what reads where nobody presses.
    empty = scene.cell_owner < 0
    if scene.extra and "cell_object" in scene.extra:
        empty &= scene.extra["cell_object"] < 0  # a floor object is not nobody
    out["empty cells reading > 0"] = [float(100 * (pressure[f][empty[f]] > 0).mean()) for f in range(frames)]
    out["phantom force"] = [float(pressure[f][empty[f]].sum() * cell_newton) for f in range(frames)]
    full_scale = sensor_full_scale_kpa if sensor_full_scale_kpa is not None else float(pressure.max())
    saturated = (pressure >= 0.999 * full_scale).any(axis=(1, 2)) & scene.present.any(axis=1)
    out["frames with a saturated cell"] = [100.0 * saturated.sum() / max(1, scene.present.any(axis=1).sum())]
    closest_pelvises, closest_feet = _closest_approach(scene)
    out["closest pelvises"], out["closest feet"] = closest_pelvises, closest_feet
    for p in range(people):
        joints = scene.keypoints_3d[:, p]
        pelvis = joints[:, PELVIS, :2]
        velocity = np.gradient(pelvis, 1.0 / fps, axis=0)
        speed = np.linalg.norm(velocity, axis=1)
        present = scene.present[:, p]
        walking = present & (speed > WALKING_SPEED)
        standing = present & (speed < STANDING_SPEED) & scene.contact[:, p].all(axis=1)
        weight = float(scene.masses[p]) * GRAVITY
        if walking.sum() >= fps:
            out["walking speed"].append(float(np.median(speed[walking])))
        steady = steady_walking_speed(pelvis, present, fps)
        if len(steady) >= fps:
            out["steady walking speed"].append(float(np.median(steady)))
        # Per-frame split of the person's cells between their feet.
        foot_force = np.zeros((frames, 2))
        foot_cells: list[list[tuple[np.ndarray, np.ndarray]]] = [[], []]
        for f in np.flatnonzero(present):
            own = np.flatnonzero(scene.cell_owner[f].ravel() == p)
            values = pressure[f].ravel()[own]
            side = _foot_of_cells(cells_world[own], joints[f])
            for s in range(2):
                foot_force[f, s] = values[side == s].sum() * cell_newton
            foot_cells[0].append((own[side == 0], values[side == 0]))
            foot_cells[1].append((own[side == 1], values[side == 1]))
        frame_slot = {f: k for k, f in enumerate(np.flatnonzero(present))}
        onsets, widths = [], []
        for s in range(2):
            contact = scene.contact[:, p, s] & present
            for start, stop in _runs(contact):
                if stop - start < MIN_STANCE_S * fps or not walking[start:stop].all() or start == 0 \
                        or stop == frames:
                    continue
                onsets.append((start, s))
                out["peak foot force"].append(float(foot_force[start:stop, s].max() / weight))
                regions = _stance_regions(scene, p, s, start, stop, cells_world, foot_cells[s], frame_slot)
                if regions is None:
                    continue
                heel_peak, forefoot_peak, arch_index, angle, centre = regions
                out["walking heel peak"].append(heel_peak)
                out["walking forefoot peak"].append(forefoot_peak)
                out["arch index"].append(arch_index)
                out["foot progression angle"].append(angle)
                widths.append((start, s, centre, velocity[(start + stop) // 2]))
                cycle_stop = next((b for b, _ in _runs(contact) if b >= stop), None)
                if cycle_stop is not None and walking[start:cycle_stop].all():
                    cycle = cycle_stop - start
                    out["stance"].append(100.0 * (stop - start) / cycle)
                    both = (scene.contact[start:cycle_stop, p] & present[start:cycle_stop, None]).all(axis=1)
                    out["double support"].append(100.0 * both.sum() / cycle)
        onsets.sort()
        if len(onsets) >= 4:
            times = np.array([start for start, _ in onsets]) / fps
            gaps = np.diff(times)
            gaps = gaps[gaps < 1.5]  # a pause or a turn is not a step
            if len(gaps):
                out["cadence"].append(float(60.0 / np.median(gaps)))
        _step_widths(widths, out)
        for f in np.flatnonzero(standing):
            share = _rearfoot_share(scene, p, f, cells_world, foot_cells, frame_slot)
            if share is not None:
                out["standing rearfoot share"].append(share[0])
                out["standing rearfoot peak"].append(share[1])
    return out


def steady_walking_speed(pelvis: np.ndarray, present: np.ndarray, fps: float) -> np.ndarray:
    """Stride-averaged speeds (m/s) at the frames where a person walks steadily (STRIDE_S, STEADY_TURN_DEG,
    STEADY_SPEED_CHANGE): pelvis (T, 2) m, present (T,) bool."""
    half = max(1, int(round(STRIDE_S * fps / 2)))
    frames = len(pelvis)
    if frames < 4 * half + 1:
        return np.zeros(0)
    # Displacement over one stride centred on each frame, and over the strides just before and after it.
    centre = np.arange(2 * half, frames - 2 * half)
    chord = (pelvis[centre + half] - pelvis[centre - half]) * fps / (2 * half)
    before = (pelvis[centre] - pelvis[centre - 2 * half]) * fps / (2 * half)
    after = (pelvis[centre + 2 * half] - pelvis[centre]) * fps / (2 * half)
    speed, speed_before, speed_after = (np.linalg.norm(v, axis=1) for v in (chord, before, after))
    cos_turn = np.einsum("ij,ij->i", before, after) / np.maximum(speed_before * speed_after, 1e-9)
    whole = np.array([present[max(0, f - 2 * half):f + 2 * half + 1].all() for f in centre])
    steady = (whole & (speed > WALKING_SPEED) & (np.abs(speed_after - speed_before) < STEADY_SPEED_CHANGE)
              & (cos_turn > np.cos(np.deg2rad(STEADY_TURN_DEG))))
    return speed[steady]


def _axis(joints: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    ankle, toe = joints[ANKLES[side], :2], joints[TOES[side], :2]
    direction = (toe - ankle) / max(float(np.linalg.norm(toe - ankle)), 1e-9)
    return toe, direction


def _thirds(along: np.ndarray, heel_end: float, toe_joint: float) -> np.ndarray:
    """(N,) region of each position along the foot: 0 rearfoot, 1 midfoot, 2 forefoot, 3 toes."""
    length = toe_joint + TOE_PAD_START_M - heel_end
    return np.minimum(np.floor(3 * (along - heel_end) / length), 3).clip(0).astype(int)


def _stance_regions(scene: Scene, p: int, side: int, start: int, stop: int, cells_world: np.ndarray,
                    cells: list[tuple[np.ndarray, np.ndarray]], frame_slot: dict[int, int]):
    """Heel and forefoot peak kPa, arch index, foot progression angle (deg, + out) and footprint centre of one
    stance; None when the footprint is too small to tell."""
    middle = (start + stop) // 2
    toe, direction = _axis(scene.keypoints_3d[middle, p], side)
    peak_by_cell: dict[int, float] = {}
    for f in range(start, stop):
        ids, values = cells[frame_slot[f]]
        for cell, value in zip(ids.tolist(), values.tolist()):
            if value > peak_by_cell.get(cell, 0.0):
                peak_by_cell[cell] = value
    ids = np.array([c for c, v in peak_by_cell.items() if v > FOOTPRINT_KPA], dtype=int)
    if len(ids) < 20:
        return None
    peaks = np.array([peak_by_cell[c] for c in ids])
    points = cells_world[ids]
    along = (points - toe) @ direction
    region = _thirds(along, along.min(), 0.0)
    if not (region == 0).any() or not (region == 2).any():
        return None
    toe_less = region < 3
    arch_index = float((region == 1).sum() / toe_less.sum())
    # Foot progression angle: the footprint's long axis against the walking direction.
    centred = points[toe_less] - points[toe_less].mean(axis=0)
    axis = np.linalg.svd(centred, full_matrices=False)[2][0]
    axis = axis if axis @ direction > 0 else -axis
    pelvis = scene.keypoints_3d[:, p, PELVIS, :2]
    heading = pelvis[min(stop, len(pelvis) - 1)] - pelvis[start]
    heading /= max(float(np.linalg.norm(heading)), 1e-9)
    cross = heading[0] * axis[1] - heading[1] * axis[0]  # + when the foot points left of the heading
    outward = 1.0 if side == 0 else -1.0  # out-toeing turns the left foot left, the right foot right
    angle = float(np.degrees(np.arcsin(np.clip(cross, -1, 1))) * outward)
    return (float(peaks[region == 0].max()), float(peaks[region == 2].max()), arch_index, angle,
            points[toe_less].mean(axis=0))


def _step_widths(steps: list, out: dict[str, list[float]]) -> None:
    """Step width: distance across the walking direction between successive footprints of opposite feet."""
    steps.sort(key=lambda step: step[0])
    widths = []
    for (_, side_a, centre_a, velocity), (_, side_b, centre_b, _) in zip(steps, steps[1:]):
        speed = float(np.linalg.norm(velocity))
        if side_a == side_b or speed < WALKING_SPEED:
            continue
        heading = velocity / speed
        offset = centre_b - centre_a
        across = abs(heading[0] * offset[1] - heading[1] * offset[0])
        if across < 0.4:  # a turn, not a step
            widths.append(100.0 * across)
    out["step width"].extend(widths)
    if len(widths) >= 5:
        out["step width SD within walker"].append(float(np.std(widths)))


def _rearfoot_share(scene: Scene, p: int, f: int, cells_world: np.ndarray,
                    cells: list[list[tuple[np.ndarray, np.ndarray]]], frame_slot: dict[int, int]):
    """Share (%) of a standing person's load on their rearfeet, and the rearfoot's peak kPa, in frame f."""
    rear, total, peak = 0.0, 0.0, 0.0
    for side in range(2):
        ids, values = cells[side][frame_slot[f]]
        if len(ids) < 10:
            return None
        toe, direction = _axis(scene.keypoints_3d[f, p], side)
        along = (cells_world[ids] - toe) @ direction
        region = _thirds(along, along[values > FOOTPRINT_KPA].min() if (values > FOOTPRINT_KPA).any()
                         else along.min(), 0.0)
        rear += values[region == 0].sum()
        total += values.sum()
        peak = max(peak, float(values[region == 0].max(initial=0.0)))
    return (100.0 * rear / total, peak) if total > 0 else None


def realism_report(paths: list[Path], body_model=None) -> tuple[str, dict[str, Quantity]]:
    """Measure every file and return the Markdown table and the quantities; with `body_model`, also the overlap
    of neighbours' posed meshes (one value per scene: the share of checked close pairs)."""
    norms = NORMS | (MESH_NORMS if body_model is not None else {})
    merged: dict[str, list[float]] = {name: [] for name in norms}
    for path in paths:
        scene = load_scene(path)
        sensor = (scene.extra or {}).get("sensor_model")
        full_scale = None if sensor is None else float(json.loads(str(sensor))["full_scale_kpa"])
        for name, values in measure_scene(scene, full_scale).items():
            merged[name].extend(values)
        if body_model is not None:
            depths = np.asarray(neighbour_penetration(scene, body_model))
            if len(depths):
                merged["close pairs overlapping > 1 cm"].append(float(100.0 * (depths > 1.0).mean()))
    quantities = {name: Quantity(name, values) for name, values in merged.items()}
    lines = ["| quantity | unit | measured: median (5-95 %) | n | published norm | within |",
             "|---|---|---|---|---|---|"]
    for name, quantity in quantities.items():
        unit, low, high, source = norms[name]
        lines.append(f"| {name} | {unit} | {quantity.summary()} | {len(quantity.values)} | {low:g}-{high:g} "
                     f"({source}) | {quantity.within_norm()} |")
    return "\n".join(lines) + "\n", quantities


NEIGHBOUR_DISTANCE_M = 0.8  # pelvis distance under which two people's posed meshes are checked for overlap


def neighbour_penetration(scene: Scene, model, every: int = 15) -> list[float]:
    """Every `every`-th frame, the deepest overlap (cm) of the posed meshes of each pair of people whose pelvises
    are within NEIGHBOUR_DISTANCE_M; `model` is the body model (presstrack_body.model.BodyModel)."""
    frames = np.arange(0, len(scene.present), every)
    faces = np.asarray(model.faces)
    depths = []
    for f in frames:
        present = np.flatnonzero(scene.present[f])
        pelvis = scene.keypoints_3d[f, present, PELVIS]
        meshes: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for i, a in enumerate(present):
            for j in range(i + 1, len(present)):
                b = present[j]
                if np.linalg.norm(pelvis[i, :2] - pelvis[j, :2]) > NEIGHBOUR_DISTANCE_M:
                    continue
                for p in (a, b):
                    if p not in meshes:
                        vertices, _ = model.pose_body(scene.betas[f, p], scene.pose[f, p][None],
                                                      scene.trans[f, p][None])
                        vertices = vertices[0].double().numpy()
                        meshes[p] = (vertices, vertex_normals(vertices, faces))
                depth = max(penetration_depth(*meshes[a], meshes[b][0]), penetration_depth(*meshes[b], meshes[a][0]))
                depths.append(100.0 * depth)
    return depths
