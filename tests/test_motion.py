"""Motion: rotation helpers, SMPL forward kinematics, the built-in sampler, the AMASS reader."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from crocohuman.core.conventions import (
    SMPL_CANONICAL_TO_WORLD,
    SMPL_JOINT_NAMES,
    SMPL_TPOSE_JOINTS,
)
from crocohuman.core.kinematics import smpl_forward_kinematics
from crocohuman.core.rotations import axis_angle_to_matrix, matrix_to_axis_angle, slerp_axis_angle
from crocohuman.render.motion import (
    MOTION_KINDS,
    AmassMotions,
    MotionClip,
    load_amass_npz,
    motion_source,
    sample_clip,
)
from crocohuman.render.motion.amass import resample
from crocohuman.render.motion.joint_limits import EULER_ORDER, JOINT_LIMITS_DEG

from fake_amass import smooth_poses, write_amass_classic

J = {name: i for i, name in enumerate(SMPL_JOINT_NAMES)}
FEET = [J["left_ankle"], J["right_ankle"], J["left_foot"], J["right_foot"]]


def _angle_between(r0: np.ndarray, r1: np.ndarray) -> np.ndarray:
    """Geodesic angle between batches of rotation matrices."""
    rel = np.swapaxes(r0, -1, -2) @ r1
    return np.arccos(np.clip((np.trace(rel, axis1=-2, axis2=-1) - 1) / 2, -1, 1))


def _world_joints(clip: MotionClip) -> np.ndarray:
    return smpl_forward_kinematics(clip.global_orient, clip.body_pose, SMPL_TPOSE_JOINTS, clip.transl)[0]


# --- rotations -------------------------------------------------------------------------------


def test_axis_angle_round_trip_including_zero_and_near_pi():
    rng = np.random.default_rng(0)
    axes = rng.normal(size=(200, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    angles = np.concatenate([rng.uniform(0, np.pi, 194), [0.0, 1e-9, 1e-4, np.pi - 1e-7, np.pi - 1e-12, np.pi]])
    aa = (axes * angles[:, None]).reshape(20, 10, 3)  # batch dims are kept
    rot = axis_angle_to_matrix(aa)
    assert rot.shape == (20, 10, 3, 3)
    np.testing.assert_allclose(rot, Rotation.from_rotvec(aa.reshape(-1, 3)).as_matrix().reshape(rot.shape), atol=1e-12)
    np.testing.assert_allclose(rot @ np.swapaxes(rot, -1, -2), np.broadcast_to(np.eye(3), rot.shape), atol=1e-12)
    back = matrix_to_axis_angle(rot)
    assert back.shape == aa.shape
    np.testing.assert_allclose(axis_angle_to_matrix(back), rot, atol=1e-9)
    below_pi = angles.reshape(20, 10) < np.pi - 1e-6
    np.testing.assert_allclose(back[below_pi], aa[below_pi], atol=1e-9)
    np.testing.assert_array_equal(axis_angle_to_matrix(np.zeros(3)), np.eye(3))


def test_slerp_keeps_keys_and_halves_the_angle():
    rng = np.random.default_rng(1)
    a0, a1 = rng.normal(size=(2, 5, 3))
    np.testing.assert_array_equal(slerp_axis_angle(a0, a1, 0.0), a0)
    np.testing.assert_array_equal(slerp_axis_angle(a0, a1, 1.0), a1)
    mid = axis_angle_to_matrix(slerp_axis_angle(a0, a1, 0.5))
    r0, r1 = axis_angle_to_matrix(a0), axis_angle_to_matrix(a1)
    np.testing.assert_allclose(_angle_between(r0, mid), _angle_between(mid, r1), atol=1e-9)
    np.testing.assert_allclose(2 * _angle_between(r0, mid), _angle_between(r0, r1), atol=1e-9)


def test_fk_of_the_rest_pose_is_the_tpose_stood_up_in_the_world():
    t = 3
    orient = np.tile(matrix_to_axis_angle(SMPL_CANONICAL_TO_WORLD), (t, 1))
    transl = np.array([[0.0, 0.0, 1.0], [1.0, 2.0, 1.0], [0.0, -1.0, 0.9]])
    joints, world = smpl_forward_kinematics(orient, np.zeros((t, 21, 3)), SMPL_TPOSE_JOINTS, transl)
    np.testing.assert_allclose(joints, SMPL_TPOSE_JOINTS @ SMPL_CANONICAL_TO_WORLD.T + transl[:, None], atol=1e-12)
    np.testing.assert_allclose(world, np.broadcast_to(SMPL_CANONICAL_TO_WORLD, world.shape), atol=1e-12)
    assert joints[0, J["head"], 2] > joints[0, J["pelvis"], 2] > joints[0, J["left_ankle"], 2]


def test_fk_root_rotates_about_the_root_joint_like_smpl():
    rest = SMPL_TPOSE_JOINTS + np.array([0.0, -0.2, 0.03])  # a real SMPL pelvis is off the origin
    orient = np.array([[0.3, -1.0, 0.5]])
    joints, world = smpl_forward_kinematics(orient, np.zeros((1, 21, 3)), rest, np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(joints[0, 0], rest[0] + [1.0, 2.0, 3.0])
    np.testing.assert_allclose(joints[0] - joints[0, 0], (rest - rest[0]) @ world[0, 0].T, atol=1e-12)


def _local_fk(joint: str, euler_xyz_deg: tuple[float, float, float]) -> np.ndarray:
    """Canonical-frame joints after rotating one joint by x/y/z Euler angles (EULER_ORDER)."""
    body_pose = np.zeros((1, 21, 3))
    angles = np.array(euler_xyz_deg)[["xyz".index(a.lower()) for a in EULER_ORDER]]
    body_pose[0, J[joint] - 1] = Rotation.from_euler(EULER_ORDER, angles, degrees=True).as_rotvec()
    return smpl_forward_kinematics(np.zeros((1, 3)), body_pose, SMPL_TPOSE_JOINTS)[0][0]


@pytest.mark.parametrize("side", ["left", "right"])
def test_flexion_signs_and_limits(side):
    low, high = JOINT_LIMITS_DEG
    # Knee: flexes about +x only; the ankle goes backward (-Z) and up.
    knee = J[f"{side}_knee"]
    assert low[knee, 0] == 0 and high[knee, 0] >= 120
    moved = _local_fk(f"{side}_knee", (90, 0, 0)) - SMPL_TPOSE_JOINTS
    assert moved[J[f"{side}_ankle"], 2] < -0.3 and moved[J[f"{side}_ankle"], 1] > 0.3
    # Elbow: flexes about -y (left) / +y (right) only; the T-pose wrist comes forward (+Z).
    elbow = J[f"{side}_elbow"]
    flex = low[elbow, 1] if side == "left" else high[elbow, 1]
    assert abs(flex) >= 120 and (high[elbow, 1] if side == "left" else low[elbow, 1]) == 0
    moved = _local_fk(f"{side}_elbow", (0, np.sign(flex) * 90, 0)) - SMPL_TPOSE_JOINTS
    assert moved[J[f"{side}_wrist"], 2] > 0.2
    # Hip flexion is -x: the knee comes forward.
    hip = J[f"{side}_hip"]
    assert low[hip, 0] <= -90
    assert (_local_fk(f"{side}_hip", (-60, 0, 0)) - SMPL_TPOSE_JOINTS)[J[f"{side}_knee"], 2] > 0.3


# --- sampler ---------------------------------------------------------------------------------


def test_sampler_is_deterministic():
    for kind in (None, "walk", "reach"):
        a = sample_clip(np.random.default_rng(7), 40, 30.0, kind)
        b = sample_clip(np.random.default_rng(7), 40, 30.0, kind)
        assert a.source == b.source
        for name in ("global_orient", "body_pose", "transl"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(
        sample_clip(np.random.default_rng(8), 40, 30.0, "walk").body_pose,
        sample_clip(np.random.default_rng(9), 40, 30.0, "walk").body_pose,
    )


@pytest.mark.parametrize("kind", MOTION_KINDS)
def test_every_kind_is_smooth_grounded_and_within_limits(kind):
    for seed in range(3):
        clip = sample_clip(np.random.default_rng(seed), 90, 30.0, kind)
        assert clip.source == f"sampler:{kind}" and clip.num_frames == 90 and clip.fps == 30.0
        for a in (clip.global_orient, clip.body_pose, clip.transl):
            assert np.isfinite(a).all()
        rot = axis_angle_to_matrix(np.concatenate([clip.global_orient[:, None], clip.body_pose], axis=1))
        assert _angle_between(rot[:-1], rot[1:]).max() < 0.5  # rad per frame at 30 fps
        assert np.linalg.norm(np.diff(clip.transl, axis=0), axis=1).max() < 0.2
        euler = Rotation.from_rotvec(clip.body_pose.reshape(-1, 3)).as_euler(EULER_ORDER, degrees=True)
        euler = euler[:, [EULER_ORDER.index(a) for a in "XYZ"]].reshape(90, 21, 3)
        low, high = JOINT_LIMITS_DEG[:, 1:]
        assert (euler >= low - 1e-6).all() and (euler <= high + 1e-6).all()
        lowest = _world_joints(clip)[:, FEET, 2].min(axis=1)
        assert (lowest > 0.03).all() and (lowest < 0.12).all()


@pytest.mark.parametrize("kind", ["walk", "idle"])
def test_body_is_upright(kind):
    for seed in range(3):
        joints = _world_joints(sample_clip(np.random.default_rng(seed), 60, 30.0, kind))
        ankles = joints[:, [J["left_ankle"], J["right_ankle"]], 2].max(axis=1)
        assert (joints[:, J["head"], 2] > joints[:, J["pelvis"], 2]).all()
        assert (joints[:, J["pelvis"], 2] > ankles + 0.5).all()


def test_walk_moves_forward_and_alternates_legs():
    for seed in range(4):
        clip = sample_clip(np.random.default_rng(seed), 90, 30.0, "walk")
        facing = (axis_angle_to_matrix(clip.global_orient[0]) @ [0.0, 0.0, 1.0])[:2]
        forward = (clip.transl[-1, :2] - clip.transl[0, :2]) @ (facing / np.linalg.norm(facing))
        assert forward > 0.8  # metres in 3 s
        hips = Rotation.from_rotvec(clip.body_pose[:, :2].reshape(-1, 3)).as_euler(EULER_ORDER)[:, 0].reshape(-1, 2)
        assert np.corrcoef(hips[:, 0], hips[:, 1])[0, 1] < -0.5
        feet = _world_joints(clip)[:, FEET, 2]
        left_lower = np.minimum(feet[:, 0], feet[:, 2]) < np.minimum(feet[:, 1], feet[:, 3])
        assert 0.25 < left_lower.mean() < 0.75


def test_sampler_rejects_unknown_kind_and_random_kind_is_known():
    with pytest.raises(ValueError, match="unknown motion kind"):
        sample_clip(np.random.default_rng(0), 10, 30.0, "moonwalk")
    assert sample_clip(np.random.default_rng(0), 10).source.removeprefix("sampler:") in MOTION_KINDS


def test_motion_source_specs(tmp_path):
    rng = np.random.default_rng(0)
    assert motion_source().sample_clip(rng, 12, 30.0).num_frames == 12
    assert motion_source("sampler:squat").sample_clip(rng, 12, 24.0).source == "sampler:squat"
    write_amass_classic(tmp_path / "A" / "s1" / "a_poses.npz", 60, 120.0)
    assert motion_source(f"amass:{tmp_path}").sample_clip(rng, 5, 30.0).source == "amass:A/s1/a_poses.npz"
    for bad in ("mocap", "amass:", "sampler:moonwalk"):
        with pytest.raises(ValueError):
            motion_source(bad)


# --- AMASS -----------------------------------------------------------------------------------


def _write_stageii(path: Path, num_frames: int, fps: float) -> dict:
    poses = smooth_poses(num_frames, 165, 1)
    data = {
        "root_orient": poses[:, :3],
        "pose_body": poses[:, 3:66],
        "pose_jaw": poses[:, 66:69],
        "pose_eye": poses[:, 69:75],
        "pose_hand": poses[:, 75:],
        "trans": np.zeros((num_frames, 3)),
        "betas": np.zeros(16),
        "gender": np.array(b"female"),
        "mocap_frame_rate": np.array(fps),
        "mocap_time_length": np.array(num_frames / fps),
        "surface_model_type": np.array("smplx"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **data)
    return data


def test_load_classic_and_stageii_layouts(tmp_path):
    data = write_amass_classic(tmp_path / "CMU" / "01" / "01_01_poses.npz", 50, 120.0)
    clip = load_amass_npz(tmp_path / "CMU" / "01" / "01_01_poses.npz", tmp_path)
    assert clip.source == "amass:CMU/01/01_01_poses.npz" and clip.fps == 120.0 and clip.gender == "male"
    np.testing.assert_array_equal(clip.global_orient, data["poses"][:, :3])
    np.testing.assert_array_equal(clip.body_pose.reshape(50, 63), data["poses"][:, 3:66])
    np.testing.assert_array_equal(clip.hand_pose.reshape(50, 90), data["poses"][:, 66:])
    np.testing.assert_array_equal(clip.transl, data["trans"])
    np.testing.assert_array_equal(clip.betas, data["betas"])

    data = _write_stageii(tmp_path / "x_stageii.npz", 30, 60.0)
    clip = load_amass_npz(tmp_path / "x_stageii.npz")
    assert clip.source == "amass:x_stageii.npz" and clip.fps == 60.0 and clip.gender == "female"
    np.testing.assert_array_equal(clip.body_pose.reshape(30, 63), data["pose_body"])
    np.testing.assert_array_equal(clip.hand_pose.reshape(30, 90), data["pose_hand"])

    poses = smooth_poses(10, 165, 2)  # SMPL-X flat layout: jaw and eyes before the hands
    np.savez(tmp_path / "flat.npz", poses=poses, trans=np.zeros((10, 3)), mocap_frame_rate=np.array(30.0))
    clip = load_amass_npz(tmp_path / "flat.npz")
    np.testing.assert_array_equal(clip.hand_pose.reshape(10, 90), poses[:, 75:])
    assert clip.betas is None and clip.gender is None


@pytest.mark.parametrize(
    "problem, writer",
    [
        ("trans", lambda p: np.savez(p, poses=np.zeros((5, 156)), mocap_framerate=np.array(30.0))),
        ("frame rate", lambda p: np.savez(p, poses=np.zeros((5, 156)), trans=np.zeros((5, 3)))),
        (
            "poses has shape",
            lambda p: np.savez(p, poses=np.zeros((5, 100)), trans=np.zeros((5, 3)), mocap_framerate=np.array(30.0)),
        ),
        (
            "trans has shape",
            lambda p: np.savez(p, poses=np.zeros((5, 156)), trans=np.zeros((4, 3)), mocap_framerate=np.array(30.0)),
        ),
        ("", lambda p: p.write_bytes(b"PK\x03\x04 truncated")),
    ],
)
def test_malformed_file_names_file_and_problem(tmp_path, problem, writer):
    path = tmp_path / "bad_poses.npz"
    writer(path)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + re.escape(problem)):
        load_amass_npz(path)


def test_resample_120_to_30_keeps_common_instants(tmp_path):
    write_amass_classic(tmp_path / "a.npz", 120, 120.0)
    clip = load_amass_npz(tmp_path / "a.npz")
    low = resample(clip, 30.0)
    assert low.num_frames == 30 and low.fps == 30.0
    np.testing.assert_array_equal(low.global_orient, clip.global_orient[::4])
    np.testing.assert_array_equal(low.body_pose, clip.body_pose[::4])
    np.testing.assert_array_equal(low.hand_pose, clip.hand_pose[::4])
    np.testing.assert_array_equal(low.transl, clip.transl[::4])
    # In between, slerp lies between the neighbouring source frames.
    mid = resample(clip, 240.0, start_frame=10, num_frames=2)
    r = axis_angle_to_matrix(np.stack([clip.body_pose[10], mid.body_pose[1], clip.body_pose[11]]))
    np.testing.assert_allclose(_angle_between(r[0], r[1]), _angle_between(r[1], r[2]), atol=1e-9)
    np.testing.assert_allclose(mid.transl[1], clip.transl[10:12].mean(axis=0))


def test_amass_motions_windows_and_fallback(tmp_path):
    write_amass_classic(tmp_path / "S" / "1" / "long_poses.npz", 240, 120.0, seed=3)
    write_amass_classic(tmp_path / "S" / "2" / "short_poses.npz", 40, 120.0, seed=4)
    np.savez(tmp_path / "S" / "1" / "shape.npz", betas=np.zeros(16), gender=np.array("male"))
    motions = AmassMotions(tmp_path)
    assert [p.name for p in motions.files] == ["long_poses.npz", "short_poses.npz"]
    source = load_amass_npz(tmp_path / "S" / "1" / "long_poses.npz")
    for seed in range(5):
        clip = motions.sample_clip(np.random.default_rng(seed), 20, 30.0)
        assert clip.num_frames == 20 and clip.fps == 30.0 and clip.source == "amass:S/1/long_poses.npz"
        start = clip.extra["start_frame"]
        assert 0 <= start and start + 19 * 4 <= 239
        np.testing.assert_array_equal(clip.body_pose, source.body_pose[start : start + 77 : 4])
    again = motions.sample_clip(np.random.default_rng(3), 20, 30.0)
    np.testing.assert_array_equal(again.transl, motions.sample_clip(np.random.default_rng(3), 20, 30.0).transl)
    # Too long for any file: the longest, from its start, holding its last frame.
    clip = motions.sample_clip(np.random.default_rng(0), 100, 30.0)
    assert clip.source == "amass:S/1/long_poses.npz" and clip.num_frames == 100
    np.testing.assert_array_equal(clip.body_pose[:60], source.body_pose[::4])
    np.testing.assert_array_equal(clip.body_pose[60:], np.broadcast_to(source.body_pose[-1], (40, 21, 3)))


def test_amass_motions_skip_corrupt_files_with_one_warning(tmp_path):
    good = tmp_path / "S" / "1" / "good_poses.npz"
    write_amass_classic(good, 120, 120.0)
    corrupt = tmp_path / "S" / "1" / "corrupt_poses.npz"
    corrupt.write_bytes(good.read_bytes()[:300])  # truncated download
    motions = AmassMotions(tmp_path)
    with pytest.warns(UserWarning, match=re.escape(str(corrupt))):
        clips = [motions.sample_clip(np.random.default_rng(seed), 10, 30.0) for seed in range(6)]
    assert all(c.source == "amass:S/1/good_poses.npz" for c in clips)
    assert motions.num_skipped == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning for the same file
        for seed in range(6):
            motions.sample_clip(np.random.default_rng(seed), 10, 30.0)


def test_amass_clip_and_report_do_not_depend_on_files_met_before(tmp_path):
    """A process that already knows the corrupt and the too-short files picks the same clip and
    reports the same skipped files for a draw as a fresh one."""
    write_amass_classic(tmp_path / "S" / "1" / "long_poses.npz", 240, 120.0)
    write_amass_classic(tmp_path / "S" / "1" / "short_poses.npz", 12, 120.0)
    corrupt = tmp_path / "S" / "1" / "corrupt_poses.npz"
    corrupt.write_bytes((tmp_path / "S" / "1" / "long_poses.npz").read_bytes()[:300])
    warm = AmassMotions(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(10):
            warm.sample_clip(np.random.default_rng(seed), 20, 30.0)
        assert warm.num_skipped == 1
        warm.drain_skipped()
        reports = []
        for seed in range(10):
            fresh = AmassMotions(tmp_path)
            a, b = np.random.default_rng(seed), np.random.default_rng(seed)
            clip = fresh.sample_clip(a, 20, 30.0)
            again = warm.sample_clip(b, 20, 30.0)
            assert clip.source == again.source == "amass:S/1/long_poses.npz"
            np.testing.assert_array_equal(clip.body_pose, again.body_pose)
            assert a.random() == b.random()
            reports.append(fresh.drain_skipped())
            assert reports[-1] == warm.drain_skipped()
    assert [corrupt] in reports and [] in reports  # drawn before the long file in some orders only


def test_amass_motions_errors_name_the_directory(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing)) + ".*<sub-dataset>/<subject>/\\*_poses.npz"):
        AmassMotions(missing)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty"):
        AmassMotions(tmp_path / "empty")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("a_poses.npz", "b_poses.npz"):
        (broken / name).write_bytes(b"PK\x03\x04 not really a zip")
    motions = AmassMotions(broken)
    with (
        pytest.warns(UserWarning, match="skipping AMASS file"),
        pytest.raises(ValueError, match=re.escape(str(broken))),
    ):
        motions.sample_clip(np.random.default_rng(0), 10, 30.0)
    assert motions.num_skipped == 2
