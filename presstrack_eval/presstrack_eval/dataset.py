"""MIP-format recordings -> per-person windows of crops, frame numbers and SMPL targets.

File format (``.npz``; MIP keys plus optional simulator keys):
  name; pressure (T, rows, cols); box (T, P, 4) x1, y1, x2, y2 in cells, zero rows
  for absent people; pose (T, P, 72); betas (T, P, 10); trans (T, P, 3);
  keypoints_3d (T, P, J>=24, 3) world metres; segments (K, 2) valid [start, end) frames.
  Optional: fps, cell_pitch, rows, cols, world_from_mat (4, 4), mat_corners_world (4, 2),
  present (T, P) bool, pressure_unit, pressure_scale_kpa, cell_owner (T, rows, cols) int
  (person slot owning each cell, -1 for none; used to mask other people out of a crop).

Pressure normalisation to about 0..1: the stored values are converted to kPa by the shared
reader (``presstrack_common.mip_format.read_mip_pressure``: x ``pressure_scale_kpa``; x 1 for
``pressure_unit`` kPa; MIP raw values, with neither key, x MIP_KPA_PER_RAW), then
``presstrack_common.mip_format.normalise_kpa``; for raw values that is the paper's clip at 1.5e7
and division by 1.5e7, so both kinds of file give the network the same numbers.

Splits (``resolve_split``):
  * ``unseen_sequence``: every file's valid frames cut in time at 80 % and 90 % of its
    last valid frame (the authors' rule) into train / val / test ranges.
  * ``subject_fold:K``: whole files.  With a ``corpus.json`` next to the files: its
    ``"subject_folds": [{"train": [...], "val": [...], "test": [...]}, ...]``.  Otherwise MIP
    (``data_N.npz``): the authors' two folds; test holds the groups made only of the fold's
    four volunteers, training drops every file any of them appears in, and validation is
    the last 10 % in time of each training file (the authors validate on the test groups;
    we keep test unseen).
  * ``corpus``: the ``"splits": {"train": [...], "val": [...], "test": [...]}`` of the
    ``corpus.json`` next to the files (``presstrack-sim corpus`` writes subject-disjoint ones).
  * a JSON file path: ``{"train": [...], "val": [...], "test": [...]}``.
  File lists name files relative to the data directory; listed files are used whole.

SMPL labels: a file with raw MIP pressure (neither 'pressure_unit' nor 'pressure_scale_kpa') is MIP's
own, labelled with SMPL (EasyMocap fits); training or scoring it needs an SMPL body model
(``require_body_model_for_smpl_labels``), not the embedded default body, whose skeleton and shape space
differ.

World axes: the mat geometry and the live graph use a z-up world.  Which way is up is read from the data
(``world_up_sign``: the feet of a standing or walking person are below the pelvis); a file whose world has
z pointing down (the authors' plots suggest MIP's) is rotated by 180 degrees about x on loading (joints,
translation, root orientation, mat corners), with one line on stderr saying so.

Segments: MIP stores the file's valid [start, end) ranges (K, 2); the simulator stores
each person's presence runs (P, K, 2) padded with -1, whose union is taken as the file's
valid ranges (presence itself comes from ``present``).
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from presstrack_common.mip_format import (MIP_FPS, MIP_MAT_CORNERS_WORLD, MipArchive, kpa_per_unit, nonfinite_message,
                                        normalise_kpa, open_mip, read_mip_pressure)

from mesh_recovery.hmr.inputs import frame_numbers
from mesh_recovery.hmr.losses import HMRTargets
from .streamed import StreamedFrames, member_size

SPLIT_PARTS = ("train", "val", "test")
# Pressure as stored, over all files loaded together, above this is streamed from disk (all of MIP: ~16 GB).
STREAM_ABOVE_BYTES = 4 * 2**30
SCAN_FRAMES = 256  # frames checked for NaN/Inf at a time in a streamed file
RESIDENT_BYTES = 4 * 2**30  # WindowSet: frames up to this size are held in memory on a CPU, larger sets streamed
REQUIRED_KEYS = ("pressure", "box", "pose", "betas", "trans", "keypoints_3d")

# The authors' table: volunteer -> MIP file indices they appear in, and the two subject folds.
MIP_PERSON_FILES = {
    1: [1, 21, 22], 2: [2, 23, 24, 25, 34], 3: [3, 25, 26, 27, 43], 4: [4, 28, 42],
    5: [5, 23, 26, 33, 35, 37, 41, 45, 47, 49, 50], 6: [6, 29, 30], 7: [7, 31, 32, 44], 8: [8, 29, 33],
    9: [9, 34, 35], 10: [10, 28, 31, 36], 11: [11, 38, 39], 12: [12, 24, 27, 37], 13: [13, 40, 46, 50],
    14: [14, 41, 49, 51, 52], 15: [15, 32, 36, 42], 16: [16, 43, 44], 17: [17, 45, 46, 50],
    18: [18, 21, 30, 38, 40, 48, 49, 51, 52], 19: [19, 22, 47], 20: [20, 39, 48],
}
MIP_SUBJECT_FOLDS = (((1, 6, 8, 19), (1, 6, 8, 19, 22, 29)), ((7, 11, 16, 20), (7, 11, 16, 20, 39, 44)))
MIP_FILE_COUNT = 52


@dataclass
class Recording:
    """One loaded file, pressure normalised.  Shapes as in the module docstring; P person slots."""

    path: Path
    name: str
    pressure: np.ndarray | StreamedFrames  # (T, rows, cols) float32, ~0..1 (large files: read when indexed)
    boxes: np.ndarray  # (T, P, 4) float64
    present: np.ndarray  # (T, P) bool
    pose: np.ndarray  # (T, P, 72) float32
    betas: np.ndarray  # (T, P, 10) float32
    transl: np.ndarray  # (T, P, 3) float32
    joints: np.ndarray  # (T, P, J, 3) float32
    segments: np.ndarray  # (K, 2) int, valid [start, end)
    fps: float
    mat_corners_world: np.ndarray  # (4, 2)
    cell_owner: np.ndarray | None = None  # (T, rows, cols) int
    smpl_labels: bool = False  # MIP's own file (raw pressure): labels made with SMPL

    @property
    def num_frames(self) -> int:
        return self.pressure.shape[0]

    @property
    def num_slots(self) -> int:
        return self.boxes.shape[1]

    def person_mask(self, frame: int, slot: int) -> np.ndarray | None:
        return None if self.cell_owner is None else self.cell_owner[frame] == slot


def _scalar(data: MipArchive, key: str):
    value = data[key]
    return value.item() if value.shape == () else value


# SMPL joints of the feet (ankles 7, 8; toes 10, 11) and the pelvis (0).
FOOT_JOINTS = (7, 8, 10, 11)
PELVIS_JOINT = 0
MIN_PELVIS_HEIGHT_M = 0.3  # below this the data cannot tell which way is up
FLIP_Z = np.diag([1.0, -1.0, -1.0])  # 180 degrees about x: z-down world -> z-up


def world_up_sign(joints: np.ndarray, present: np.ndarray) -> int:
    """+1 if the world's z points up, -1 if down, from where the feet are relative to the pelvis.

    joints (T, P, J, 3), present (T, P).  Raises ValueError when the pelvis is not clearly above or below
    the feet along z (gravity along another axis, or no people).
    """
    people = joints[present]
    if len(people) == 0:
        raise ValueError("no person present: cannot tell which way the world's z points")
    up = (people[:, PELVIS_JOINT] - people[:, list(FOOT_JOINTS)].mean(axis=1)).mean(axis=0)
    if abs(up[2]) < MIN_PELVIS_HEIGHT_M or abs(up[2]) < np.abs(up[:2]).max():
        raise ValueError(f"the pelvis is not above or below the feet along z (mean pelvis - feet {np.round(up, 2)} m): "
                         "the world's vertical axis is not z")
    return 1 if up[2] > 0 else -1


def rotate_world(rotation: np.ndarray, joints: np.ndarray, transl: np.ndarray, pose: np.ndarray,
                 corners: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Labels in a world turned by ``rotation`` (3, 3) about its origin, SMPL-consistent.

    SMPL puts the pelvis at rest_pelvis(betas) + transl and turns the body about it, so the rest pelvis
    is joints[..., 0, :] - transl and the new transl is R @ pelvis - rest_pelvis; the root orientation
    becomes R @ root.  Mat corners (4, 2) are turned as points on the floor (z = 0).
    """
    from scipy.spatial.transform import Rotation

    turned_joints = (joints.astype(np.float64) @ rotation.T).astype(joints.dtype)
    rest_pelvis = joints[..., PELVIS_JOINT, :].astype(np.float64) - transl
    turned_transl = (turned_joints[..., PELVIS_JOINT, :] - rest_pelvis).astype(transl.dtype)
    turned_pose = pose.copy()
    root = Rotation.from_rotvec(pose[..., :3].reshape(-1, 3).astype(np.float64))
    turned_pose[..., :3] = (Rotation.from_matrix(rotation) * root).as_rotvec().reshape(pose[..., :3].shape)
    turned_corners = (np.c_[corners, np.zeros(len(corners))] @ rotation.T)[:, :2]
    return turned_joints, turned_transl, turned_pose, turned_corners


