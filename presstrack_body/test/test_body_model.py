"""The embedded default body (anny-derived SMPL-format file) and BodyModel."""

from __future__ import annotations

import pathlib
import shutil

import numpy as np
import pytest
import smplx
import torch
from smplx.utils import Struct

from presstrack_body.default_body import DEFAULT_BODY_ENV, HEIGHT_BETA_INDEX, ensure_default_body, main
from presstrack_body.kinematics import PARENTS, axis_angle_to_matrix, forward_kinematics, matrix_to_axis_angle
from presstrack_body.model import BodyModel, default_model_path

WORLD_STANDING = np.array([np.pi / 2, 0.0, 0.0])  # SMPL +y (up) -> world +z (MIP convention)
LEFT_ANKLE, LEFT_FOOT, RIGHT_ANKLE, RIGHT_FOOT = 7, 10, 8, 11


@pytest.fixture(scope="module")
def body(default_body_path: pathlib.Path) -> BodyModel:
    return BodyModel(default_body_path)


def shape_samples() -> np.ndarray:
    """betas = 0, +-2 along stature, and a few N(0, 1) draws."""
    betas = np.zeros((7, 10))
    betas[1, HEIGHT_BETA_INDEX] = 2.0
    betas[2, HEIGHT_BETA_INDEX] = -2.0
    betas[3:] = np.random.default_rng(0).normal(size=(4, 10))
    return betas


