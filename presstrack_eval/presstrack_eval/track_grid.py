"""The robustness grid: simulated scenes varied one axis at a time around a default scene, ours and peers scored.

    presstrack-track-suite --grid [--split heldout|tuning] [--repeats N] [--axes AXIS ...] [--seconds S]
                           [--old-labels] [--cache DIR] [--out grid.md] [--json grid.json]

The default scene: 3 people wandering for 20 s on a 238 x 120-cell mat of 1 cm cells at 15 Hz, barefoot with
a normal arch (toe pads apart from the forefoot), adults of 40-100 kg, read by `grid_sensor` with 0.5 kPa
noise (plus 1 % of the reading) and no firmware threshold, stored in kPa. Each axis changes one thing (AXES);
the noise axis adds the mat's defective cells (0.1 % dead, 0.01 % stuck, 0.02 % hot) to every noise level,
beside the default without them. The pressure-scale axis stores the default scene in a file, as MIP's
raw units times a factor, with or without the 'pressure_unit' / 'pressure_scale_kpa' keys, and reads it back
through presstrack-track's loader: without the keys the tracker sees kPa times the factor.

Labels are the simulator's (`presstrack_sim.simulator.label_box`: a person's cells read above max(1.5 kPa, 3
noise sigmas), in regions of more than one cell); `--old-labels` gives the labels of before issue 20's labeller (a
fixed 1.5 kPa, inside the noise of the 1 and 2 kPa cells, single cells kept), so a figure can be given under both.

Seeds: `--split tuning` draws seeds 0-999 (the range the tracker's development may look at: the fixed suite
uses 11-61), `--split heldout` (the default) seeds 10000 and up, never used while tuning. Every cell of a
repeat shares its seed, so an axis compares like with like. A scene is simulated once per (cell, seed) and
kept in `--cache DIR`, keyed by the cell's settings only: empty the folder after changing the simulator.
"""
from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from presstrack_common.mip_format import MIP_KPA_PER_RAW
from pressure_tracker.motchallenge import load_scene

from .peers import PEERS
from .track_suite import OURS, SceneData, TrackerResult, score_scene, store_scene

SPLIT_SEEDS = {"tuning": 0, "heldout": 10000}  # first seed of each split; a split holds 1000 seeds
SPLIT_SIZE = 1000
DEFAULT_SECONDS = 20.0
STAND_STILL_SECONDS = 120.0  # "standing still for minutes"
# Target of the issue: every cell at or above these.
TARGET_MOTA, TARGET_IDF1 = 0.95, 0.93


@dataclass(frozen=True)
class GridScene:
    """What to simulate: scenario and people (None: its own count), length [s], frame rate [Hz], cell pitch
    [m], sensor noise [kPa], whether the mat has defective cells (`grid_sensor`), feet ('shod': pads joined
    by the outsole, 'barefoot': toe pads apart, 'high_arch': toe pads and a midfoot gap), body (None: adults
    of 40-100 kg; else stature [m] and BMI ranges), crossing2's lane gap [m] (None: not set) and whether its boxes
    are labelled as before issue 20's labeller (`SimConfig.old_labels`)."""

    scenario: str = "wander"
    people: int | None = 3
    seconds: float = DEFAULT_SECONDS
    fps: float = 15.0
    pitch: float = 0.01
    noise_kpa: float = 0.5
    defects: bool = False
    feet: str = "barefoot"
    body: tuple[tuple[float, float], tuple[float, float]] | None = None
    lane_gap_m: float | None = None
    old_labels: bool = False


@dataclass(frozen=True)
class GridCell:
    """One cell: its axis, its label, the scene, and how the scene is stored: `scale` times MIP raw units,
    with the unit keys (`with_unit`) or without; scale None: handed over in kPa, as the simulator made it."""

    axis: str
    label: str
    scene: GridScene
    scale: float | None = None
    with_unit: bool = True


DEFAULT = GridScene()
FEET_ARCH = {"shod": 0.5, "barefoot": 0.5, "high_arch": 1.0}
# Stature and BMI ranges that give each mass band (mass = BMI x stature^2).
MASS_BANDS = {"40-60 kg": ((1.55, 1.65), (17.0, 22.0)), "60-90 kg": ((1.65, 1.80), (22.0, 27.5)),
              "90-130 kg": ((1.80, 1.95), (27.8, 34.0))}


