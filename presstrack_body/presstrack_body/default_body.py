"""Builds the embedded default body: an SMPL-format neutral model made from the free `anny` body.

Anny (Apache-2.0 code, CC0 MakeHuman-derived assets) is a 104-bone, 13718-vertex rigged mesh
whose shape is driven by phenotypes (gender, age, muscle, weight, height, proportions). This
module turns it into the arrays of an SMPL model file:

1. Sample adult phenotypes from anny's own calibrated distribution (morphological age
   20-60 years, gender uniform in [0, 1]) and take each rest mesh, rotated from anny's z-up,
   -y-forward frame into SMPL's canonical y-up, +z-forward frame.
2. Place the 24 SMPL joints on anny bone heads (`_JOINT_ANCHORS`) and collapse anny's skinning
   weights onto them (each anny bone goes to the SMPL joint that moves it, `_bone_to_joint`).
3. Pose anny's A-pose into SMPL's T-pose (arms straightened along +-x, legs swung under the
   hips with soles kept flat) by linear blend skinning with those weights, as SMPL would.
4. Fit a vertex-to-joint regressor (non-negative weights on vertices around each joint,
   affine) on all sampled T-posed meshes, and move every mesh so its pelvis is at the origin.
5. Shape space: PCA of the sampled meshes, whitened so betas ~ N(0, 1) reproduce the sample,
   then rotated so beta[0] alone carries stature (+ = taller); betas 1-9 are the remaining
   principal directions, orthogonalised.

Anny has no pose-corrective blend shapes, so `posedirs` is all zeros: the body deforms by
linear blend skinning only.

The file is a compressed `.npz` with the keys of an SMPL pickle. smplx 0.1.28's `SMPL` class
only unpickles files, so load it with `smplx.SMPL(path, data_struct=Struct(**np.load(path)))`
or `presstrack_body.model.BodyModel`.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from presstrack_body.kinematics import (
    JOINT_NAMES,
    LEG_JOINTS,
    NUM_JOINTS,
    PARENTS,
    forward_kinematics,
    matrix_to_axis_angle,
    rotation_between,
)

DEFAULT_BODY_ENV = "PRESSTRACK_DEFAULT_BODY"
NUM_BETAS = 10
NUM_POSE_CORRECTIVES = 207  # 23 joints x 9 rotation-matrix entries, as in SMPL
HEIGHT_BETA_INDEX = 0

_NUM_SHAPE_SAMPLES = 512
_SAMPLE_SEED = 20260126
_ADULT_AGE_YEARS = (20.0, 60.0)

# anny (x: person's left, y: backward, z: up) -> SMPL canonical (x: left, y: up, z: forward).
_ANNY_TO_SMPL = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

# Each SMPL joint as a weighted mean of anny bone heads ("S" = L or R for the joint's side).
_JOINT_ANCHORS: dict[str, dict[str, float]] = {
    "pelvis": {"spine04": 1.0},  # about 7 cm above the hip joints, as SMPL's pelvis
    "hip": {"upperleg01.S": 1.0},
    "spine1": {"spine03": 1.0},
    "knee": {"lowerleg01.S": 1.0},
    "spine2": {"spine02": 1.0},
    "ankle": {"foot.S": 1.0},
    "spine3": {"spine01": 1.0},
    "foot": {f"toe{i}-1.S": 0.2 for i in range(1, 6)},  # ball of the foot
    "neck": {"neck01": 1.0},
    "collar": {"clavicle.S": 0.5, "shoulder01.S": 0.5},
    "head": {"head": 1.0},
    "shoulder": {"upperarm01.S": 1.0},
    "elbow": {"lowerarm01.S": 1.0},
    "wrist": {"wrist.S": 1.0},
    "hand": {"wrist.S": 0.2, "finger3-1.S": 0.8},  # near the knuckles, as SMPL's hand joint
}

# anny bone name prefixes -> SMPL joint (without side) whose rotation moves that bone.
_BONE_PREFIX_TO_JOINT: tuple[tuple[str, str], ...] = (
    ("root", "pelvis"),
    ("pelvis.", "pelvis"),
    ("spine05", "pelvis"),
    ("spine04", "pelvis"),
    ("spine03", "spine1"),
    ("spine02", "spine2"),
    ("spine01", "spine3"),
    ("upperleg", "hip"),
    ("lowerleg", "knee"),
    ("foot.", "ankle"),
    ("toe", "foot"),
    ("clavicle.", "collar"),
    ("shoulder01.", "collar"),
    ("upperarm", "shoulder"),
    ("lowerarm", "elbow"),
    ("wrist.", "wrist"),
    ("metacarpal", "wrist"),
    ("finger", "hand"),
    ("neck", "neck"),
    ("head", "head"),
    ("eye.", "head"),
)

# (shoulder, elbow, wrist, hand) joint indices and the arm's T-pose direction.
_ARMS = ((16, 18, 20, 22, np.array([1.0, 0.0, 0.0])), (17, 19, 21, 23, np.array([-1.0, 0.0, 0.0])))


def _joint_index(generic: str, side: str | None) -> int:
    """Index of an SMPL joint given its side-less name ('knee') and side ('L', 'R' or None)."""
    if side is None:
        return JOINT_NAMES.index(generic)
    return JOINT_NAMES.index(("left_" if side == "L" else "right_") + generic)


def _bone_to_joint(bone: str) -> int:
    for prefix, generic in _BONE_PREFIX_TO_JOINT:
        if bone.startswith(prefix):
            sided = generic not in ("pelvis", "spine1", "spine2", "spine3", "neck", "head")
            if not sided:
                return _joint_index(generic, None)
            if not bone.endswith((".L", ".R")):
                raise ValueError(f"anny bone {bone!r} maps to a sided joint but has no .L/.R suffix")
            return _joint_index(generic, bone[-1])
    raise ValueError(f"anny bone {bone!r} has no SMPL joint; the anny rig changed")


def _joint_anchor_matrix(bone_labels: list[str]) -> np.ndarray:
    """(24, num_bones) weights giving the SMPL joints as combinations of anny bone heads."""
    anchors = np.zeros((NUM_JOINTS, len(bone_labels)))
    for generic, weights in _JOINT_ANCHORS.items():
        sides = ("L", "R") if any(name.endswith(".S") for name in weights) else (None,)
        for side in sides:
            row = _joint_index(generic, side)
            for name, weight in weights.items():
                anchors[row, bone_labels.index(name.replace(".S", f".{side}"))] = weight
    return anchors


def _collapsed_skinning_weights(bone_labels: list[str], bone_indices: np.ndarray, bone_weights: np.ndarray) -> np.ndarray:
    """(V, 24) skinning weights: anny's per-bone weights summed onto SMPL joints."""
    bone_joint = np.array([_bone_to_joint(label) for label in bone_labels])
    weights = np.zeros((bone_indices.shape[0], NUM_JOINTS))
    np.add.at(weights, (np.arange(bone_indices.shape[0])[:, None], bone_joint[bone_indices]), bone_weights)
    return weights / weights.sum(axis=1, keepdims=True)


