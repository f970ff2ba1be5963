"""Drive anny with SMPL-convention motion (AMASS or the built-in sampler), no SMPL files needed.

SMPL's joints all share the canonical axes at rest, so a motion gives every SMPL joint a world
rotation ``Rw[j]`` (forward kinematics on the public kinematic tree), and, through the wrists, every
SMPL-H / MANO finger joint one too (the idealised hand ``MANO_TPOSE_RIGHT_HAND``). An anny bone driven
by joint ``j`` gets the same world rotation, after two fixed corrections: ``W0^T`` takes anny's Z-up
rest frame to SMPL's canonical one, and ``C[j]`` turns anny's rest bone direction (A-pose arms,
relaxed fingers, ...) onto SMPL's T-pose / flat-hand direction. At the wrists and fingers ``C[j]``
also turns anny's palm normal onto SMPL-H's, so fingers flex about the axis they flex about in SMPL-H.
Bones then carry their world orientation (anny's 'world-orient' parameterisation), heads following
their parents, so limb and finger directions match SMPL-H's exactly.
"""

from __future__ import annotations

import functools

import numpy as np

from crocohuman.core.conventions import (
    HAND_SIDES,
    MANO_HAND_PARENTS,
    MANO_TIP_PARENTS,
    NUM_HAND_JOINTS,
    SMPL_CANONICAL_TO_WORLD,
    SMPL_JOINT_NAMES,
    SMPL_PARENTS,
    SMPL_TPOSE_JOINTS,
)
from crocohuman.core.kinematics import hand_forward_kinematics, smpl_forward_kinematics, tpose_hand
from crocohuman.core.rotations import cross, rotation_aligning, rotation_between
from crocohuman.render.body.anny_hands import hand_joint_of_bone
from crocohuman.render.body.anny_rig import DIRECTION_CHILD, driving_joint, joint_bone_indices
from crocohuman.render.motion.clip import MotionClip

# SMPL's template puts the pelvis joint this far from the model origin (canonical frame, metres);
# AMASS translations are relative to that origin.
SMPL_TEMPLATE_PELVIS = np.array([0.0, -0.22, 0.03])
NUM_SMPL_JOINTS = len(SMPL_JOINT_NAMES)
WRISTS = tuple(SMPL_JOINT_NAMES.index(f"{side}_wrist") for side in HAND_SIDES)
# Within a hand's 21 MANO rows: the row giving each finger joint's bone direction (next joint or tip).
_HAND_CHILD = {
    **{parent: child for child, parent in enumerate(MANO_HAND_PARENTS) if parent > 0},
    **{parent: 16 + k for k, parent in enumerate(MANO_TIP_PARENTS)},
}


def palm_normal(hand: np.ndarray) -> np.ndarray:
    """A hand's palm normal (..., 3) from its MANO rows (..., 21, 3): index1 and pinky1 seen from the wrist."""
    return cross(hand[..., 1, :] - hand[..., 0, :], hand[..., 7, :] - hand[..., 0, :])


def rest_corrections(anny_rest_joints_world: np.ndarray, anny_rest_hands_world: np.ndarray) -> np.ndarray:
    """Per SMPL joint, then per hand joint (left 15, right 15), the rotation (canonical frame) from
    anny's rest bone (and palm, at wrists and fingers) to SMPL-H's; (24 + 30, 3, 3).

    ``anny_rest_hands_world`` (2, 21, 3) are anny's rest hand keypoints in MANO row order.
    """
    anny_canonical = anny_rest_joints_world @ SMPL_CANONICAL_TO_WORLD  # W0^T x, row vectors
    anny_hands = anny_rest_hands_world @ SMPL_CANONICAL_TO_WORLD
    ideal_hands = np.stack([tpose_hand(side) for side in range(len(HAND_SIDES))])
    palm_from, palm_to = palm_normal(anny_hands), palm_normal(ideal_hands)
    corrections = np.tile(np.eye(3), (NUM_SMPL_JOINTS + len(HAND_SIDES) * NUM_HAND_JOINTS, 1, 1))
    joints, children = np.array(list(DIRECTION_CHILD.items())).T
    sources = anny_canonical[children] - anny_canonical[joints]
    targets = SMPL_TPOSE_JOINTS[children] - SMPL_TPOSE_JOINTS[joints]
    corrections[joints] = rotation_between(sources, targets)  # all at once: one call per take, not per joint
    for side, wrist in enumerate(WRISTS):  # the palm fixes the hand's roll, so fingers flex the SMPL-H way
        k = list(joints).index(wrist)
        corrections[wrist] = rotation_aligning(sources[k], palm_from[side], targets[k], palm_to[side])
    for joint in range(1, NUM_SMPL_JOINTS):  # parents precede children in SMPL order
        if joint not in DIRECTION_CHILD:
            corrections[joint] = corrections[SMPL_PARENTS[joint]]
    rows, children = np.array(list(_HAND_CHILD.items())).T
    corrections[NUM_SMPL_JOINTS:] = rotation_aligning(  # every finger joint of both hands in one call
        anny_hands[:, children] - anny_hands[:, rows],
        palm_from[:, None],
        ideal_hands[:, children] - ideal_hands[:, rows],
        palm_to[:, None],
    )[:, np.argsort(rows)].reshape(-1, 3, 3)
    return corrections


