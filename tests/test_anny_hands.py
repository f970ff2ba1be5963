"""anny's fingers driven by SMPL-H / MANO hand poses (AMASS or the sampler), and its hand keypoints."""

from __future__ import annotations

import numpy as np
import pytest

from crocohuman.core.conventions import (
    HAND_KEYPOINT_NAMES,
    MANO_HAND_PARENTS,
    MANO_TIP_PARENTS,
    MANO_TO_FREIHAND,
    SMPL_CANONICAL_TO_WORLD,
    SMPL_JOINT_NAMES,
    SMPL_TPOSE_JOINTS,
)
from crocohuman.core.kinematics import hand_forward_kinematics, smpl_forward_kinematics
from crocohuman.core.rotations import matrix_to_axis_angle
from crocohuman.render.body.anny_body import AnnyBody
from crocohuman.render.motion import AmassMotions, MotionClip, sample_clip
from tests.fake_amass import write_amass_classic

# Bones of the hand as (joint row, child row) in MANO rows: each finger joint to the next, the last to the tip.
BONES = [(parent, child) for child, parent in enumerate(MANO_HAND_PARENTS) if parent > 0] + [
    (parent, 16 + k) for k, parent in enumerate(MANO_TIP_PARENTS)
]
FREIHAND_TO_MANO = np.argsort(MANO_TO_FREIHAND)


@pytest.fixture(scope="module")
def anny():
    return AnnyBody(texture_size=256)


def _directions(rows: np.ndarray) -> np.ndarray:
    d = np.stack([rows[..., child, :] - rows[..., joint, :] for joint, child in BONES], -2)
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


def _expected_hands(clip: MotionClip) -> np.ndarray:
    """(T, 2, 21, 3) MANO-row keypoints of the idealised SMPL-H hands the clip poses."""
    joints, world = smpl_forward_kinematics(clip.global_orient, clip.body_pose, SMPL_TPOSE_JOINTS, clip.transl)
    wrists = [SMPL_JOINT_NAMES.index(f"{side}_wrist") for side in ("left", "right")]
    return np.stack(
        [hand_forward_kinematics(world[:, w], joints[:, w], clip.hand_pose[:, s], s)[0] for s, w in enumerate(wrists)],
        1,
    )


def _bone_angles(anny, clip: MotionClip, seed: int = 0) -> np.ndarray:
    """Per frame, side and hand bone, degrees between anny's bone and the SMPL-H expectation."""
    posed = anny.pose(anny.sample_identity(np.random.default_rng(seed)), clip)
    assert posed.hand_joints.shape == (clip.num_frames, 2, 21, 3)
    anny_rows = posed.hand_joints.astype(np.float64)[..., FREIHAND_TO_MANO, :]
    cos = (_directions(anny_rows) * _directions(_expected_hands(clip))).sum(-1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def test_amass_hands_drive_anny_fingers_like_smpl_h(anny, tmp_path):
    """Random smooth SMPL-H hand poses (every axis, 0.4 rad amplitude): all 15 bones of each anny hand
    (joint to next joint, last joint to the tip vertex) point where SMPL-H's do. The retargeting makes
    this exact (rest corrections map anny's rest bones onto SMPL-H's, and the tip vertices are skinned
    to the last phalanx alone); what is left is float32 skinning, measured at 0.001 degrees."""
    write_amass_classic(tmp_path / "CMU" / "01" / "01_01_poses.npz", 40, 30.0, seed=3, upright=True)
    clip = AmassMotions(tmp_path).sample_clip(np.random.default_rng(0), 6, 30.0)
    assert np.abs(clip.hand_pose).max() > 0.3
    angles = _bone_angles(anny, clip)
    assert angles.max() < 0.05, angles.max(axis=(0, 1)).round(3)


def test_sampled_hand_shapes_drive_anny_fingers(anny):
    clip = sample_clip(np.random.default_rng(5), 8, 10.0, "wave")
    assert _bone_angles(anny, clip, seed=1).max() < 0.05


def _t_pose_clip(hand_pose: np.ndarray) -> MotionClip:
    frames = len(hand_pose)
    orient = np.tile(matrix_to_axis_angle(SMPL_CANONICAL_TO_WORLD), (frames, 1))  # stand up, face -Y
    return MotionClip(orient, np.zeros((frames, 21, 3)), np.zeros((frames, 3)), 30.0, "test", hand_pose=hand_pose)


def test_index_flexed_90_degrees_bends_anny_index_down(anny):
    """T-pose, palms down: flexing MANO's index1 by 90 degrees (left about canonical -Z, right about
    +Z) turns anny's index phalanges from pointing outward to pointing at the floor; the other
    fingers stay where they were."""
    hand_pose = np.zeros((2, 2, 15, 3))
    hand_pose[1, 0, 0] = [0.0, 0.0, -np.pi / 2]
    hand_pose[1, 1, 0] = [0.0, 0.0, np.pi / 2]
    posed = anny.pose(anny.sample_identity(np.random.default_rng(0)), _t_pose_clip(hand_pose))
    keypoints = posed.hand_joints.astype(np.float64)
    index = [HAND_KEYPOINT_NAMES.index(n) for n in ("index1", "index2", "index3", "index_tip")]
    phalanges = np.diff(keypoints[:, :, index], axis=2)
    phalanges /= np.linalg.norm(phalanges, axis=-1, keepdims=True)
    for side, outward in enumerate((1.0, -1.0)):  # the left arm points to +X
        flat, bent = phalanges[0, side], phalanges[1, side]
        assert (flat[:2, 0] * outward > 0.95).all()  # straight out, within 18 degrees
        turned = np.degrees(np.arccos(np.clip((flat * bent).sum(-1), -1, 1)))
        np.testing.assert_allclose(turned[:2], 90.0, atol=1.0)
        assert (bent[:2, 2] < -0.95).all()  # the proximal and middle phalanges point down
        axis = np.cross(flat[0], bent[0])
        assert abs(axis[1]) > 0.97 * np.linalg.norm(axis)  # about the body's front-back axis
    others = [i for i, n in enumerate(HAND_KEYPOINT_NAMES) if not n.startswith("index")]
    np.testing.assert_allclose(keypoints[1][:, others], keypoints[0][:, others], atol=2e-3)


def test_fingertips_are_the_ends_of_the_fingers(anny):
    """Each tip vertex lies beyond its last joint, along the finger, 1-3 cm out; the two hands mirror."""
    posed = anny.pose(anny.sample_identity(np.random.default_rng(0)), _t_pose_clip(np.zeros((1, 2, 15, 3))))
    keypoints = posed.hand_joints[0].astype(np.float64)
    for finger in ("thumb", "index", "middle", "ring", "pinky"):
        j2, j3, tip = (HAND_KEYPOINT_NAMES.index(f"{finger}{k}") for k in ("2", "3", "_tip"))
        along = keypoints[:, tip] - keypoints[:, j3]
        bone = keypoints[:, j3] - keypoints[:, j2]
        length = np.linalg.norm(along, axis=-1)
        assert ((0.01 < length) & (length < 0.035)).all(), (finger, length)
        cos = (along * bone).sum(-1) / length / np.linalg.norm(bone, axis=-1)
        assert (cos > 0.9).all(), (finger, cos)
    np.testing.assert_array_equal(anny.tips[0] != anny.tips[1], True)
