"""Simulated scenes in the MIP .npz layout, and a validating reader.

Keys (T frames, P = max people = person slots; a slot is one person for the whole file):
- name: str, e.g. 'sim/crossing2/seed1'
- pressure: (T, rows, cols) float32 in kPa (MIP stores raw sensor units; here 'pressure_unit' = 'kPa' and
  'pressure_scale_kpa' = 1.0 say how to read it: kPa = pressure * pressure_scale_kpa)
- box: (T, P, 4) float32 x1, y1, x2, y2 in cells (x = column, y = row; cell edges around the person's footprint),
  all zero where the person is not on the mat
- pose: (T, P, 72) float32 SMPL axis-angle, root orientation in the world (z up)
- betas: (T, P, 10) float32
- trans: (T, P, 3) float32 SMPL translation in the world (pelvis joint = rest pelvis joint + trans)
- keypoints_3d: (T, P, 24, 3) float32 world positions of the 24 SMPL joints
- segments: (P, K, 2) int64 [start, end) frame ranges in which each person is on the mat, padded with -1
- present: (T, P) bool; contact: (T, P, 2) bool per foot (left, right) in stance
- person_ids: (P,) int64; heights: (P,) float32 m; masses: (P,) float32 kg
- fps: float; cell_pitch: float m; rows, cols: int; world_from_mat: (4, 4) float64; mat_corners_world: (4, 2)
- cell_owner (optional): (T, rows, cols) int8 person slot whose feet press each cell, -1 for none (what a crop of
  one person keeps when the others are masked out; MIP has no such key)
- sensor_model (optional): str, JSON of the SensorModel parameters that made `pressure` (sensor.py)
- foot_arch, foot_stiffness (optional): (P,) float32 each person's arch (0 flat ... 1 high) and sole stiffness;
  foot_shoes (optional): (P,) bool shod (plantar.py); absent when the soles carry the legacy even load
- cell_object (optional): (T, rows, cols) int8 index of the floor object (no person: furniture, a dropped object, a
  pet; objects.py) pressing each cell, -1 for none; object_kinds (K,) str, object_masses (K,) float32 kg
- carried_kg (optional): (P,) float32 load each person carries (on their feet, not in `masses`)
Per-person arrays are zero in frames where that person is absent, as in MIP.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from presstrack_common.mat_geometry import MatGeometry
from presstrack_common.mip_format import PRESSURE_KPA, open_mip, read_mip_pressure

PRESSURE_UNIT = PRESSURE_KPA
ZIP_LEVEL = 1  # zlib level: ~3.5x faster to write than numpy's savez_compressed (level 6), files ~40 % larger


@dataclass
class Scene:
    """An in-memory MIP-format scene; field meanings as in the module docstring."""

    name: str
    pressure: np.ndarray
    box: np.ndarray
    pose: np.ndarray
    betas: np.ndarray
    trans: np.ndarray
    keypoints_3d: np.ndarray
    present: np.ndarray
    contact: np.ndarray
    person_ids: np.ndarray
    heights: np.ndarray
    masses: np.ndarray
    fps: float
    mat: MatGeometry
    cell_owner: np.ndarray | None = None
    extra: dict[str, np.ndarray] | None = None  # the optional EXTRA_KEYS present

    @property
    def segments(self) -> np.ndarray:
        return present_segments(self.present)


def present_segments(present: np.ndarray) -> np.ndarray:
    """(T, P) bool -> (P, K, 2) int64 [start, end) runs of True per person, padded with -1 (K >= 1)."""
    runs = []
    for column in np.asarray(present, dtype=bool).T:
        edges = np.diff(np.concatenate([[0], column.astype(np.int8), [0]]))
        runs.append(np.stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)], axis=1))
    width = max([1] + [len(r) for r in runs])
    segments = np.full((len(runs), width, 2), -1, dtype=np.int64)
    for slot, r in enumerate(runs):
        segments[slot, :len(r)] = r
    return segments


def scene_path(path: str | Path) -> Path:
    """Where `write_scene` writes for `path`: the path itself, with .npz added if it has another suffix."""
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_suffix(path.suffix + ".npz")


def write_scene(path: str | Path, scene: Scene) -> Path:
    """Write `scene` to a compressed .npz at `scene_path(path)`; returns that path."""
    path = scene_path(path)
    mat = scene.mat
    _save_npz(
        path,
        name=np.array(scene.name),
        pressure=scene.pressure.astype(np.float32),
        pressure_unit=np.array(PRESSURE_UNIT),
        pressure_scale_kpa=np.array(1.0),
        box=scene.box.astype(np.float32),
        pose=scene.pose.astype(np.float32),
        betas=scene.betas.astype(np.float32),
        trans=scene.trans.astype(np.float32),
        keypoints_3d=scene.keypoints_3d.astype(np.float32),
        segments=present_segments(scene.present),
        present=scene.present.astype(bool),
        contact=scene.contact.astype(bool),
        person_ids=scene.person_ids.astype(np.int64),
        heights=scene.heights.astype(np.float32),
        masses=scene.masses.astype(np.float32),
        fps=np.array(float(scene.fps)),
        cell_pitch=np.array(float(mat.pitch)),
        rows=np.array(int(mat.rows)),
        cols=np.array(int(mat.cols)),
        world_from_mat=mat.world_from_mat.astype(np.float64),
        mat_corners_world=mat.corners_world(),
        **({} if scene.cell_owner is None else {"cell_owner": scene.cell_owner.astype(np.int8)}),
        **{key: np.asarray(value) for key, value in (scene.extra or {}).items() if key in EXTRA_KEYS},
    )
    return path


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Like np.savez_compressed, at compression level ZIP_LEVEL; np.load reads it."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL) as archive:
        for key, value in arrays.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)


EXTRA_KEYS = ("sensor_model", "foot_arch", "foot_stiffness", "foot_shoes", "cell_object", "object_kinds",
              "object_masses", "carried_kg")
# key -> (dtype kind(s), shape with 'T', 'P', 'R', 'C', 'K' symbols or ints)
_SCHEMA: dict[str, tuple[str, tuple]] = {
    "name": ("U", ()),
    "pressure": ("f", ("T", "R", "C")),
    "pressure_unit": ("U", ()),
    "pressure_scale_kpa": ("f", ()),
    "box": ("f", ("T", "P", 4)),
    "pose": ("f", ("T", "P", 72)),
    "betas": ("f", ("T", "P", 10)),
    "trans": ("f", ("T", "P", 3)),
    "keypoints_3d": ("f", ("T", "P", 24, 3)),
    "segments": ("i", ("P", "K", 2)),
    "present": ("b", ("T", "P")),
    "contact": ("b", ("T", "P", 2)),
    "person_ids": ("i", ("P",)),
    "heights": ("f", ("P",)),
    "masses": ("f", ("P",)),
    "fps": ("f", ()),
    "cell_pitch": ("f", ()),
    "rows": ("i", ()),
    "cols": ("i", ()),
    "world_from_mat": ("f", (4, 4)),
    "mat_corners_world": ("f", (4, 2)),
}


def load_scene(path: str | Path) -> Scene:
    """Read and check a scene written by `write_scene`.

    The keys every MIP-format file shares (pressure, its unit, fps, cell pitch) are read by
    `presstrack_common.mip_format.read_mip_pressure`; this reader adds the simulator's full schema.

    Raises:
        ValueError naming the file and the problem: unreadable file, missing key, wrong dtype, wrong or
        inconsistent shape, pressure unit other than kPa, NaN/Inf pressure, or segments that disagree with `present`.
    """
    path = Path(path)
    with open_mip(path) as archive:
        missing = [key for key in _SCHEMA if key not in archive]
        if missing:
            raise ValueError(f"{path}: missing key(s) {', '.join(missing)}")
        data = {key: archive[key] for key in _SCHEMA}
        owner = archive["cell_owner"] if "cell_owner" in archive else None
        extra = {key: archive[key] for key in EXTRA_KEYS if key in archive}
        mip = read_mip_pressure(archive)
    sizes: dict[str, int] = {}
    for key, (kind, shape) in _SCHEMA.items():
        array = data[key]
        if array.dtype.kind not in kind and not (kind == "i" and array.dtype.kind == "u"):
            raise ValueError(f"{path}: key '{key}' has dtype {array.dtype}, expected kind '{kind}'")
        if array.ndim != len(shape):
            raise ValueError(f"{path}: key '{key}' has shape {array.shape}, expected {len(shape)} axes {shape}")
        for axis, (expected, actual) in enumerate(zip(shape, array.shape)):
            if isinstance(expected, int):
                if actual != expected:
                    raise ValueError(f"{path}: key '{key}' axis {axis} has size {actual}, expected {expected}")
            elif sizes.setdefault(expected, actual) != actual:
                raise ValueError(f"{path}: key '{key}' axis {axis} has size {actual}, but {expected} = "
                                 f"{sizes[expected]} elsewhere in the file")
    if str(data["pressure_unit"]) != PRESSURE_UNIT:
        raise ValueError(f"{path}: pressure_unit is {data['pressure_unit']!r}, expected {PRESSURE_UNIT!r}")
    if mip.nonfinite_cells:
        raise ValueError(f"{path}: pressure has {mip.nonfinite_cells} NaN/Inf cells")
    if (int(data["rows"]), int(data["cols"])) != (sizes["R"], sizes["C"]):
        raise ValueError(f"{path}: rows x cols = {int(data['rows'])} x {int(data['cols'])} but pressure frames are "
                         f"{sizes['R']} x {sizes['C']}")
    try:
        mat = MatGeometry(int(data["rows"]), int(data["cols"]), mip.cell_pitch, data["world_from_mat"])
    except ValueError as error:
        raise ValueError(f"{path}: bad mat geometry: {error}") from error
    if not np.array_equal(present_segments(data["present"]), data["segments"]):
        raise ValueError(f"{path}: segments disagree with present")
    if owner is not None and (owner.shape != data["pressure"].shape or owner.dtype.kind != "i"):
        raise ValueError(f"{path}: key 'cell_owner' has {owner.dtype} shape {owner.shape}, expected integer "
                         f"{data['pressure'].shape}")
    return Scene(name=str(data["name"]), pressure=mip.kpa(),
                 box=data["box"], pose=data["pose"], betas=data["betas"], trans=data["trans"],
                 keypoints_3d=data["keypoints_3d"], present=data["present"], contact=data["contact"],
                 person_ids=data["person_ids"], heights=data["heights"], masses=data["masses"],
                 fps=mip.fps, mat=mat, cell_owner=owner, extra=extra)