def _axes() -> dict[str, list[GridCell]]:
    d = DEFAULT
    return {
        "noise": [GridCell("noise", "0.5 kPa, no defective cells (default)", d)]
        + [GridCell("noise", f"{n:g} kPa + dead, stuck, hot cells", replace(d, noise_kpa=n, defects=True))
           for n in (0.0, 0.5, 1.0, 2.0)],
        "feet": [GridCell("feet", "pads joined (shod)", replace(d, feet="shod")),
                 GridCell("feet", "toe gap (barefoot)", d),
                 GridCell("feet", "toe + arch gap (high arch)", replace(d, feet="high_arch"))],
        "scale": [GridCell("scale", f"x{factor:g} {'with' if unit else 'without'} unit", d, factor, unit)
                  for factor in (0.03, 1.0, 30.0) for unit in (True, False)],
        "pitch": [GridCell("pitch", "1 cm", d), GridCell("pitch", "2 cm", replace(d, pitch=0.02))],
        "fps": [GridCell("fps", f"{f:g} Hz", replace(d, fps=f)) for f in (10.0, 15.0, 30.0, 60.0)],
        "mass": [GridCell("mass", "40-100 kg (default)", d)] + [
            GridCell("mass", band, replace(d, body=ranges)) for band, ranges in MASS_BANDS.items()],
        "people": [GridCell("people", str(n), replace(d, people=n)) for n in range(1, 6)],
        "situations": [GridCell("situations", f"crossing at {100 * gap:.0f} cm",
                                replace(d, scenario="crossing2", people=None, lane_gap_m=gap))
                       for gap in (0.25, 0.30, 0.35)]
        + [GridCell("situations", "side by side (40 cm)", replace(d, scenario="side_by_side", people=None)),
           GridCell("situations", "face to face (dance hold)", replace(d, scenario="face_to_face", people=None)),
           GridCell("situations", f"standing still {STAND_STILL_SECONDS / 60:g} min, another passing",
                    replace(d, scenario="stand_still", people=None, seconds=STAND_STILL_SECONDS)),
           GridCell("situations", "3 leaving and coming back", replace(d, scenario="enter_leave", people=3))],
    }


AXES = _axes()


def grid_sensor(noise_kpa: float, defects: bool = True):
    """The grid's sensor: a MIP-like mat without firmware threshold, so its noise reaches the tracker; with
    `defects`, 0.1 % of its cells dead, 0.01 % stuck (at a fixed reading up to full scale) and 0.02 % hot
    (10-20 kPa over the true pressure): some 3 stuck and 6 hot cells on a 238 x 120 mat."""
    from presstrack_sim.sensor import SensorModel

    share = 1.0 if defects else 0.0
    return SensorModel(full_scale_kpa=500.0, noise_kpa=noise_kpa, noise_fraction=0.01, crosstalk_sigma=0.5, bits=16,
                       dead_fraction=1e-3 * share, stuck_fraction=1e-4 * share, hot_fraction=2e-4 * share,
                       hot_offset_kpa=20.0, gain_spread=0.03)


def sim_config(scene: GridScene, seed: int):
    """The simulator configuration of `scene` with `seed`."""
    from presstrack_common.mat_geometry import MatGeometry
    from presstrack_sim.people import BodyRanges
    from presstrack_sim.plantar import PlantarModel
    from presstrack_sim.simulator import SimConfig

    arch = FEET_ARCH[scene.feet]
    plantar = PlantarModel(arch_range=(arch, arch), stiffness_range=(1.0, 1.0),
                           shoe_probability=1.0 if scene.feet == "shod" else 0.0)
    bodies = None if scene.body is None else BodyRanges(height_range=scene.body[0], bmi_range=scene.body[1])
    scale = scene.pitch / 0.01
    mat = MatGeometry(int(round(238 / scale)), int(round(120 / scale)), scene.pitch)
    return SimConfig(scenario=scene.scenario, people=scene.people, seconds=scene.seconds, fps=scene.fps, seed=seed,
                     mat=mat, sensor=grid_sensor(scene.noise_kpa, scene.defects), plantar=plantar, bodies=bodies,
                     lane_gap_m=scene.lane_gap_m, old_labels=scene.old_labels)