def world_rotations(clip: MotionClip) -> np.ndarray:
    """World rotations (T, 24 + 30, 3, 3) of the SMPL joints, then the left and right finger joints."""
    joints, body = smpl_forward_kinematics(clip.global_orient, clip.body_pose, SMPL_TPOSE_JOINTS, clip.transl)
    hands = [
        hand_forward_kinematics(body[:, wrist], joints[:, wrist], clip.hand_pose[:, side], side)[1][:, 1:]
        for side, wrist in enumerate(WRISTS)
    ]
    return np.concatenate([body, *hands], axis=1)


@functools.cache
def bone_drivers(bone_labels: tuple[str, ...]) -> np.ndarray:
    """Per anny bone, the joint (index into ``world_rotations``) whose rotation drives it (a rig's
    constant: cached, as matching 104 labels costs ~3 ms)."""
    hand_joints = [hand_joint_of_bone(label) for label in bone_labels]
    return np.array(
        [
            driving_joint(label) if hand is None else NUM_SMPL_JOINTS + hand
            for label, hand in zip(bone_labels, hand_joints, strict=True)
        ]
    )


def anny_world_orient_pose(
    clip: MotionClip, rest_bone_poses: np.ndarray, bone_labels: list[str], rest_hands: np.ndarray
) -> np.ndarray:
    """anny 'world-orient' pose parameters (T, bones, 4, 4) reproducing an SMPL-H motion.

    ``rest_bone_poses`` are anny's rest bone poses (bones, 4, 4) for the identity being posed,
    ``rest_hands`` its rest hand keypoints (2, 21, 3) in MANO row order (``anny_hands``).
    """
    rest_heads = rest_bone_poses[:, :3, 3]
    anny_joints = rest_heads[joint_bone_indices(bone_labels)]
    corrections = rest_corrections(anny_joints, rest_hands)
    # Scale the root path by leg length so a child does not skate through an adult's steps.
    smpl_leg = np.linalg.norm(SMPL_TPOSE_JOINTS[4] - SMPL_TPOSE_JOINTS[1]) + np.linalg.norm(
        SMPL_TPOSE_JOINTS[7] - SMPL_TPOSE_JOINTS[4]
    )
    anny_leg = np.linalg.norm(anny_joints[4] - anny_joints[1]) + np.linalg.norm(anny_joints[7] - anny_joints[4])
    pelvis = clip.transl + SMPL_TEMPLATE_PELVIS  # SMPL turns the root about its own rest position

    drivers = bone_drivers(tuple(bone_labels))
    # G_b = Rw[j] C[j] W0^T: rest-to-posed world rotation of each bone; D_b = G_b R_b.
    to_canonical = corrections @ SMPL_CANONICAL_TO_WORLD.T  # (54, 3, 3)
    g = world_rotations(clip)[:, drivers] @ to_canonical[drivers]  # (T, bones, 3, 3)
    pose = np.zeros((clip.num_frames, len(bone_labels), 4, 4))
    pose[..., :3, :3] = g @ rest_bone_poses[:, :3, :3]
    pose[..., 3, 3] = 1.0
    pose[:, 0, :3, 3] = pelvis * (anny_leg / smpl_leg)
    return pose
