"""Shared fakes for the HMR tests of mesh_recovery and presstrack_eval: a linear fake body, a tiny network
configuration (and its CLI flags), and a synthetic MIP-format recording writer."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from presstrack_body.kinematics import PARENTS
from mesh_recovery.hmr.body_layer import forward_kinematics
from mesh_recovery.hmr.network import HMRConfig
from mesh_recovery.hmr.rotations import axis_angle_to_matrix

SMPL_PARENTS = np.asarray(PARENTS)  # the one skeleton, for the fake body
TINY = HMRConfig(crop_size=32, encoder_width=8, encoder_features=32, width=64, depth=2, heads=4, mlp_hidden=32,
                 window=4, regressor_hidden=64)
TINY_FLAGS = ["--window", "4", "--crop-size", "32", "--encoder-width", "8", "--encoder-features", "32", "--width", "64",
              "--heads", "4", "--mlp-hidden", "32", "--regressor-hidden", "64"]


class FakeBody:
    """Rest joints linear in betas; 'vertices' are the posed joints (so V = 24)."""

    parents = SMPL_PARENTS

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        offsets = rng.normal(0.0, 0.1, (24, 3)) + np.array([0.0, -0.1, 0.0])
        base = np.zeros((24, 3))
        for joint, parent in enumerate(SMPL_PARENTS[1:], start=1):
            base[joint] = base[parent] + offsets[joint]
        self.base = torch.tensor(base, dtype=torch.float32)
        self.shape_dirs = torch.tensor(rng.normal(0.0, 0.01, (10, 24 * 3)), dtype=torch.float32)

    def rest_joints(self, betas: torch.Tensor) -> torch.Tensor:
        return self.base + (betas @ self.shape_dirs).reshape(-1, 24, 3)

    def vertices(self, betas: torch.Tensor, rotmats: torch.Tensor, transl: torch.Tensor) -> torch.Tensor:
        return forward_kinematics(self.rest_joints(betas), rotmats, transl, self.parents)

    def sole_vertex_ids(self) -> np.ndarray:
        return np.array([7, 8, 10, 11])


def write_recording(path: Path, frames: int = 40, slots: int = 2, rows: int = 60, cols: int = 40, seed: int = 0,
                    body: FakeBody | None = None, **extra) -> Path:
    """A recording whose people walk along the mat; pressure is a blob inside each person's box (kPa)."""
    rng = np.random.default_rng(seed)
    body = body or FakeBody()
    pressure = np.zeros((frames, rows, cols))
    box = np.zeros((frames, slots, 4))
    pose = rng.normal(0.0, 0.2, (frames, slots, 72)).astype(np.float32)
    pose[..., :3] = [np.pi / 2, 0.0, 0.0]
    betas = np.repeat(rng.normal(0.0, 1.0, (1, slots, 10)), frames, axis=0).astype(np.float32)
    trans = np.zeros((frames, slots, 3), dtype=np.float32)
    for slot in range(slots):
        col0 = 5 + slot * 18
        for t in range(frames):
            row = 5 + (t * 40 // frames)
            x1, y1 = col0, row
            x2, y2 = x1 + 8 + (t % 3), y1 + 10
            box[t, slot] = [x1, y1, x2, y2]
            pressure[t, y1 + 2 : y2 - 2, x1 + 1 : x2 - 1] = 50.0 + 10 * slot + t
            trans[t, slot] = [1.0 - (x1 + x2) / 2 / 100.0, 1.8 - (y1 + y2) / 2 / 100.0, 0.9]
    joints = body.vertices(torch.from_numpy(betas.reshape(-1, 10)), axis_angle_to_matrix(torch.from_numpy(pose.reshape(-1, 24, 3))),
                           torch.from_numpy(trans.reshape(-1, 3))).reshape(frames, slots, 24, 3).numpy()
    if slots > 1:  # the second person leaves for a few frames
        box[frames // 2 : frames // 2 + 3, 1] = 0
    data = dict(name=np.array(path.stem), pressure=pressure, box=box, pose=pose, betas=betas, trans=trans,
                keypoints_3d=joints, segments=np.array([[0, frames]]), fps=np.array(15.0), rows=np.array(rows),
                cols=np.array(cols), pressure_unit=np.array("kPa"))
    data.update(extra)
    np.savez(path, **data)
    return path


def write_mip_recording(path: Path, frames: int = 40, body: FakeBody | None = None, z_down: bool = True,
                        compressed: bool = False) -> Path:
    """A recording in MIP's exact layout: raw pressure (no unit keys) (T, 238, 120), three person slots (the
    third absent, zero boxes), SMPL-format labels (pose 72, betas 10, trans, 25 keypoints), segments (K, 2);
    no simulator keys.  ``z_down``: the world turned 180 degrees about x, so z points down (SMPL-consistent:
    root orientation and translation turned with the joints)."""
    from presstrack_common.mip_format import MIP_KPA_PER_RAW
    from presstrack_eval.dataset import FLIP_Z, rotate_world

    path.parent.mkdir(parents=True, exist_ok=True)
    made = write_recording(path, frames=frames, slots=2, rows=238, cols=120, body=body)
    with np.load(made) as data:
        source = {key: data[key] for key in data.files}
    pad = lambda a: np.concatenate([a, np.zeros_like(a[:, :1])], axis=1)  # noqa: E731  (the empty third slot)
    joints = pad(source["keypoints_3d"])
    joints = np.concatenate([joints, joints[:, :, 15:16] + np.float32([0.0, 0.0, 0.1])], axis=2)  # a 25th point
    pose, trans = pad(source["pose"]), pad(source["trans"])
    if z_down:
        corners = np.zeros((4, 2))
        joints, trans, pose, _ = rotate_world(FLIP_Z, joints, trans, pose, corners)
    mip = dict(name=np.array(f"2_person/{path.stem}"), pressure=(source["pressure"] / MIP_KPA_PER_RAW).astype(np.float32),
               box=pad(source["box"]), pose=pose, betas=pad(source["betas"]), trans=trans, keypoints_3d=joints,
               segments=np.array([[0, frames]]))
    (np.savez_compressed if compressed else np.savez)(path, **mip)
    return path