def require_body_model_for_smpl_labels(recordings: list[Recording], body_model: Path | None) -> None:
    """ValueError (one line, naming --body-model) when a recording has SMPL labels and no body model is given."""
    smpl = [r.path for r in recordings if r.smpl_labels]
    if smpl and body_model is None:
        raise ValueError(f"{smpl[0]} is MIP data labelled with SMPL: give --body-model PATH (an SMPL model file or "
                         "folder); the embedded default body has another skeleton and shape space")


def _valid_ranges(segments: np.ndarray) -> np.ndarray:
    """MIP (K, 2) ranges as they are; per-person (P, K, 2) runs (-1 padded) -> their sorted union (K', 2)."""
    if segments.ndim != 3:
        return segments.reshape(-1, 2)
    runs = sorted(tuple(r) for r in segments.reshape(-1, 2).tolist() if r[0] >= 0)
    merged: list[list[int]] = []
    for start, end in runs:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return np.array(merged, dtype=np.int64).reshape(-1, 2)


def _name(data: MipArchive, path: Path) -> str:
    """The recording's name; object-array names (pickled) are not loaded, the file stem stands in."""
    try:
        return str(_scalar(data, "name")) if "name" in data else path.stem
    except ValueError:
        return path.stem


def load_recording(path: str | Path, streamed: bool | None = None) -> Recording:
    """Load and check one ``.npz``; ValueError naming the file and the problem if it is unusable.

    NaN/Inf pressure cells of a usable file are no pressure (0), reported in one line on stderr with the count.
    ``streamed``: pressure read from disk when indexed (``streamed.StreamedFrames``) rather than loaded;
    default: when the file's pressure is over ``STREAM_ABOVE_BYTES``.
    """
    path = Path(path)
    with open_mip(path) as data:
        if streamed is None:
            streamed = member_size(path, "pressure") > STREAM_ABOVE_BYTES
        return _read_recording(path, data, streamed=streamed)