def _t_pose(joints: np.ndarray) -> np.ndarray:
    """(72,) pose taking rest `joints` (24, 3) from anny's stance to SMPL's T-pose.

    Arms: shoulders, elbows and wrists straightened along +-x. Legs: anny stands with its feet
    apart (ankles about 7 cm outside the hips); each hip swings the leg under itself in the
    frontal plane and the ankle turns back so the sole stays flat.
    """
    pose = np.zeros((NUM_JOINTS, 3))
    for shoulder, elbow, wrist, hand, direction in _ARMS:
        parent_rotation = np.eye(3)  # collars stay at rest
        for joint, child in ((shoulder, elbow), (elbow, wrist), (wrist, hand)):
            segment = parent_rotation @ (joints[child] - joints[joint])
            global_rotation = rotation_between(segment, direction) @ parent_rotation
            pose[joint] = matrix_to_axis_angle(parent_rotation.T @ global_rotation)
            parent_rotation = global_rotation
    for hip, _, ankle in LEG_JOINTS.values():
        leg = joints[ankle] - joints[hip]
        swing = rotation_between(leg, leg * np.array([0.0, 1.0, 1.0]))
        pose[hip] = matrix_to_axis_angle(swing)
        pose[ankle] = matrix_to_axis_angle(swing.T)  # the knee stays at rest
    return pose.reshape(-1)


