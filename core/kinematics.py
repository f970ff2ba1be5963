"""SMPL forward kinematics: one tree walk for the renderer (numpy, float64) and the heads (torch,
differentiable), so a predicted pose and the synthetic ground truth give the same joints.

Matches SMPL's linear blend skinning (smplx ``batch_rigid_transform``): the root rotates about its
own rest position, and each child is ``joints[p] + R_world[p] @ (rest[j] - rest[p])``.
"""

from __future__ import annotations

import numpy as np

from crocohuman.core.conventions import (
    MANO_HAND_PARENTS,
    MANO_TIP_PARENTS,
    MANO_TPOSE_RIGHT_HAND,
    NUM_BODY_JOINTS,
    SMPL_PARENTS,
)
from crocohuman.core.rotations import array_namespace, axis_angle_to_matrix


def _rotate(rotation, vector):
    """``rotation @ vector`` for one shared vector (3,) or one per batch item (..., 3)."""
    if vector.ndim == 1:
        return rotation @ vector
    return (rotation @ vector[..., None])[..., 0]


def forward_kinematics(local_rotmats, rest_joints, parents: tuple[int, ...] = SMPL_PARENTS):
    """World joints (..., J, 3) and world rotations (..., J, 3, 3) of a posed tree.

    ``local_rotmats`` (..., J, 3, 3) are each joint's rotation relative to its parent (the root's is
    global); ``rest_joints`` (J, 3) or (..., J, 3) are the rest positions. Parents precede children.
    numpy arrays or torch tensors.
    """
    xp = array_namespace(local_rotmats)
    batch = local_rotmats.shape[:-3]
    world = [local_rotmats[..., 0, :, :]]
    joints = [xp.broadcast(rest_joints[..., 0, :], (*batch, 3))]
    for j in range(1, len(parents)):
        p = parents[j]
        joints.append(joints[p] + _rotate(world[p], rest_joints[..., j, :] - rest_joints[..., p, :]))
        world.append(world[p] @ local_rotmats[..., j, :, :])
    return xp.stack(joints, -2), xp.stack(world, -3)


def smpl_forward_kinematics(
    global_orient: np.ndarray,
    body_pose: np.ndarray,
    rest_joints: np.ndarray,
    transl: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """World joint positions (T, 24, 3) and world rotations (T, 24, 3, 3) of a posed SMPL tree, float64.

    Axis-angle in: ``global_orient`` (T, 3), ``body_pose`` (T, 21, 3); SMPL's two hand joints
    (22, 23) get the identity local rotation, as in AMASS. ``joints[:, 0] = rest_joints[0] + transl``.
    ``rest_joints`` are in the SMPL canonical frame.
    """
    global_orient = np.asarray(global_orient, dtype=np.float64)
    body_pose = np.asarray(body_pose, dtype=np.float64)
    rest = np.asarray(rest_joints, dtype=np.float64)
    local_aa = np.zeros((len(global_orient), len(SMPL_PARENTS), 3))
    local_aa[:, 0] = global_orient
    local_aa[:, 1 : NUM_BODY_JOINTS + 1] = body_pose
    joints, world = forward_kinematics(axis_angle_to_matrix(local_aa), rest)
    if transl is not None:
        joints = joints + np.asarray(transl, dtype=np.float64)[:, None]
    return joints, world


def tpose_hand(side: int) -> np.ndarray:
    """The idealised flat hand (21, 3) of a side (0 left, 1 right; ``conventions.HAND_SIDES``), relative
    to its wrist, in the SMPL canonical frame: ``MANO_TPOSE_RIGHT_HAND``, mirrored for the left."""
    return MANO_TPOSE_RIGHT_HAND * np.array([1.0 if side else -1.0, 1.0, 1.0])


def hand_forward_kinematics(
    wrist_rotation: np.ndarray, wrist_position: np.ndarray, hand_pose: np.ndarray, side: int
) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints (..., 21, 3) in ``MANO_JOINT_NAMES`` row order and world rotations (..., 16, 3, 3)
    (wrist, then the 15 finger joints) of the idealised hand of one side, float64.

    ``wrist_rotation`` (..., 3, 3) and ``wrist_position`` (..., 3) place the wrist (e.g. from
    ``smpl_forward_kinematics``); ``hand_pose`` (..., 15, 3) is axis-angle in MANO's finger order.
    """
    rest = tpose_hand(side)
    hand_pose = np.asarray(hand_pose, dtype=np.float64)
    local = np.concatenate([np.asarray(wrist_rotation)[..., None, :, :], axis_angle_to_matrix(hand_pose)], -3)
    joints, world = forward_kinematics(local, rest[:16], MANO_HAND_PARENTS)
    last = list(MANO_TIP_PARENTS)
    tips = joints[..., last, :] + (world[..., last, :, :] @ (rest[16:] - rest[last])[..., None])[..., 0]
    keypoints = np.concatenate([joints, tips], -2) + np.asarray(wrist_position)[..., None, :]
    return keypoints, world