def _streamed_pressure(path: Path, data: MipArchive) -> tuple[StreamedFrames, float, int]:
    """A large file's pressure read from disk when indexed (``streamed``), as network input; its frame rate and
    the count of NaN/Inf cells (checked in blocks, never all frames at once)."""
    try:
        factor = kpa_per_unit(data.text("pressure_unit"), data.number("pressure_scale_kpa", None))
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None

    def network_input(stored: np.ndarray) -> np.ndarray:  # as the loaded path: kPa in float64, then normalised
        if stored.dtype.kind == "f":
            stored = np.where(np.isfinite(stored), stored, 0)
        return normalise_kpa(np.asarray(stored, dtype=np.float64) * factor)

    pressure = StreamedFrames(path, "pressure", network_input)
    if pressure.ndim != 3 or 0 in pressure.shape:
        raise ValueError(f"{path}: pressure must have shape (T, rows, cols) with no empty axis, got {pressure.shape}")
    if pressure.stored_dtype.kind not in "iuf":
        raise ValueError(f"{path}: pressure must be numeric (integer or float), got dtype {pressure.stored_dtype}")
    nonfinite = 0
    if pressure.stored_dtype.kind == "f":
        for start in range(0, len(pressure), SCAN_FRAMES):
            stored = pressure.raw(start, min(start + SCAN_FRAMES, len(pressure)))
            nonfinite += int(stored.size - np.count_nonzero(np.isfinite(stored)))
    return pressure, data.number("fps", MIP_FPS), nonfinite