def linear_blend_skinning(
    vertices: np.ndarray, weights: np.ndarray, rest_joints: np.ndarray, pose: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """SMPL's skinning without blend shapes.

    Args:
        vertices: (N, V, 3) rest vertices; weights: (V, 24); rest_joints: (N, 24, 3); pose: (N, 72).
    Returns:
        posed vertices (N, V, 3) and posed joints (N, 24, 3).
    """
    posed_joints, rotations = forward_kinematics(rest_joints, pose, np.zeros(3))
    offsets = posed_joints - np.einsum("njab,njb->nja", rotations, rest_joints)
    vertex_rotations = np.einsum("vj,njab->nvab", weights, rotations)
    vertex_offsets = np.einsum("vj,nja->nva", weights, offsets)
    return np.einsum("nvab,nvb->nva", vertex_rotations, vertices) + vertex_offsets, posed_joints


def _fit_joint_regressor(
    vertices: np.ndarray, joints: np.ndarray, mean: np.ndarray, basis: np.ndarray, joint_mean: np.ndarray, joint_basis: np.ndarray
) -> np.ndarray:
    """Vertex-to-joint regressor that is exact on the model's shape space.

    Each joint uses the vertices of a shell around it. A non-negative affine fit over the
    sampled meshes gives a well-behaved start; the smallest correction then makes the
    regressor reproduce the joints' linear shape model exactly: W (mean + basis b) =
    joint_mean + joint_basis b for every b. (Convex weights alone miss trunk joints by up to
    10 cm on the heaviest bodies, whose bellies move while their spines do not.)

    Args:
        vertices: (N, V, 3) sampled meshes; joints: (N, 24, 3) their joints.
        mean: (V, 3) and basis: (V, 3, B) the shape model; joint_mean: (24, 3) and
            joint_basis: (24, 3, B) the joints' linear shape model.
    Returns:
        (24, V) regressor with rows summing to 1.
    """
    regressor = np.zeros((NUM_JOINTS, vertices.shape[1]))
    constraint_weight = 10.0  # data rows are joint-to-vertex offsets of about 0.1 m
    for j in range(NUM_JOINTS):
        distance = np.linalg.norm(mean - joint_mean[j], axis=1)
        # A shell reaching around the limb or trunk at the joint, not just its nearest side.
        near = np.flatnonzero(distance < 2.0 * distance.min() + 0.04)
        near = near[np.argsort(distance[near])[:300]]
        offsets = (vertices[:, near, :] - joints[:, j, None, :]).transpose(0, 2, 1).reshape(-1, near.size)
        design = np.vstack([offsets, constraint_weight * np.ones((1, near.size))])
        target = np.zeros(design.shape[0])
        target[-1] = constraint_weight
        start, _ = nnls(design, target, maxiter=100 * near.size)
        start /= start.sum()
        # Exactness equations: sum w = 1, w . mean = joint mean, w . basis_k = joint basis_k.
        equations = np.vstack([np.ones((1, near.size)), mean[near].T, basis[near].transpose(1, 2, 0).reshape(-1, near.size)])
        values = np.concatenate([[1.0], joint_mean[j], joint_basis[j].reshape(-1)])
        correction, *_ = np.linalg.lstsq(equations, values - equations @ start, rcond=None)
        regressor[j, near] = start + correction
    return regressor


@dataclass(frozen=True)
class DefaultBody:
    """Arrays of an SMPL model file (float64 here; stored as float32)."""

    v_template: np.ndarray  # (V, 3)
    faces: np.ndarray  # (F, 3)
    joint_regressor: np.ndarray  # (24, V)
    weights: np.ndarray  # (V, 24)
    shapedirs: np.ndarray  # (V, 3, 10)
    report: dict[str, float]

    def save(self, path: pathlib.Path) -> None:
        """Write atomically as compressed npz with SMPL's keys."""
        kintree_table = np.stack([PARENTS, np.arange(NUM_JOINTS)]).astype(np.int64)
        arrays = {
            "v_template": self.v_template.astype(np.float32),
            "f": self.faces.astype(np.int64),
            "J_regressor": self.joint_regressor.astype(np.float32),
            "weights": self.weights.astype(np.float32),
            "kintree_table": kintree_table,
            "shapedirs": self.shapedirs.astype(np.float32),
            "posedirs": np.zeros((self.v_template.shape[0], 3, NUM_POSE_CORRECTIVES), np.float32),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp.npz")
        os.close(descriptor)
        try:
            np.savez_compressed(temporary, **arrays)
            os.chmod(temporary, 0o644)  # mkstemp makes it private; the model is shared data
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)


def _sample_anny_meshes(num_samples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], np.ndarray, np.ndarray]:
    """Rest meshes of sampled adults, SMPL frame.

    Returns:
        vertices (N, V, 3), bone heads (N, num_bones, 3), faces (F, 3), bone labels,
        vertex bone indices (V, K) and weights (V, K).
    """
    import anny
    import torch
    from anny.shape_distribution import SimpleShapeDistribution

    model = anny.Anny().to(dtype=torch.float64)
    distribution = SimpleShapeDistribution(
        model,
        morphological_age_distribution=torch.distributions.Uniform(
            torch.tensor(_ADULT_AGE_YEARS[0], dtype=torch.float64), torch.tensor(_ADULT_AGE_YEARS[1], dtype=torch.float64)
        ),
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_SAMPLE_SEED)
        _, phenotypes = distribution.sample(num_samples)
    vertices, heads = [], []
    with torch.no_grad():
        for start in range(0, num_samples, 64):
            chunk = {key: value[start : start + 64] for key, value in phenotypes.items()}
            output = model(phenotype_kwargs=chunk)
            vertices.append(output["rest_vertices"].numpy())
            heads.append(output["rest_bone_heads"].numpy())
    return (
        np.concatenate(vertices) @ _ANNY_TO_SMPL.T,
        np.concatenate(heads) @ _ANNY_TO_SMPL.T,
        model.faces.numpy(),
        list(model.bone_labels),
        model.vertex_bone_indices.numpy(),
        model.vertex_bone_weights.numpy(),
    )


