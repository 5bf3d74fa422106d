"""SMPL body model (user SMPL file or the embedded default body), batched, on torch via smplx."""

from __future__ import annotations

import pathlib

import numpy as np
import smplx
import torch
from smplx.lbs import blend_shapes, vertices2joints
from smplx.utils import Struct

from mesh_recovery.body.default_body import default_model_path
from mesh_recovery.body.kinematics import LEG_JOINTS, NUM_JOINTS, POSE_DIM

__all__ = ["BodyModel", "default_model_path"]

# A foot's sole: vertices up to this far above the foot's lowest rest vertex (m) ...
_SOLE_HEIGHT = 0.02
# ... that the ankle and toe joints together move at least this much.
_SOLE_FOOT_WEIGHT = 0.5


def _load_smpl(model_path: pathlib.Path) -> smplx.SMPL:
    """smplx.SMPL from a folder holding SMPL_NEUTRAL.(pkl|npz), a .pkl, or an .npz file."""
    if model_path.is_dir():
        candidates = [model_path / f"SMPL_NEUTRAL.{ext}" for ext in ("pkl", "npz")]
        found = [path for path in candidates if path.is_file()]
        if not found:
            raise FileNotFoundError(f"{model_path} holds no SMPL_NEUTRAL.pkl or SMPL_NEUTRAL.npz")
        model_path = found[0]
    if not model_path.is_file():
        raise FileNotFoundError(f"SMPL model file {model_path} does not exist")
    if model_path.suffix == ".npz":
        # smplx's SMPL class only unpickles; an .npz with the same keys goes in as data_struct.
        with np.load(model_path) as arrays:
            data = Struct(**{key: arrays[key] for key in arrays.files})
        return smplx.SMPL(str(model_path), data_struct=data)
    if model_path.suffix == ".pkl":
        return smplx.SMPL(str(model_path))
    raise ValueError(f"SMPL model file must be .pkl or .npz, got {model_path}")


class BodyModel:
    """A neutral SMPL body: 24 joints, 10 betas, any vertex count.

    Args:
        model_path: SMPL file (.pkl or .npz) or a folder holding SMPL_NEUTRAL.pkl/.npz;
            None loads the embedded default body (`default_model_path()`).
        device: torch device of every computation and output.
    """

    def __init__(self, model_path: str | pathlib.Path | None = None, device: str | torch.device = "cpu") -> None:
        path = default_model_path() if model_path is None else pathlib.Path(model_path)
        self.model_path = path
        self.device = torch.device(device)
        self.smpl = _load_smpl(path).to(self.device)
        self.smpl.requires_grad_(False)
        if self.smpl.J_regressor.shape[0] != NUM_JOINTS:
            raise ValueError(f"{path} has {self.smpl.J_regressor.shape[0]} joints, expected SMPL's {NUM_JOINTS}")
        self.faces: np.ndarray = np.asarray(self.smpl.faces, dtype=np.int64)
        self.num_betas: int = int(self.smpl.num_betas)
        self.num_vertices: int = int(self.smpl.v_template.shape[0])

    def _as_batch(self, name: str, value: np.ndarray | torch.Tensor, width: int) -> torch.Tensor:
        if isinstance(value, torch.Tensor):
            tensor = value.to(dtype=torch.float32, device=self.device)
        else:
            tensor = torch.tensor(np.asarray(value), dtype=torch.float32, device=self.device)
        if tensor.ndim != 2 or tensor.shape[1] != width:
            raise ValueError(f"{name} must have shape (B, {width}), got {tuple(tensor.shape)}")
        if not torch.isfinite(tensor).all():
            raise ValueError(f"{name} contains NaN or infinite values")
        return tensor

    @torch.no_grad()
    def forward(
        self, betas: np.ndarray | torch.Tensor, pose: np.ndarray | torch.Tensor, transl: np.ndarray | torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Posed bodies.

        Args:
            betas: (B, num_betas) shape; pose: (B, 72) axis-angle, global orientation first;
            transl: (B, 3) metres.
        Returns:
            vertices (B, V, 3) and joints (B, 24, 3), float32, in the frame of `pose[:, :3]` and `transl`.
        """
        betas = self._as_batch("betas", betas, self.num_betas)
        pose = self._as_batch("pose", pose, POSE_DIM)
        transl = self._as_batch("transl", transl, 3)
        if not betas.shape[0] == pose.shape[0] == transl.shape[0]:
            raise ValueError(
                f"betas, pose and transl need the same batch size, got {betas.shape[0]}, {pose.shape[0]}, {transl.shape[0]}"
            )
        output = self.smpl(betas=betas, global_orient=pose[:, :3], body_pose=pose[:, 3:], transl=transl)
        return output.vertices, output.joints[:, :NUM_JOINTS]

    __call__ = forward

    @torch.no_grad()
    def rest_joints(self, betas: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Joints (B, 24, 3) of the shaped body in its rest (T) pose, SMPL canonical frame, no translation."""
        betas = self._as_batch("betas", betas, self.num_betas)
        shaped = self.smpl.v_template + blend_shapes(betas, self.smpl.shapedirs)
        return vertices2joints(self.smpl.J_regressor, shaped)

    def sole_vertex_ids(self, side: str) -> np.ndarray:
        """Vertex indices of one foot's sole, found on the mean rest mesh.

        A sole vertex is skinned mostly (>= 0.5) to that side's ankle and toe joints, lies below
        the ankle joint, and is within 2 cm of the foot's lowest vertex.

        Args:
            side: "left" or "right".
        Returns:
            (K,) int64 sorted vertex indices.
        """
        if side not in LEG_JOINTS:
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        ankle = LEG_JOINTS[side][2]
        toes = ankle + 3  # SMPL's foot joint follows its ankle by 3
        vertices = self.smpl.v_template.cpu().numpy()
        weights = self.smpl.lbs_weights.cpu().numpy()
        ankle_height = (self.smpl.J_regressor[ankle].cpu().numpy() @ vertices)[1]
        foot = np.flatnonzero((weights[:, ankle] + weights[:, toes] >= _SOLE_FOOT_WEIGHT) & (vertices[:, 1] < ankle_height))
        if foot.size == 0:
            raise ValueError(f"{self.model_path} has no vertices skinned to the {side} foot")
        lowest = vertices[foot, 1].min()
        return np.sort(foot[vertices[foot, 1] <= lowest + _SOLE_HEIGHT]).astype(np.int64)