def _read_recording(path: Path, data: MipArchive, streamed: bool = False) -> Recording:
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise ValueError(f"{path}: missing keys {missing}")
    if streamed:
        pressure, fps, nonfinite = _streamed_pressure(path, data)
    else:
        mip = read_mip_pressure(data)
        pressure, fps, nonfinite = normalise_kpa(mip.kpa(dtype=np.float64)), mip.fps, mip.nonfinite_cells
    frames, rows, cols = pressure.shape
    boxes = np.asarray(data["box"], dtype=np.float64)
    if boxes.ndim != 3 or boxes.shape[0] != frames or boxes.shape[2] != 4:
        raise ValueError(f"{path}: box must be (T={frames}, P, 4), got {boxes.shape}")
    slots = boxes.shape[1]
    expected = {"pose": (frames, slots, 72), "betas": (frames, slots, 10), "trans": (frames, slots, 3)}
    for key, shape in expected.items():
        if data[key].shape != shape:
            raise ValueError(f"{path}: {key} must be {shape}, got {data[key].shape}")
    joints = data["keypoints_3d"]
    if joints.ndim != 4 or joints.shape[:2] != (frames, slots) or joints.shape[2] < 24 or joints.shape[3] != 3:
        raise ValueError(f"{path}: keypoints_3d must be (T={frames}, P={slots}, J>=24, 3), got {joints.shape}")
    present = np.asarray(data["present"], dtype=bool) if "present" in data else np.any(boxes != 0, axis=-1)
    if present.shape != (frames, slots):
        raise ValueError(f"{path}: present must be ({frames}, {slots}), got {present.shape}")
    segments = _valid_ranges(np.asarray(data["segments"], dtype=np.int64)) if "segments" in data \
        else np.array([[0, frames]])
    if len(segments) == 0 or np.any(segments[:, 0] < 0) or np.any(segments[:, 1] > frames) \
            or np.any(segments[:, 1] <= segments[:, 0]) or np.any(segments[1:, 0] < segments[:-1, 1]):
        raise ValueError(f"{path}: segments must be sorted, non-overlapping [start, end) ranges within 0..{frames}")
    if "rows" in data and "cols" in data and (int(_scalar(data, "rows")), int(_scalar(data, "cols"))) != (rows, cols):
        raise ValueError(f"{path}: rows/cols keys disagree with pressure shape {pressure.shape}")
    corners = np.asarray(data["mat_corners_world"], dtype=np.float64) if "mat_corners_world" in data \
        else MIP_MAT_CORNERS_WORLD
    if corners.shape != (4, 2):
        raise ValueError(f"{path}: mat_corners_world must be (4, 2), got {corners.shape}")
    if nonfinite:  # a damaged cell is no pressure; the rest of the recording is good
        print(nonfinite_message(path, nonfinite), file=sys.stderr)
    owner = np.asarray(data["cell_owner"]) if "cell_owner" in data else None
    if owner is not None and owner.shape != pressure.shape:
        raise ValueError(f"{path}: cell_owner must match pressure shape {pressure.shape}, got {owner.shape}")
    joints = np.asarray(joints, dtype=np.float32)
    transl = np.asarray(data["trans"], dtype=np.float32)
    pose = np.asarray(data["pose"], dtype=np.float32)
    try:
        up = world_up_sign(joints, present)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    if up < 0:
        joints, transl, pose, corners = rotate_world(FLIP_Z, joints, transl, pose, corners)
        print(f"{path}: world z points down (feet above the pelvis along z): labels and mat corners turned 180 "
              "degrees about x into the z-up world the mat geometry uses", file=sys.stderr)
    return Recording(
        path=path,
        name=_name(data, path),
        pressure=pressure,
        boxes=boxes,
        present=present,
        pose=pose,
        betas=np.asarray(data["betas"], dtype=np.float32),
        transl=transl,
        joints=joints,
        segments=segments,
        fps=fps,
        mat_corners_world=corners,
        cell_owner=owner,
        smpl_labels="pressure_unit" not in data and "pressure_scale_kpa" not in data,
    )