def _cache_path(cache: Path, scene: GridScene, seed: int) -> Path:
    key = hashlib.sha1(json.dumps(asdict(scene), sort_keys=True).encode()).hexdigest()[:12]
    return cache / f"grid_{scene.scenario}_seed{seed}_{key}.npz"


def simulate(scene: GridScene, seed: int, cache: Path | None = None) -> SceneData:
    """The scene's recording (kPa), from `cache` if stored there, else simulated (and stored when cache is set)."""
    path = _cache_path(cache, scene, seed) if cache is not None else None
    if path is not None and path.exists():
        with np.load(path) as data:
            return SceneData(data["pressure"], data["box"].astype(np.float64), float(data["fps"]), float(data["pitch"]))
    from presstrack_sim.simulator import simulate_scene

    simulated = simulate_scene(sim_config(scene, seed))
    data = SceneData(np.asarray(simulated.pressure, dtype=np.float32), np.asarray(simulated.box, dtype=np.float64),
                     scene.fps, scene.pitch)
    if path is not None:
        store_scene(path, pressure=data.pressure, box=data.box, fps=data.fps, pitch=data.cell_pitch)
    return data


def stored_and_read(data: SceneData, scale: float, with_unit: bool) -> SceneData:
    """`data` written to a scene file as `scale` x MIP raw units (with or without its unit keys) and read back by
    presstrack-track's loader: what a user's file in another scale gives the tracker."""
    with tempfile.TemporaryDirectory(prefix="presstrack-grid-") as folder:
        path = Path(folder) / "scene.npz"
        keys = {"pressure_unit": np.array("raw"), "pressure_scale_kpa": np.array(MIP_KPA_PER_RAW / scale)} \
            if with_unit else {}
        np.savez(path, pressure=(data.pressure / np.float32(MIP_KPA_PER_RAW) * np.float32(scale)).astype(np.float32),
                 box=data.box, fps=np.array(data.fps), **keys)
        scene = load_scene(path)
    return SceneData(np.asarray(scene.pressure, dtype=np.float32), data.box, data.fps, data.cell_pitch)


def cell_data(cell: GridCell, seed: int, cache: Path | None) -> SceneData:
    data = simulate(cell.scene, seed, cache)
    return data if cell.scale is None else stored_and_read(data, cell.scale, cell.with_unit)


@dataclass
class CellResult:
    cell: GridCell
    seed: int
    frames: int
    results: dict[str, TrackerResult]  # per tracker name


def run_grid(axes: Sequence[str], split: str = "heldout", repeats: int = 1, seconds: float | None = None,
             cache: Path | None = None, peers: Sequence[str] = PEERS, log=print, old_labels: bool = False
             ) -> list[CellResult]:
    """Every cell of `axes` (AXES names), `repeats` seeds each, scored for ours, the baseline and `peers`.
    `seconds` overrides every scene's length (quick runs); `old_labels` labels every scene as before issue 20's
    labeller (`GridScene`)."""
    return run_cells([cell for axis in axes for cell in AXES[axis]], split, repeats, seconds, cache, peers, log,
                     old_labels)


def run_cells(cells: Sequence[GridCell], split: str = "heldout", repeats: int = 1, seconds: float | None = None,
              cache: Path | None = None, peers: Sequence[str] = PEERS, log=print, old_labels: bool = False
              ) -> list[CellResult]:
    """`run_grid` of the given cells."""
    if split not in SPLIT_SEEDS:
        raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLIT_SEEDS)}")
    if not 1 <= repeats <= SPLIT_SIZE:
        raise ValueError(f"repeats must be 1-{SPLIT_SIZE}, got {repeats}")
    out = []
    for cell in cells:
        if seconds is not None:
            cell = replace(cell, scene=replace(cell.scene, seconds=seconds))
        if old_labels:
            cell = replace(cell, scene=replace(cell.scene, old_labels=True))
        for repeat in range(repeats):
            seed = SPLIT_SEEDS[split] + repeat
            start = time.perf_counter()
            data = cell_data(cell, seed, cache)
            ready = time.perf_counter() - start
            results = score_scene(data, f"{cell.axis}/{cell.label}/seed{seed}", peers)
            log(f"{cell.axis} | {cell.label} | seed {seed}: {len(data.pressure)} frames, ready in {ready:.1f} s, "
                f"scored in {time.perf_counter() - start - ready:.1f} s", file=sys.stderr)
            out.append(CellResult(cell, seed, len(data.pressure), results))
    return out


