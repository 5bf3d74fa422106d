"""SMPL body model (user SMPL file or the embedded default body), batched, on torch.

smplx loads the model files; posing is done here with smplx's own rotation and kinematic-chain
functions, leaner than `smplx.SMPL.forward`: pose blend shapes are skipped when the model has
none (the default body's are all zero), a body whose shape is fixed is shaped once for all its
frames (`pose_body`), and only the vertices asked for are skinned.
"""

from __future__ import annotations

import pathlib
import pickle

import numpy as np
import smplx
import torch
from smplx.lbs import batch_rigid_transform, batch_rodrigues, blend_shapes
from smplx.utils import Struct

from presstrack_body.default_body import default_model_path
from presstrack_body.kinematics import LEG_JOINTS, NUM_JOINTS, POSE_DIM

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
        return smplx.SMPL(str(model_path), data_struct=Struct(**read_smpl_pickle(model_path)))
    raise ValueError(f"SMPL model file must be .pkl or .npz, got {model_path}")


class _ChumpyStandIn:
    """Takes the pickled state of a chumpy object; its value is the array under 'x'."""

    def __setstate__(self, state: dict) -> None:
        self.state = state


class _SmplUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        # The official SMPL pickles hold some arrays as chumpy objects; chumpy is unmaintained and
        # breaks on current numpy, so its classes are read into a stand-in instead of being imported.
        if module == "chumpy" or module.startswith("chumpy."):
            return _ChumpyStandIn
        return super().find_class(module, name)