def list_data_files(data: str | Path | list[str | Path]) -> list[Path]:
    """Directories (their ``*.npz``, sorted naturally) and/or ``.npz`` files, in the order given."""
    natural = lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]  # noqa: E731
    files: list[Path] = []
    for entry in [data] if isinstance(data, (str, Path)) else data:
        entry = Path(entry)
        if entry.is_dir():
            found = sorted(entry.glob("*.npz"), key=natural)
            if not found:
                raise ValueError(f"{entry}: no .npz files in this directory")
            files += found
        elif entry.is_file():
            files.append(entry)
        else:
            raise ValueError(f"{entry}: no such file or directory")
    if not files:
        raise ValueError("no data files given")
    return files


# A split assigns each file a list of [start, end) frame ranges per part.
FrameRanges = dict[Path, list[tuple[int, int]]]
Split = dict[str, FrameRanges]


def time_split_ranges(segments: np.ndarray, train: float = 0.8, val: float = 0.1) -> dict[str, list[tuple[int, int]]]:
    """The authors' unseen-sequence rule: cut at int(end*0.8) and int(end*0.9), end = last valid frame."""
    end = int(segments[-1, 1])
    cuts = {"train": (0, int(end * train)), "val": (int(end * train), int(end * (train + val))), "test": (int(end * (train + val)), end)}
    parts: dict[str, list[tuple[int, int]]] = {}
    for part, (low, high) in cuts.items():
        parts[part] = [(max(int(s), low), min(int(e), high)) for s, e in segments if min(int(e), high) > max(int(s), low)]
    return parts


def _whole_files(files: list[Path], recordings_segments: dict[Path, np.ndarray]) -> FrameRanges:
    return {f: [(int(s), int(e)) for s, e in recordings_segments[f]] for f in files}


def _mip_index(path: Path) -> int | None:
    match = re.fullmatch(r"data_(\d+)\.npz", path.name)
    return int(match.group(1)) if match else None


def _files_by_name(names: list[str], files: list[Path], where: str) -> list[Path]:
    by_name = {f.name: f for f in files} | {str(f): f for f in files}
    chosen = []
    for name in names:
        if name not in by_name and Path(name).name not in by_name:
            raise ValueError(f"{where}: split lists {name!r}, which is not among the data files")
        chosen.append(by_name.get(name, by_name.get(Path(name).name)))
    return chosen


def resolve_split(spec: str, files: list[Path], segments: dict[Path, np.ndarray]) -> Split:
    """Frame ranges per part ('train', 'val', 'test') for the split ``spec`` (see module docstring)."""
    if spec == "unseen_sequence":
        split: Split = {part: {} for part in SPLIT_PARTS}
        for f in files:
            for part, ranges in time_split_ranges(segments[f]).items():
                split[part][f] = ranges
        return split
    corpus_file = files[0].parent / "corpus.json"
    corpus = _read_json(corpus_file) if corpus_file.is_file() else None
    if spec == "corpus":
        if corpus is None or "splits" not in corpus:
            raise ValueError(f"split 'corpus' needs {corpus_file} with a 'splits' object")
        return _explicit_split(corpus["splits"], files, segments, str(corpus_file))
    fold_match = re.fullmatch(r"subject_fold:(\d+)", spec)
    if fold_match:
        fold = int(fold_match.group(1))
        if corpus is not None:
            folds = corpus.get("subject_folds", [])
            if not 0 <= fold < len(folds):
                raise ValueError(f"{corpus_file}: has {len(folds)} subject folds, fold {fold} requested"
                                 + (" (its 'splits' are subject-disjoint: use --split corpus)" if "splits" in corpus else ""))
            return _explicit_split(folds[fold], files, segments, str(corpus_file))
        indices = {_mip_index(f): f for f in files}
        if None in indices:
            raise ValueError("subject_fold needs MIP file names data_N.npz or a corpus.json with 'subject_folds' next to the data")
        if not 0 <= fold < len(MIP_SUBJECT_FOLDS):
            raise ValueError(f"MIP has subject folds 0..{len(MIP_SUBJECT_FOLDS) - 1}, got {fold}")
        people, test_indices = MIP_SUBJECT_FOLDS[fold]
        held_out = {i for person in people for i in MIP_PERSON_FILES[person]}
        train_files = [f for i, f in indices.items() if i not in held_out]
        test_files = [indices[i] for i in test_indices if i in indices]
        split = {"train": {}, "val": {}, "test": _whole_files(test_files, segments)}
        for f in train_files:
            parts = time_split_ranges(segments[f], train=0.9, val=0.1)
            split["train"][f], split["val"][f] = parts["train"], parts["val"]
        return split
    spec_path = Path(spec)
    if spec_path.is_file():
        return _explicit_split(_read_json(spec_path), files, segments, str(spec_path))
    raise ValueError(f"unknown split {spec!r}: use unseen_sequence, subject_fold:K, corpus or a split JSON file")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not readable JSON ({error})") from None