def stand(body: BodyModel, betas: np.ndarray, heading: float = 0.0, transl: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Bodies in zero pose standing upright in the world (z up), turned by `heading` about z."""
    pose = np.zeros((len(betas), 72))
    turn = axis_angle_to_matrix(np.array([0.0, 0.0, heading]))
    pose[:, :3] = matrix_to_axis_angle(turn @ axis_angle_to_matrix(WORLD_STANDING))
    transl = np.zeros((len(betas), 3)) if transl is None else np.broadcast_to(transl, (len(betas), 3))
    vertices, joints = body.forward(betas, pose, transl)
    return vertices.numpy(), joints.numpy()


def test_file_has_smpl_keys_and_sane_arrays(default_body_path: pathlib.Path):
    with np.load(default_body_path) as arrays:
        data = {key: arrays[key] for key in arrays.files}
    num_vertices = data["v_template"].shape[0]
    assert data["v_template"].shape == (num_vertices, 3)
    assert data["f"].shape[1] == 3 and data["f"].min() == 0 and data["f"].max() == num_vertices - 1
    assert data["J_regressor"].shape == (24, num_vertices)
    assert data["weights"].shape == (num_vertices, 24)
    assert data["shapedirs"].shape == (num_vertices, 3, 10)
    assert data["posedirs"].shape == (num_vertices, 3, 207)
    assert not data["posedirs"].any()  # anny has no pose correctives
    np.testing.assert_array_equal(data["kintree_table"][0], PARENTS)
    assert (data["weights"] >= 0).all()
    np.testing.assert_allclose(data["weights"].sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(data["J_regressor"].sum(axis=1), 1.0, atol=1e-4)
    assert default_body_path.stat().st_size < 25e6


def test_smplx_loads_and_poses_it(default_body_path: pathlib.Path):
    with np.load(default_body_path) as arrays:
        data = Struct(**{key: arrays[key] for key in arrays.files})
    smpl = smplx.SMPL(str(default_body_path), data_struct=data)
    rng = np.random.default_rng(1)
    output = smpl(
        betas=torch.as_tensor(rng.normal(size=(3, 10)), dtype=torch.float32),
        global_orient=torch.as_tensor(rng.normal(scale=0.5, size=(3, 3)), dtype=torch.float32),
        body_pose=torch.as_tensor(rng.normal(scale=0.3, size=(3, 69)), dtype=torch.float32),
        transl=torch.zeros(3, 3),
    )
    vertices = output.vertices.numpy()
    assert vertices.shape == (3, data.v_template.shape[0], 3) and np.isfinite(vertices).all()
    faces = data.f
    areas = 0.5 * np.linalg.norm(np.cross(vertices[:, faces[:, 1]] - vertices[:, faces[:, 0]], vertices[:, faces[:, 2]] - vertices[:, faces[:, 0]]), axis=-1)
    assert (areas > 1e-9).mean() > 0.999  # no collapse
    assert 1.3 < areas.sum(axis=1).min() and areas.sum(axis=1).max() < 2.8  # adult body surface, m^2


def test_rest_pose_is_smpl_like_t_pose(body: BodyModel):
    joints = body.rest_joints(np.zeros((1, 10)))[0].numpy()
    np.testing.assert_allclose(joints[0], 0.0, atol=1e-6)  # pelvis at the origin
    assert joints[1, 0] > 0 > joints[2, 0]  # SMPL's left is +x
    assert joints[15, 1] > joints[12, 1] > joints[0, 1] > joints[4, 1] > joints[7, 1]  # y up
    assert joints[10, 2] > joints[7, 2] + 0.08  # toes point forward (+z)
    for wrist, shoulder in ((20, 16), (21, 17)):  # arms horizontal
        arm = joints[wrist] - joints[shoulder]
        assert abs(arm[0]) > 0.4 and np.hypot(arm[1], arm[2]) < 0.02


def test_forward_matches_numpy_kinematics(body: BodyModel):
    rng = np.random.default_rng(2)
    betas = rng.normal(size=(2, 10))
    pose = rng.normal(scale=0.3, size=(2, 72))
    transl = rng.normal(size=(2, 3))
    vertices, joints = body.forward(betas, pose, transl)
    assert vertices.dtype == torch.float32 and vertices.shape == (2, body.num_vertices, 3) and joints.shape == (2, 24, 3)
    expected, _ = forward_kinematics(body.rest_joints(betas).numpy(), pose, transl)
    np.testing.assert_allclose(joints.numpy(), expected, atol=1e-4)


@pytest.mark.parametrize("betas", list(shape_samples()), ids=["mean", "tall", "short", "draw0", "draw1", "draw2", "draw3"])
def test_human_proportions_over_shape_space(body: BodyModel, betas: np.ndarray):
    vertices, joints = stand(body, betas[None])
    vertices, joints = vertices[0], joints[0]
    floor = vertices[:, 2].min()
    height = vertices[:, 2].max() - floor
    assert 1.45 < height < 2.0
    assert 0.42 < (joints[[1, 2], 2].mean() - floor) / height < 0.55  # hip to floor
    weights = body.smpl.lbs_weights.numpy()
    for ankle, toes in ((LEFT_ANKLE, LEFT_FOOT), (RIGHT_ANKLE, RIGHT_FOOT)):
        foot = vertices[(weights[:, ankle] + weights[:, toes] > 0.5) & (vertices[:, 2] < joints[ankle, 2])]
        assert 0.13 < np.ptp(foot[:, 1]) / height < 0.17  # standing faces -y, so the foot runs along y


def test_height_direction_spans_adult_statures(body: BodyModel):
    betas = np.zeros((3, 10))
    betas[:, HEIGHT_BETA_INDEX] = [-2.0, 0.0, 2.0]
    vertices, _ = stand(body, betas)
    heights = np.ptp(vertices[..., 2], axis=1)
    assert heights[0] < 1.55 and 1.6 < heights[1] < 1.78 and heights[2] > 1.83


def test_soles_touch_the_floor_when_standing(body: BodyModel):
    soles = {side: body.sole_vertex_ids(side) for side in ("left", "right")}
    weights = body.smpl.lbs_weights.numpy()
    for betas in shape_samples():
        vertices, joints = stand(body, betas[None], heading=0.8, transl=np.array([0.3, -0.5, 0.95]))
        vertices = vertices[0]
        floor = vertices[:, 2].min()
        assert np.argmin(vertices[:, 2]) in np.concatenate(list(soles.values()))
        for side, ankle, toes in (("left", LEFT_ANKLE, LEFT_FOOT), ("right", RIGHT_ANKLE, RIGHT_FOOT)):
            sole = vertices[soles[side]]
            assert sole[:, 2].max() - floor < 0.03
            assert sole[:, 2].min() - floor < 0.002  # both feet are down
            # The sole spans the foot from heel to toes, not just a patch of it.
            foot = vertices[weights[:, ankle] + weights[:, toes] > 0.5]
            along = np.array([np.sin(0.8), -np.cos(0.8)])  # walking direction after the 0.8 rad turn
            assert np.ptp(sole[:, :2] @ along) > 0.85 * np.ptp(foot[:, :2] @ along)


def test_sole_vertex_ids_are_per_side_and_checked(body: BodyModel):
    left, right = body.sole_vertex_ids("left"), body.sole_vertex_ids("right")
    assert left.dtype == np.int64 and len(left) > 20 and len(right) > 20
    assert not set(left.tolist()) & set(right.tolist())
    template = body.smpl.v_template.numpy()
    assert (template[left, 0] > 0).all() and (template[right, 0] < 0).all()  # SMPL's left is +x
    with pytest.raises(ValueError, match="side"):
        body.sole_vertex_ids("both")


def test_forward_rejects_bad_input(body: BodyModel):
    with pytest.raises(ValueError, match="pose"):
        body.forward(np.zeros((1, 10)), np.zeros((1, 69)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="batch size"):
        body.forward(np.zeros((2, 10)), np.zeros((1, 72)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        body.forward(np.full((1, 10), np.nan), np.zeros((1, 72)), np.zeros((1, 3)))


def test_loads_from_a_folder_and_refuses_an_empty_one(default_body_path: pathlib.Path, tmp_path: pathlib.Path):
    shutil.copy(default_body_path, tmp_path / "SMPL_NEUTRAL.npz")
    assert BodyModel(tmp_path).num_vertices == BodyModel(default_body_path).num_vertices
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="SMPL_NEUTRAL"):
        BodyModel(empty)


def test_default_model_path_explains_how_to_create_it(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch):
    missing = tmp_path / "SMPL_NEUTRAL.npz"
    monkeypatch.setenv(DEFAULT_BODY_ENV, str(missing))
    with pytest.raises(FileNotFoundError, match="presstrack-make-default-body"):
        default_model_path()
    missing.write_bytes(b"")
    assert default_model_path() == missing


def test_generation_keeps_an_existing_file(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]):
    existing = tmp_path / "SMPL_NEUTRAL.npz"
    existing.write_bytes(b"cached")
    assert ensure_default_body(existing) is None
    assert main(["--out", str(existing)]) == 0
    assert existing.read_bytes() == b"cached" and "kept" in capsys.readouterr().out
    with pytest.raises(ValueError, match="npz"):
        ensure_default_body(tmp_path / "body.pkl")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_runs_on_gpu(default_body_path: pathlib.Path):
    body = BodyModel(default_body_path, device="cuda")
    vertices, joints = body.forward(np.zeros((2, 10)), np.zeros((2, 72)), np.zeros((2, 3)))
    assert vertices.device.type == "cuda" and torch.isfinite(vertices).all()


def smplx_reference(
    path: pathlib.Path, betas: np.ndarray, pose: np.ndarray, transl: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and 24 joints from smplx.SMPL itself."""
    with np.load(path) as arrays:
        data = Struct(**{key: arrays[key] for key in arrays.files})
    output = smplx.SMPL(str(path), data_struct=data)(
        betas=torch.as_tensor(betas, dtype=torch.float32),
        global_orient=torch.as_tensor(pose[:, :3], dtype=torch.float32),
        body_pose=torch.as_tensor(pose[:, 3:], dtype=torch.float32),
        transl=torch.as_tensor(transl, dtype=torch.float32),
    )
    return output.vertices.detach().numpy(), output.joints[:, :24].detach().numpy()


@pytest.mark.parametrize("pose_correctives", [False, True], ids=["default", "with_pose_blend_shapes"])
def test_forward_equals_smplx(default_body_path: pathlib.Path, tmp_path: pathlib.Path, pose_correctives: bool):
    path = default_body_path
    if pose_correctives:  # the default body has none: give it some, to exercise that path
        with np.load(default_body_path) as arrays:
            data = {key: arrays[key] for key in arrays.files}
        data["posedirs"] = np.random.default_rng(8).normal(scale=0.01, size=data["posedirs"].shape).astype(np.float32)
        path = tmp_path / "SMPL_NEUTRAL.npz"
        np.savez(path, **data)
    body = BodyModel(path)
    rng = np.random.default_rng(9)
    betas, pose, transl = rng.normal(size=(3, 10)), rng.normal(scale=0.4, size=(3, 72)), rng.normal(size=(3, 3))
    vertices, joints = body.forward(betas, pose, transl)
    expected_vertices, expected_joints = smplx_reference(path, betas, pose, transl)
    np.testing.assert_allclose(vertices.numpy(), expected_vertices, atol=2e-5)
    np.testing.assert_allclose(joints.numpy(), expected_joints, atol=2e-5)
    # One body over many frames, and only some of its vertices.
    ids = np.concatenate([body.sole_vertex_ids("left"), np.array([0, body.num_vertices - 1])])
    for vertex_ids in (None, ids):
        posed, posed_joints = body.pose_body(betas[1], pose, transl, vertex_ids)
        reference, reference_joints = body.forward(np.repeat(betas[1:2], 3, axis=0), pose, transl)
        reference = reference if vertex_ids is None else reference[:, vertex_ids]
        np.testing.assert_allclose(posed.numpy(), reference.numpy(), atol=2e-5)
        np.testing.assert_allclose(posed_joints.numpy(), reference_joints.numpy(), atol=2e-5)


def test_rest_vertices_are_the_zero_pose(body: BodyModel):
    betas = np.random.default_rng(10).normal(size=(2, 10))
    posed, _ = body.forward(betas, np.zeros((2, 72)), np.zeros((2, 3)))
    np.testing.assert_allclose(body.rest_vertices(betas).numpy(), posed.numpy(), atol=1e-6)


def test_rest_joints_are_regressed_from_the_shaped_mesh(body: BodyModel):
    betas = np.random.default_rng(11).normal(size=(3, 10)) * 2.0
    regressed = torch.einsum("jv,nvc->njc", body.smpl.J_regressor, body.rest_vertices(betas))
    np.testing.assert_allclose(body.rest_joints(betas).numpy(), regressed.numpy(), atol=1e-5)


def test_pose_body_rejects_bad_input(body: BodyModel):
    with pytest.raises(ValueError, match="betas"):
        body.pose_body(np.zeros((2, 10)), np.zeros((2, 72)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="batch size"):
        body.pose_body(np.zeros(10), np.zeros((2, 72)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="vertex_ids"):
        body.pose_body(np.zeros(10), np.zeros((1, 72)), np.zeros((1, 3)), np.array([body.num_vertices]))
    with pytest.raises(ValueError, match="vertex_ids"):
        body.pose_body(np.zeros(10), np.zeros((1, 72)), np.zeros((1, 3)), np.array([0.5]))


def test_official_style_smpl_pickle_loads_without_chumpy(tmp_path, default_body_path, monkeypatch):
    """The SMPL site's pickles keep some arrays in chumpy objects; they load with chumpy absent."""
    import pickle
    import sys
    import types

    fake = types.ModuleType("chumpy")

    class Ch:  # what chumpy pickles: an object whose state holds the array as 'x'
        def __init__(self, x):
            self.x = x

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    fake.ch = types.SimpleNamespace(Ch=Ch)
    monkeypatch.setitem(sys.modules, "chumpy", fake)
    monkeypatch.setitem(sys.modules, "chumpy.ch", fake.ch)
    with np.load(default_body_path) as arrays:
        data = {key: arrays[key] for key in arrays.files}
    data["shapedirs"] = Ch(data["shapedirs"])
    data["v_template"] = Ch(data["v_template"])
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_bytes(pickle.dumps(data, protocol=2))
    monkeypatch.delitem(sys.modules, "chumpy")
    monkeypatch.delitem(sys.modules, "chumpy.ch")

    from_pickle, from_npz = BodyModel(tmp_path), BodyModel(default_body_path)
    betas = np.full((1, 10), 0.5, dtype=np.float32)
    pose = np.zeros((1, 72), dtype=np.float32)
    np.testing.assert_allclose(from_pickle(betas, pose, np.zeros((1, 3)))[0].numpy(),
                               from_npz(betas, pose, np.zeros((1, 3)))[0].numpy(), atol=1e-6)


def test_a_pickle_that_is_not_smpl_is_refused(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(b"not a pickle at all")
    with pytest.raises(ValueError, match="model.pkl"):
        BodyModel(path)
