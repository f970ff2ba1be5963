"""SMPL-family bodies through the real loading and posing path, on tiny fake model files."""

from __future__ import annotations

import os
import pickle
import re
import warnings

import numpy as np
import pytest
from PIL import Image
from scipy.spatial.transform import Rotation

from crocohuman.core.conventions import (
    DENSEPOSE_PART_NAMES,
    MANO_JOINT_NAMES,
    SMPL_CANONICAL_TO_WORLD,
    SMPL_JOINT_NAMES,
    SMPL_TPOSE_JOINTS,
)
from crocohuman.render.body.base import Identity
from crocohuman.render.body.smpl_family import SmplFamilyBody
from crocohuman.render.motion.clip import MotionClip

from fake_smpl import fake_model_arrays, write_fake_model_npz, write_fake_smpl_npz, write_fake_smpl_pkl

UPRIGHT = Rotation.from_matrix(SMPL_CANONICAL_TO_WORLD).as_rotvec()  # canonical body -> Z-up world
J = {name: index for index, name in enumerate(SMPL_JOINT_NAMES)}


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def make_clip(frames: int = 2, body_pose=None, hand_pose=None, transl=None) -> MotionClip:
    return MotionClip(
        global_orient=np.tile(UPRIGHT, (frames, 1)),
        body_pose=np.zeros((frames, 21, 3)) if body_pose is None else body_pose,
        transl=np.zeros((frames, 3)) if transl is None else transl,
        fps=30.0,
        source="test",
        hand_pose=hand_pose,
    )


def rest_identity(gender: str = "neutral", betas=None) -> Identity:
    betas = np.zeros(10, np.float32) if betas is None else betas
    return Identity(params={"betas": betas, "gender": np.array(gender)}, texture=np.zeros((1, 1, 3), np.uint8))


@pytest.mark.parametrize(
    "writer, name",
    [
        (write_fake_smpl_npz, "smpl/SMPL_NEUTRAL.npz"),
        (write_fake_smpl_pkl, "smpl/SMPL_NEUTRAL.pkl"),
        (write_fake_smpl_pkl, "basicModel_neutral_lbs_10_207_0_v1.0.0.pkl"),
    ],
)
def test_rest_pose_gives_the_skeleton_upright_in_the_world(tmp_path, writer, name):
    writer(tmp_path / name)
    body = SmplFamilyBody("smpl", tmp_path)
    posed = body.pose(rest_identity(), make_clip())
    num_vertices = len(fake_model_arrays()["v_template"])
    assert posed.vertices.shape == (2, num_vertices, 3) and posed.vertices.dtype == np.float32
    assert posed.joints.shape == (2, 24, 3) and posed.joints.dtype == np.float32
    np.testing.assert_allclose(posed.joints[1], SMPL_TPOSE_JOINTS @ SMPL_CANONICAL_TO_WORLD.T, atol=1e-5)
    z = posed.joints[0, :, 2]
    assert z[J["head"]] > z[J["neck"]] > z[J["pelvis"]] > z[J["left_knee"]] > z[J["left_ankle"]]
    assert posed.params["body_pose"].shape == (2, 23, 3)
    assert str(posed.params["model_type"]) == "smpl" and list(posed.params["joint_names"]) == list(SMPL_JOINT_NAMES)


def test_legacy_pkl_poses_exactly_like_npz(tmp_path):
    write_fake_smpl_npz(tmp_path / "a" / "SMPL_NEUTRAL.npz", seed=3)
    write_fake_smpl_pkl(tmp_path / "b" / "SMPL_NEUTRAL.pkl", seed=3)
    rng = np.random.default_rng(0)
    clip = make_clip(3, body_pose=rng.normal(0, 0.3, (3, 21, 3)), transl=rng.normal(0, 1, (3, 3)))
    identity = rest_identity(betas=rng.normal(0, 1, 10).astype(np.float32))
    from_npz = SmplFamilyBody("smpl", tmp_path / "a").pose(identity, clip)
    from_pkl = SmplFamilyBody("smpl", tmp_path / "b").pose(identity, clip)
    np.testing.assert_allclose(from_pkl.vertices, from_npz.vertices, atol=1e-6)