def _explicit_split(content: dict, files: list[Path], segments: dict[Path, np.ndarray], where: str) -> Split:
    if not isinstance(content, dict) or not all(isinstance(content.get(p, []), list) for p in SPLIT_PARTS):
        raise ValueError(f"{where}: a split must be an object with 'train', 'val', 'test' lists of file names")
    return {part: _whole_files(_files_by_name(content.get(part, []), files, where), segments) for part in SPLIT_PARTS}


def interpolate_boxes(boxes: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Fill absent frames of one person's box track (T, 4) by linear interpolation between the
    nearest present frames (constant beyond the ends), as the authors fill missing boxes."""
    if present.all() or not present.any():
        return boxes.copy()
    frames = np.arange(len(boxes))
    return np.stack([np.interp(frames, frames[present], boxes[present, k]) for k in range(4)], axis=1)


@dataclass(frozen=True)
class WindowRef:
    recording: int
    slot: int
    start: int  # first frame of the window


class WindowSet:
    """Per-person windows of ``window`` frames inside the given frame ranges, held as tensors on one device.

    A window is kept when the person is present at its target frame; frames of the window where the box
    is missing get an interpolated box.  ``batch(indices)`` cuts the crops where the network runs, by
    gathering pressure cells (the same pixels as ``crop_person``): a batch is one gather instead of a
    megabyte of crops per window copied through loader processes.  Recordings of different mat sizes are
    zero-padded to the largest; each crop is clipped to its own mat.

    The frames the windows cover are held on the device (``pressure``) when the device is not the CPU or
    they take at most ``resident_bytes``; otherwise (all of MIP on a CPU) each batch reads its own frames
    from the recordings (``streamed``), so memory holds one batch of frames, not the data set.
    """

    def __init__(self, recordings: list[Recording], ranges: list[list[tuple[int, int]]], window: int,
                 target_index: int, crop_size: int, stride: int = 1, device: torch.device | str = "cpu",
                 resident_bytes: int = RESIDENT_BYTES) -> None:
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        self.window, self.target_index, self.crop_size = window, target_index, crop_size
        self.refs: list[WindowRef] = []
        for r, (recording, file_ranges) in enumerate(zip(recordings, ranges)):
            for low, high in file_ranges:
                if high - low < window:
                    continue
                starts = list(range(low, high - window + 1, stride))
                if starts[-1] != high - window:
                    starts.append(high - window)  # like the authors, end on the range's last frame
                for slot in range(recording.num_slots):
                    self.refs += [WindowRef(r, slot, s) for s in starts if recording.present[s + target_index, slot]]
        self.device = torch.device(device)
        # Only the frames the windows cover go to the device: train and val sets cut from the same files
        # (the unseen-sequence split) then hold disjoint parts, not two copies of every file.
        spans: dict[int, tuple[int, int]] = {}  # recording -> [first, last + 1) frame used
        for ref in self.refs:
            low, high = spans.get(ref.recording, (ref.start, ref.start + window))
            spans[ref.recording] = (min(low, ref.start), max(high, ref.start + window))
        used = sorted(spans)
        rows = max((recordings[r].pressure.shape[1] for r in used), default=1)
        cols = max((recordings[r].pressure.shape[2] for r in used), default=1)
        first_frame, frames = {}, 0  # frame index in the set = first_frame[recording] + frame in the recording
        self._spans: list[tuple[int, Recording, int]] = []  # (first set frame, recording, its first frame)
        for r in used:
            first_frame[r], frames = frames - spans[r][0], frames + spans[r][1] - spans[r][0]
            self._spans.append((first_frame[r] + spans[r][0], recordings[r], spans[r][0]))
        self._shape = (rows, cols)
        self._owned = any(recordings[r].cell_owner is not None for r in used)
        self.streamed = self.device.type == "cpu" and frames * rows * cols * (4 + 2 * self._owned) > resident_bytes
        self.pressure, self.cell_owner = (None, None) if self.streamed else self._read_frames(np.arange(frames))

        count = len(self.refs)
        boxes = np.zeros((count, window, 4))
        numbers = np.zeros((count, window, 10), dtype=np.float32)
        limits = np.zeros((count, 2), dtype=np.int64)
        targets = {key: [] for key in ("joints", "pose", "betas", "transl")}
        for i, ref in enumerate(self.refs):
            recording = recordings[ref.recording]
            span = slice(ref.start, ref.start + window)
            boxes[i] = interpolate_boxes(recording.boxes[span, ref.slot], recording.present[span, ref.slot])
            limits[i] = recording.pressure.shape[1:]
            numbers[i] = [frame_numbers(box, *limits[i], recording.mat_corners_world) for box in boxes[i]]
            target = ref.start + target_index
            targets["joints"].append(recording.joints[target, ref.slot, :24])
            targets["pose"].append(recording.pose[target, ref.slot])
            targets["betas"].append(recording.betas[target, ref.slot])
            targets["transl"].append(recording.transl[target, ref.slot])
        to_device = lambda array, dtype: torch.as_tensor(np.asarray(array), dtype=dtype, device=self.device)  # noqa: E731
        self.boxes = to_device(np.trunc(boxes), torch.int64)  # int() of each coordinate, as crop_person
        self.numbers = to_device(numbers, torch.float32)
        self.limits = to_device(limits, torch.int64)
        self.frames = to_device([first_frame[ref.recording] + ref.start for ref in self.refs], torch.int64)
        self.slots = to_device([ref.slot for ref in self.refs], torch.int16)  # a tracked recording has a slot per track
        self.masked = to_device([recordings[ref.recording].cell_owner is not None for ref in self.refs], torch.bool)
        self.targets = HMRTargets(**{key: to_device(np.reshape(values, (count, *shape)), torch.float32)
                                     for (key, values), shape in zip(targets.items(), ((24, 3), (72,), (10,), (3,)))})

    def __len__(self) -> int:
        return len(self.refs)

    def _read_frames(self, frames: np.ndarray) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Set frames (sorted) -> pressure (N, rows, cols) float32 and cell owner (N, rows, cols) int16 (-1: nobody)
        on the device; no owner (None) when no recording has owners."""
        rows, cols = self._shape
        padded = any(recording.pressure.shape[1:] != (rows, cols) for _, recording, _ in self._spans)
        pressure = (np.zeros if padded else np.empty)((len(frames), rows, cols), dtype=np.float32)
        owner = np.full((len(frames), rows, cols), -1, dtype=np.int16) if self._owned else None
        starts = [first for first, _, _ in self._spans]
        span_of = np.searchsorted(starts, frames, side="right") - 1
        local = frames - np.asarray(starts)[span_of] + np.asarray([low for _, _, low in self._spans])[span_of]
        # Runs of consecutive frames of one recording are read in one piece (a streamed one reads from disk)
        # into consecutive rows of the output.
        breaks = np.flatnonzero((np.diff(local) != 1) | (np.diff(span_of) != 0)) + 1
        for run in np.split(np.arange(len(frames)), breaks):
            if len(run) == 0:
                continue
            recording = self._spans[span_of[run[0]]][1]
            a, b = int(local[run[0]]), int(local[run[-1]]) + 1
            out, (mat_rows, mat_cols) = slice(int(run[0]), int(run[-1]) + 1), recording.pressure.shape[1:]
            pressure[out, :mat_rows, :mat_cols] = recording.pressure[a:b]
            if owner is not None and recording.cell_owner is not None:
                owner[out, :mat_rows, :mat_cols] = recording.cell_owner[a:b]
        return torch.from_numpy(pressure).to(self.device), None if owner is None else torch.from_numpy(owner).to(self.device)

    def batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, HMRTargets]:
        """Windows ``indices`` -> crops (B, T, 1, S, S), frame numbers (B, T, 10), targets of the target frames."""
        indices = indices.to(self.device)
        count, window = len(indices), self.window
        frame_offsets = torch.arange(window, device=self.device)
        frames = (self.frames[indices, None] + frame_offsets).reshape(-1)
        pressure, cell_owner = self.pressure, self.cell_owner
        if self.streamed:  # this batch's frames only
            needed, frames = torch.unique(frames, return_inverse=True)
            pressure, cell_owner = self._read_frames(needed.numpy())
        crops = gather_crops(pressure, cell_owner, frames, self.boxes[indices].reshape(-1, 4),
                             self.limits[indices].repeat_interleave(window, 0), self.crop_size,
                             self.slots[indices].repeat_interleave(window), self.masked[indices].repeat_interleave(window))
        targets = HMRTargets(*(getattr(self.targets, key)[indices] for key in ("joints", "pose", "betas", "transl")))
        return crops.reshape(count, window, 1, self.crop_size, self.crop_size), self.numbers[indices], targets