def read_smpl_pickle(path: pathlib.Path) -> dict:
    """The arrays of an SMPL .pkl (Python 2 pickles from the SMPL site included), without chumpy."""
    with open(path, "rb") as file:
        try:
            data = _SmplUnpickler(file, encoding="latin1").load()
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as error:
            raise ValueError(f"{path}: not a readable SMPL pickle ({error})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not an SMPL model (the pickle holds a {type(data).__name__}, not a dict)")
    for key, value in data.items():
        if isinstance(value, _ChumpyStandIn):
            if "x" not in value.state:
                raise ValueError(f"{path}: chumpy value of {key!r} holds no array")
            data[key] = np.asarray(value.state["x"])
    return data


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
        # (207, V * 3) in smplx's layout; None when every pose corrective is zero.
        self._posedirs: torch.Tensor | None = self.smpl.posedirs if bool(self.smpl.posedirs.abs().max() > 0) else None
        # Rest joints are linear in the betas: regressed once from the template and from each shape direction,
        # they cost (24, 3, betas) per body instead of shaping the whole mesh (a millisecond per frame live).
        # Summed in float64 so that the float32 result does not depend on how many threads summed it: the
        # simulator's corpus must come out byte-identical from one process or many.
        regressor = self.smpl.J_regressor.double()
        self._joint_template = (regressor @ self.smpl.v_template.double()).float()
        self._joint_shapedirs = torch.einsum("jv,vcb->jcb", regressor, self.smpl.shapedirs.double()).float()

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

    def _vertex_index(self, vertex_ids: np.ndarray | None) -> torch.Tensor | None:
        if vertex_ids is None:
            return None
        ids = np.asarray(vertex_ids)
        if ids.ndim != 1 or ids.dtype.kind not in "iu":
            raise ValueError(f"vertex_ids must be a 1-D integer array, got {ids.dtype} with shape {ids.shape}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_vertices):
            raise ValueError(f"vertex_ids must lie in [0, {self.num_vertices}), got {ids.min()}..{ids.max()}")
        return torch.as_tensor(ids, dtype=torch.long, device=self.device)

    def _shape(self, betas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, num_betas) -> rest vertices (B, V, 3) and rest joints (B, 24, 3), canonical frame."""
        return self.smpl.v_template + blend_shapes(betas, self.smpl.shapedirs), self._rest_joints(betas)

    def _rest_joints(self, betas: torch.Tensor) -> torch.Tensor:
        """(B, num_betas) -> rest joints (B, 24, 3), canonical frame."""
        return self._joint_template + torch.einsum("jcb,nb->njc", self._joint_shapedirs, betas)

    def _skin(
        self,
        rest_vertices: torch.Tensor,
        rest_joints: torch.Tensor,
        pose: torch.Tensor,
        transl: torch.Tensor,
        vertex_index: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """SMPL's linear blend skinning of B posed bodies.

        Args:
            rest_vertices: (B or 1, V, 3) shaped rest vertices; rest_joints: (B or 1, 24, 3).
            pose: (B, 72) axis-angle; transl: (B, 3); vertex_index: (K,) vertices to pose, None = all.
        Returns:
            vertices (B, K, 3) and joints (B, 24, 3).
        """
        batch = pose.shape[0]
        rotations = batch_rodrigues(pose.reshape(-1, 3)).reshape(batch, NUM_JOINTS, 3, 3)
        vertices = rest_vertices if vertex_index is None else rest_vertices[:, vertex_index]
        weights = self.smpl.lbs_weights if vertex_index is None else self.smpl.lbs_weights[vertex_index]
        if self._posedirs is not None:
            posedirs = self._posedirs
            if vertex_index is not None:
                posedirs = posedirs.reshape(posedirs.shape[0], -1, 3)[:, vertex_index].reshape(posedirs.shape[0], -1)
            identity = torch.eye(3, dtype=rotations.dtype, device=self.device)
            pose_feature = (rotations[:, 1:] - identity).reshape(batch, -1)
            vertices = vertices + (pose_feature @ posedirs).reshape(batch, -1, 3)
        posed_joints, relative = batch_rigid_transform(rotations, rest_joints.expand(batch, -1, -1), self.smpl.parents)
        # Per-vertex blend of the joints' 3x4 transforms, applied column by column (cheaper than a batched matmul).
        blended = (weights @ relative[:, :, :3, :].reshape(batch, NUM_JOINTS, 12)).reshape(batch, -1, 3, 4)
        posed = (
            blended[..., 0] * vertices[..., 0:1]
            + blended[..., 1] * vertices[..., 1:2]
            + blended[..., 2] * vertices[..., 2:3]
            + blended[..., 3]
        )
        offset = transl[:, None, :]
        return posed + offset, posed_joints + offset

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
        rest_vertices, rest_joints = self._shape(betas)
        return self._skin(rest_vertices, rest_joints, pose, transl, None)

    __call__ = forward

    @torch.no_grad()
    def pose_body(
        self,
        betas: np.ndarray | torch.Tensor,
        pose: np.ndarray | torch.Tensor,
        transl: np.ndarray | torch.Tensor,
        vertex_ids: np.ndarray | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One body in many poses: shaped once, then skinned per frame; optionally only some vertices.

        Args:
            betas: (num_betas,) shape of the body; pose: (B, 72) axis-angle; transl: (B, 3) metres;
            vertex_ids: (K,) indices of the vertices wanted (e.g. the soles), None = all V.
        Returns:
            vertices (B, K, 3) and joints (B, 24, 3), float32; equal to `forward` with the betas repeated.
        """
        betas = betas if isinstance(betas, torch.Tensor) else np.asarray(betas)
        if tuple(betas.shape) != (self.num_betas,):
            raise ValueError(f"betas must have shape ({self.num_betas},), got {tuple(betas.shape)}")
        betas = self._as_batch("betas", betas[None], self.num_betas)
        pose = self._as_batch("pose", pose, POSE_DIM)
        transl = self._as_batch("transl", transl, 3)
        if pose.shape[0] != transl.shape[0]:
            raise ValueError(f"pose and transl need the same batch size, got {pose.shape[0]} and {transl.shape[0]}")
        rest_vertices, rest_joints = self._shape(betas)
        return self._skin(rest_vertices, rest_joints, pose, transl, self._vertex_index(vertex_ids))

    @torch.no_grad()
    def rest_vertices(self, betas: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Vertices (B, V, 3) of the shaped body in its rest (T) pose, SMPL canonical frame, no translation."""
        return self._shape(self._as_batch("betas", betas, self.num_betas))[0]

    @torch.no_grad()
    def rest_joints(self, betas: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Joints (B, 24, 3) of the shaped body in its rest (T) pose, SMPL canonical frame, no translation."""
        return self._rest_joints(self._as_batch("betas", betas, self.num_betas))

    def dominant_joints(self) -> np.ndarray:
        """(V,) int64 the joint whose skinning weight is largest at each vertex (which body part it is)."""
        return self.smpl.lbs_weights.argmax(dim=1).cpu().numpy().astype(np.int64)

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