def test_knee_flexion_moves_that_ankle_and_transl_moves_everything(tmp_path):
    write_fake_smpl_npz(tmp_path / "SMPL_NEUTRAL.npz")
    body = SmplFamilyBody("smpl", tmp_path)
    body_pose = np.zeros((2, 21, 3))
    body_pose[1, J["left_knee"] - 1] = [1.2, 0.0, 0.0]
    transl = np.array([[0.0, 0.0, 0.0], [0.5, -0.2, 1.0]])
    joints = body.pose(rest_identity(), make_clip(body_pose=body_pose, transl=transl)).joints
    moved = np.linalg.norm(joints[1] - transl[1] - joints[0], axis=1)
    assert moved[J["left_ankle"]] > 0.3
    assert moved[[J["left_knee"], J["right_ankle"], J["head"]]].max() < 1e-5


def test_genders_from_the_model_type_folder_or_a_single_file(tmp_path):
    folder = tmp_path / "smpl"
    write_fake_smpl_npz(folder / "SMPL_MALE.npz", seed=1)
    write_fake_smpl_pkl(folder / "smpl_female.pkl", seed=2)
    body = SmplFamilyBody("smpl", folder, texture_size=32)
    assert body.genders == ("male", "female")
    identities = [body.sample_identity(np.random.default_rng(seed)) for seed in range(8)]
    assert {str(identity.params["gender"]) for identity in identities} == {"male", "female"}
    female = next(identity for identity in identities if str(identity.params["gender"]) == "female")
    assert body.pose(female, make_clip()).vertices.shape[0] == 2
    assert SmplFamilyBody("smpl", folder / "smpl_female.pkl").genders == ("female",)


def test_sampled_identities_have_clipped_betas_and_procedural_textures(tmp_path):
    write_fake_smpl_npz(tmp_path / "smpl" / "SMPL_NEUTRAL.npz")
    body = SmplFamilyBody("smpl", tmp_path, texture_size=64)
    rng = np.random.default_rng(0)
    first, second = body.sample_identity(rng), body.sample_identity(rng)
    for identity in (first, second):
        assert identity.params["betas"].shape == (10,) and np.abs(identity.params["betas"]).max() <= 3.0
        assert identity.texture.shape == (64, 64, 3) and identity.texture.dtype == np.uint8
    assert not np.array_equal(first.texture, second.texture)


def test_topology_labels_many_parts_with_left_at_plus_x(tmp_path):
    write_fake_smpl_npz(tmp_path / "SMPL_NEUTRAL.npz")
    body = SmplFamilyBody("smpl", tmp_path)
    topology = body.topology
    assert topology.faces.dtype == np.int32 and topology.face_uvs.shape == (topology.num_faces, 3, 2)
    assert len(np.unique(topology.face_parts)) >= 20 and topology.face_parts.min() >= 1
    assert 0.0 <= topology.face_iuv.min() and topology.face_iuv.max() <= 1.0
    centroid_x = body.rest_vertices[topology.faces].mean(1)[:, 0]
    names = np.array(DENSEPOSE_PART_NAMES)[topology.face_parts]
    is_left = np.char.find(names, "left") >= 0
    is_right = np.char.find(names, "right") >= 0
    assert is_left.sum() > 100 and is_right.sum() > 100
    # Faces straddling the midline (x = 0) may fall either side; none may sit on the wrong one.
    assert (centroid_x[is_left] > -1e-6).all() and (centroid_x[is_right] < 1e-6).all()
    assert centroid_x[is_left].mean() > 0.1 and centroid_x[is_right].mean() < -0.1


def write_uv_obj(path, arrays, rng) -> np.ndarray:
    """A UV template of the fake mesh, faces shuffled and corners rotated; returns the model's face UVs."""
    faces = arrays["f"].astype(np.int64)
    corner_uvs = rng.uniform(0, 1, (len(faces), 3, 2))
    lines = [f"v {x:.4f} {y:.4f} {z:.4f}" for x, y, z in arrays["v_template"]]
    lines += [f"vt {u:.6f} {v:.6f}" for u, v in corner_uvs.reshape(-1, 2)]
    for index in rng.permutation(len(faces)):
        order = np.roll(np.arange(3), index % 3)
        lines.append("f " + " ".join(f"{faces[index, k] + 1}/{3 * index + k + 1}" for k in order))
    path.write_text("\n".join(lines) + "\n")
    return np.round(corner_uvs, 6).astype(np.float32)