def _crop_axis(low: torch.Tensor, high: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Source index and validity of each canvas pixel along one axis, for cells [low, high) centred as in
    ``crop_person`` (an oversized span keeps its central ``size`` cells)."""
    extent = (high - low).clamp(min=0)
    skipped = ((extent - size) // 2).clamp(min=0)
    kept = extent.clamp(max=size)
    first = (size - kept) // 2
    pixel = torch.arange(size, device=low.device)
    source = low[:, None] + skipped[:, None] + pixel - first[:, None]
    valid = (pixel >= first[:, None]) & (pixel < (first + kept)[:, None])
    return source, valid


def gather_crops(pressure: torch.Tensor, cell_owner: torch.Tensor | None, frames: torch.Tensor, boxes: torch.Tensor,
                 limits: torch.Tensor, size: int, slots: torch.Tensor, masked: torch.Tensor) -> torch.Tensor:
    """``crop_person`` for N crops at once: pressure (F, R, C), cell_owner (F, R, C) int16 or None (no masking);
    per crop the frame index, integer box x1, y1, x2, y2, its mat's (rows, cols), person slot and whether to mask by owner.
    Returns (N, size, size)."""
    rows, cols = limits[:, 0], limits[:, 1]
    source_rows, valid_rows = _crop_axis(boxes[:, 1].clamp(min=0), torch.minimum(boxes[:, 3], rows), size)
    source_cols, valid_cols = _crop_axis(boxes[:, 0].clamp(min=0), torch.minimum(boxes[:, 2], cols), size)
    frame_index = frames[:, None, None]
    row_index = source_rows.clamp(0, pressure.shape[1] - 1)[:, :, None]
    col_index = source_cols.clamp(0, pressure.shape[2] - 1)[:, None, :]
    keep = valid_rows[:, :, None] & valid_cols[:, None, :]
    if cell_owner is not None:
        keep &= ~masked[:, None, None] | (cell_owner[frame_index, row_index, col_index] == slots[:, None, None])
    return torch.where(keep, pressure[frame_index, row_index, col_index], 0.0)


def load_split(data: str | Path | list[str | Path], spec: str) -> tuple[list[Recording], dict[str, list[list[tuple[int, int]]]]]:
    """Load the files and resolve the split; returns recordings and, per part, each recording's ranges."""
    files = list_data_files(data)
    streamed = sum(member_size(f, "pressure") for f in files) > STREAM_ABOVE_BYTES
    recordings = [load_recording(f, streamed) for f in files]
    split = resolve_split(spec, files, {r.path: r.segments for r in recordings})
    ranges = {part: [split[part].get(r.path, []) for r in recordings] for part in SPLIT_PARTS}
    return recordings, ranges