def build_default_body(num_samples: int = _NUM_SHAPE_SAMPLES) -> DefaultBody:
    """Generate the default body from anny (deterministic; about a minute, more on anny's first run)."""
    vertices, heads, faces, bone_labels, bone_indices, bone_weights = _sample_anny_meshes(num_samples)
    weights = _collapsed_skinning_weights(bone_labels, bone_indices, bone_weights)
    a_pose_joints = np.einsum("jb,nba->nja", _joint_anchor_matrix(bone_labels), heads)

    t_pose = np.stack([_t_pose(joints) for joints in a_pose_joints])
    chunks = [
        linear_blend_skinning(vertices[start : start + 32], weights, a_pose_joints[start : start + 32], t_pose[start : start + 32])
        for start in range(0, num_samples, 32)
    ]
    vertices = np.concatenate([chunk[0] for chunk in chunks])
    joints = np.concatenate([chunk[1] for chunk in chunks])
    vertices -= joints[:, :1, :]  # pelvis at the origin, for every shape
    joints -= joints[:, :1, :]

    mean = vertices.mean(axis=0)
    deviations = (vertices - mean).reshape(num_samples, -1)
    _, singular_values, directions = np.linalg.svd(deviations, full_matrices=False)
    scores = deviations @ directions[:NUM_BETAS].T / singular_values[:NUM_BETAS] * np.sqrt(num_samples - 1)
    basis = directions[:NUM_BETAS].T * singular_values[:NUM_BETAS] / np.sqrt(num_samples - 1)  # (3V, 10)

    heights = vertices[..., 1].max(axis=1) - vertices[..., 1].min(axis=1)
    height_gradient, *_ = np.linalg.lstsq(np.column_stack([scores, np.ones(num_samples)]), heights, rcond=None)
    height_direction = height_gradient[:NUM_BETAS] / np.linalg.norm(height_gradient[:NUM_BETAS])
    # Orthonormal change of basis with beta[0] along stature; whitened betas stay N(0, I).
    rotation, _ = np.linalg.qr(np.column_stack([height_direction, np.eye(NUM_BETAS)[:, : NUM_BETAS - 1]]))
    rotation *= np.sign(rotation[:, :1].T @ height_direction)  # beta[0] > 0 is taller
    shapedirs = (basis @ rotation).reshape(-1, 3, NUM_BETAS)
    betas = scores @ rotation

    joint_mean = joints.mean(axis=0)
    joint_basis, *_ = np.linalg.lstsq(betas, (joints - joint_mean).reshape(num_samples, -1), rcond=None)
    joint_basis = joint_basis.T.reshape(NUM_JOINTS, 3, NUM_BETAS)
    regressor = _fit_joint_regressor(vertices, joints, mean, shapedirs, joint_mean, joint_basis)
    # Joints the saved model gives each sample (its best betas) against anny's joints.
    model_joints = np.einsum("jv,nva->nja", regressor, mean + np.einsum("vab,nb->nva", shapedirs, betas))
    joint_error = np.linalg.norm(model_joints - joints, axis=-1)

    explained = float((singular_values[:NUM_BETAS] ** 2).sum() / (singular_values**2).sum())
    residual = deviations - (deviations @ directions[:NUM_BETAS].T) @ directions[:NUM_BETAS]
    report = {
        "joint_error_max_m": float(joint_error.max()),
        "joint_error_mean_m": float(joint_error.mean()),
        "regressor_negative_weight_max": float(-np.minimum(regressor, 0).sum(axis=1).max()),
        "pca_explained_variance": explained,
        "shape_reconstruction_rms_m": float(np.sqrt((residual.reshape(num_samples, -1, 3) ** 2).sum(-1).mean())),
        "sample_height_min_m": float(heights.min()),
        "sample_height_max_m": float(heights.max()),
        "sample_height_std_m": float(heights.std()),
        "height_per_beta0_m": float(np.linalg.norm(height_gradient[:NUM_BETAS])),
    }
    return DefaultBody(mean, faces, regressor, weights, shapedirs, report)