def test_texture_folder_uses_the_obj_uvs_and_skips_unreadable_images(tmp_path):
    write_fake_smpl_npz(tmp_path / "SMPL_NEUTRAL.npz")
    expected_uvs = write_uv_obj(tmp_path / "smpl_uv.obj", fake_model_arrays(), np.random.default_rng(1))
    textures = tmp_path / "textures"
    textures.mkdir()
    Image.fromarray(np.full((8, 8, 3), 77, np.uint8)).save(textures / "good.png")
    (textures / "broken.jpg").write_text("not an image")
    body = SmplFamilyBody("smpl", tmp_path, texture_dir=textures, uv_obj=tmp_path / "smpl_uv.obj")
    np.testing.assert_allclose(body.topology.face_uvs, expected_uvs, atol=1e-6)
    rng = np.random.default_rng(0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        identities = [body.sample_identity(rng) for _ in range(8)]
    assert all((identity.texture == 77).all() for identity in identities)
    assert [str(w.message) for w in caught if "broken.jpg" in str(w.message)] and len(caught) == 1


def test_texture_folder_needs_a_uv_template(tmp_path):
    write_fake_smpl_npz(tmp_path / "SMPL_NEUTRAL.npz")
    with pytest.raises(ValueError, match="uv_obj"):
        SmplFamilyBody("smpl", tmp_path, texture_dir=tmp_path)


@pytest.mark.parametrize(
    "model_type, file_name, num_joints",
    [
        ("smplh", "smplh/female/model.npz", 24),
        ("smplx", "smplx/SMPLX_NEUTRAL.npz", 24),
        ("mano", "mano/MANO_RIGHT.npz", 21),
    ],
)
def test_hand_models_follow_the_clip_hands(tmp_path, model_type, file_name, num_joints):
    write_fake_model_npz(tmp_path / file_name, model_type, rings=5)
    body = SmplFamilyBody(model_type, tmp_path)
    hand_pose = np.zeros((2, 2, 15, 3))
    hand_pose[1, 1, :, 2] = 0.5  # curl every right finger joint
    posed = body.pose(rest_identity(body.genders[0]), make_clip(hand_pose=hand_pose))
    assert posed.joints.shape == (2, num_joints, 3)
    if model_type == "smplx":  # SMPL-X reads a checked copy from the cache
        assert list((tmp_path / "cache" / "crocohuman" / "smpl").glob("*/SMPLX_NEUTRAL.npz"))
    moved = np.linalg.norm(posed.vertices[1] - posed.vertices[0], axis=1)
    assert moved.max() > 0.01
    if model_type == "mano":
        assert list(posed.params["joint_names"]) == list(MANO_JOINT_NAMES)
        assert set(np.unique(body.topology.face_parts)) == {DENSEPOSE_PART_NAMES.index("right_hand")}
    else:
        assert posed.params["right_hand_pose"].shape == (2, 15, 3)
        assert np.allclose(posed.joints[1, :22], posed.joints[0, :22], atol=1e-5)  # body joints stay
        assert DENSEPOSE_PART_NAMES.index("left_hand") in body.topology.face_parts


def test_missing_folder_is_named(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        SmplFamilyBody("smpl", missing)


def test_empty_folder_lists_what_was_looked_for(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"smpl_neutral\.npz") as error:
        SmplFamilyBody("smpl", tmp_path)
    assert str(tmp_path) in str(error.value)
    write_fake_smpl_npz(tmp_path / "SMPL_MALE.npz")
    with pytest.raises(FileNotFoundError, match="female"):
        SmplFamilyBody("smpl", tmp_path, genders=("female",))


def test_npz_without_model_keys_names_file_and_key(tmp_path):
    path = tmp_path / "smpl" / "SMPL_NEUTRAL.npz"
    path.parent.mkdir()
    np.savez(path, v_template=np.zeros((10, 3)), something_else=np.ones(4))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*'shapedirs'"):
        SmplFamilyBody("smpl", tmp_path)


def test_wrongly_shaped_key_is_named(tmp_path):
    arrays = fake_model_arrays()
    arrays["weights"] = arrays["weights"][:, :20]
    np.savez(tmp_path / "SMPL_NEUTRAL.npz", **arrays)
    with pytest.raises(ValueError, match=r"not a valid SMPL model file: 'weights' has shape \(1024, 20\)"):
        SmplFamilyBody("smpl", tmp_path)


def test_text_file_named_like_a_model_is_named(tmp_path):
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_text("this is not a pickle\n")
    with pytest.raises(ValueError, match=re.escape(str(path))):
        SmplFamilyBody("smpl", tmp_path)


def test_pickles_naming_other_globals_are_refused(tmp_path):
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_bytes(pickle.dumps({"v_template": os.getcwd}, protocol=2))
    with pytest.raises(ValueError, match="refusing global"):
        SmplFamilyBody("smpl", tmp_path)


@pytest.mark.parametrize(
    "model_type, file_name, hand_start",
    [("smplh", "smplh/female/model.npz", 22), ("smplx", "smplx/SMPLX_NEUTRAL.npz", 25)],
)
def test_hand_keypoints_are_the_wrists_finger_joints_and_tip_vertices_in_freihand_order(
    tmp_path, monkeypatch, model_type, file_name, hand_start
):
    from crocohuman.core.conventions import HAND_KEYPOINT_NAMES, MANO_TIPS
    from crocohuman.render.body import smpl_family

    write_fake_model_npz(tmp_path / file_name, model_type, rings=5)
    body = SmplFamilyBody(model_type, tmp_path)
    hand_pose = np.zeros((2, 2, 15, 3))
    hand_pose[1, 1, :, 2] = 0.5  # curl every right finger joint in frame 1
    clip = make_clip(hand_pose=hand_pose)
    assert body.pose(rest_identity(body.genders[0]), clip).hand_joints is None  # a tiny mesh has no official tips
    # stand-ins for smplx's ids (thousands): per side, a vertex skinned most to each finger's last joint
    dominant = fake_model_arrays(model_type, rings=5)["weights"].argmax(1)
    last = [hand_start + 15 * side + 3 * "imprt".index(tip[0]) + 2 for side in (0, 1) for tip in MANO_TIPS]
    tips = np.array([np.flatnonzero(dominant == joint)[0] for joint in last]).reshape(2, 5)
    monkeypatch.setattr(smpl_family, "hand_tip_vertices", lambda _model_type: tips)
    posed = body.pose(rest_identity(body.genders[0]), clip)
    model = body.model(body.genders[0])
    vertices, joints = body._forward(model, np.zeros(model.num_betas, np.float32), body._pose_inputs(model, clip))
    hands = posed.hand_joints
    assert hands.shape == (2, 2, 21, 3)
    for side, wrist in enumerate((J["left_wrist"], J["right_wrist"])):
        np.testing.assert_allclose(hands[:, side, 0], joints[:, wrist], atol=1e-6)
        for finger, tip in enumerate(MANO_TIPS):
            np.testing.assert_allclose(
                hands[:, side, HAND_KEYPOINT_NAMES.index(f"{tip}_tip")], vertices[:, tips[side, finger]]
            )
        # smplx's finger joints per side: index, middle, pinky, ring, thumb, three each
        start = hand_start + 15 * side
        np.testing.assert_allclose(hands[:, side, HAND_KEYPOINT_NAMES.index("index1")], joints[:, start])
        np.testing.assert_allclose(hands[:, side, HAND_KEYPOINT_NAMES.index("thumb3")], joints[:, start + 14])
        np.testing.assert_allclose(hands[:, side, HAND_KEYPOINT_NAMES.index("ring2")], joints[:, start + 10])
    moved = np.linalg.norm(hands[1] - hands[0], axis=-1)  # the right fingers curled, the left joints did not
    joints_only = [k for k, name in enumerate(HAND_KEYPOINT_NAMES) if not name.endswith("_tip")]  # fake pose
    assert moved[0, joints_only].max() < 1e-5 and moved[1, 2:].max() > 1e-3  # blendshapes move every vertex