def _pooled(cells: list[CellResult], tracker: str) -> dict:
    """MOTA, IDF1, id switches, FP, FN of one tracker over the repeats of a cell (motmetrics OVERALL)."""
    import motmetrics

    accumulators = [c.results[tracker].accumulator for c in cells]
    summary = motmetrics.metrics.create().compute_many(
        accumulators, names=[str(i) for i in range(len(accumulators))],
        metrics=["mota", "idf1", "num_switches", "num_false_positives", "num_misses"], generate_overall=True)
    row = summary.loc["OVERALL"]
    return {"mota": float(row["mota"]), "idf1": float(row["idf1"]) if np.isfinite(row["idf1"]) else 0.0,
            "id_switches": int(row["num_switches"]), "false_positives": int(row["num_false_positives"]),
            "misses": int(row["num_misses"]), "ids": sum(c.results[tracker].ids for c in cells),
            "people": max(c.results[tracker].people for c in cells)}


def report(results: list[CellResult], split: str) -> tuple[str, dict]:
    """Markdown (one table per axis: a row per cell, a column per tracker holding MOTA / IDF1 / id switches /
    FP / FN, then a summary row per tracker) and JSON."""
    trackers = list(results[0].results) if results else []
    seeds = sorted({r.seed for r in results})
    lines = [f"# Robustness grid ({split} split, seeds {', '.join(map(str, seeds))}; IoU >= 0.5)", "",
             "Each tracker's column: MOTA % / IDF1 % / id switches / false positives / misses (box-frames).", ""]
    payload: dict = {"split": split, "seeds": seeds, "axes": {}}
    cells: dict[tuple[str, str], list[CellResult]] = {}
    for r in results:
        cells.setdefault((r.cell.axis, r.cell.label), []).append(r)
    summary: dict[str, list[dict]] = {t: [] for t in trackers}
    for axis in dict.fromkeys(r.cell.axis for r in results):
        lines += [f"### {axis}", "", "| cell | frames | people | " + " | ".join(trackers) + " |",
                  "|---|---:|---:|" + "---:|" * len(trackers)]
        payload["axes"][axis] = {}
        for (cell_axis, label), group in cells.items():
            if cell_axis != axis:
                continue
            frames = sum(c.frames for c in group)
            entry = {"frames": frames, "scene": asdict(group[0].cell.scene), "scale": group[0].cell.scale,
                     "with_unit": group[0].cell.with_unit, "trackers": {}}
            payload["axes"][axis][label] = entry
            columns = []
            for tracker in trackers:
                s = _pooled(group, tracker)
                entry["trackers"][tracker] = s
                summary[tracker].append(s)
                text = (f"{100 * s['mota']:.1f} / {100 * s['idf1']:.1f} / {s['id_switches']} / "
                        f"{s['false_positives']} / {s['misses']}")
                columns.append(f"**{text}**" if tracker == OURS else text)
            people = entry["trackers"][trackers[0]]["people"]
            lines.append(f"| {label} | {frames} | {people} | " + " | ".join(columns) + " |")
        lines.append("")
    lines += ["### summary per tracker", "",
              f"| tracker | cells | cells with MOTA >= {100 * TARGET_MOTA:.0f} and IDF1 >= {100 * TARGET_IDF1:.0f} | "
              "worst MOTA | worst IDF1 | IDsw |", "|---|---:|---:|---:|---:|---:|"]
    payload["summary"] = {}
    for tracker, scores in summary.items():
        met = sum(s["mota"] >= TARGET_MOTA and s["idf1"] >= TARGET_IDF1 for s in scores)
        entry = {"cells": len(scores), "cells_met": met, "worst_mota": min(s["mota"] for s in scores),
                 "worst_idf1": min(s["idf1"] for s in scores), "id_switches": sum(s["id_switches"] for s in scores)}
        payload["summary"][tracker] = entry
        lines.append(f"| {tracker} | {entry['cells']} | {met} | {100 * entry['worst_mota']:.1f} | "
                     f"{100 * entry['worst_idf1']:.1f} | {entry['id_switches']} |")
    return "\n".join(lines), payload