def default_model_path() -> pathlib.Path:
    """Where the default body lives: $PRESSTRACK_DEFAULT_BODY, else the install prefix's share folder.

    Raises:
        FileNotFoundError: if no file is there yet (run `presstrack-make-default-body`).
    """
    path = pathlib.Path(os.environ.get(DEFAULT_BODY_ENV) or install_model_path())
    if not path.is_file():
        raise FileNotFoundError(
            f"default body model {path} does not exist; create it with "
            f"`presstrack-make-default-body --out {path}` (about a minute), "
            f"or point {DEFAULT_BODY_ENV} at an existing one"
        )
    return path


def install_model_path() -> pathlib.Path:
    """The default body's path under the Python prefix (where the set-up generates it)."""
    return pathlib.Path(sys.prefix) / "share" / "presstrack_body" / "body_models" / "SMPL_NEUTRAL.npz"


def ensure_default_body(path: pathlib.Path, force: bool = False) -> dict[str, float] | None:
    """Generate the default body at `path` unless it already exists.

    Returns:
        the build report (fit errors, sampled heights) if generated, None if the file was kept.
    """
    if path.suffix != ".npz":
        raise ValueError(f"the default body is written as .npz, got {path}")
    if path.is_file() and not force:
        return None
    body = build_default_body()
    body.save(path)
    return body.report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the SMPL-format default body from anny (cached).")
    parser.add_argument("--out", type=pathlib.Path, default=None, help=f"output .npz (default: {install_model_path()})")
    parser.add_argument("--force", action="store_true", help="regenerate even if the file exists")
    args = parser.parse_args(argv)
    path = args.out or install_model_path()
    start = time.monotonic()
    report = ensure_default_body(path, force=args.force)
    if report is not None:
        print(f"wrote {path} in {time.monotonic() - start:.1f} s")
        for key, value in report.items():
            print(f"  {key}: {value:.4g}")
    else:
        print(f"{path} already exists; kept it (use --force to regenerate)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
