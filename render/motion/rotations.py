"""Batched rotation helpers and SMPL forward kinematics, in numpy, for the motion modules.

Axis-angle vectors are the SMPL/AMASS pose format; rotation matrices are what we compose and
interpolate. Every function works on any number of leading batch dimensions.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from crocohuman.render.conventions import NUM_BODY_JOINTS, SMPL_PARENTS


def _cross_matrix(v: np.ndarray) -> np.ndarray:
    """(..., 3) -> (..., 3, 3) skew matrices K with K @ u = v x u."""
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    zero = np.zeros_like(x)
    return np.stack([
        np.stack([zero, -z, y], -1),
        np.stack([z, zero, -x], -1),
        np.stack([-y, x, zero], -1),
    ], -2)


def axis_angle_to_matrix(aa: np.ndarray) -> np.ndarray:
    """(..., 3) axis-angle -> (..., 3, 3) rotation matrices (Rodrigues).

    Written with sinc so it is exact and branch-free at zero angle, the most common SMPL value.
    """
    aa = np.asarray(aa, dtype=np.float64)
    theta = np.linalg.norm(aa, axis=-1)[..., None, None]
    k = _cross_matrix(aa)
    a = np.sinc(theta / np.pi)  # sin(theta) / theta
    b = 0.5 * np.sinc(theta / (2.0 * np.pi)) ** 2  # (1 - cos(theta)) / theta^2
    return np.eye(3) + a * k + b * (k @ k)


def matrix_to_axis_angle(rot: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 3) axis-angle with angle in [0, pi].

    Goes through quaternions (scipy), which stays accurate near pi where the trace formula fails.
    """
    rot = np.asarray(rot, dtype=np.float64)
    flat = Rotation.from_matrix(rot.reshape(-1, 3, 3)).as_rotvec()
    return flat.reshape(rot.shape[:-2] + (3,))


def slerp_axis_angle(aa0: np.ndarray, aa1: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """Rotation a fraction ``t`` of the way along the geodesic from ``aa0`` to ``aa1``.

    ``aa0``/``aa1`` are (..., 3), ``t`` broadcasts against their batch shape. At t = 0 and t = 1
    the inputs are returned unchanged, so resampling at a source instant reproduces it exactly.
    """
    aa0 = np.asarray(aa0, dtype=np.float64)
    aa1 = np.asarray(aa1, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)[..., None]
    r0 = axis_angle_to_matrix(aa0)
    delta = matrix_to_axis_angle(np.swapaxes(r0, -1, -2) @ axis_angle_to_matrix(aa1))
    between = matrix_to_axis_angle(r0 @ axis_angle_to_matrix(t * delta))
    return np.where(t == 0.0, aa0, np.where(t == 1.0, aa1, between))


def smpl_forward_kinematics(
    global_orient: np.ndarray,
    body_pose: np.ndarray,
    rest_joints: np.ndarray,
    transl: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """World joint positions (T, 24, 3) and world rotations (T, 24, 3, 3) of a posed SMPL tree.

    Matches SMPL's linear blend skinning (smplx ``batch_rigid_transform``): the root rotates
    about its own rest position, so ``joints[:, 0] = rest_joints[0] + transl``, and each child is
    ``joints[p] + R_world[p] @ (rest[j] - rest[p])``. SMPL's two hand joints (22, 23) get the
    identity local rotation, as in AMASS. ``rest_joints`` are in the SMPL canonical frame.
    """
    global_orient = np.asarray(global_orient, dtype=np.float64)
    body_pose = np.asarray(body_pose, dtype=np.float64)
    rest = np.asarray(rest_joints, dtype=np.float64)
    num_frames = len(global_orient)
    num_joints = len(SMPL_PARENTS)
    local_aa = np.zeros((num_frames, num_joints, 3))
    local_aa[:, 0] = global_orient
    local_aa[:, 1:NUM_BODY_JOINTS + 1] = body_pose
    local = axis_angle_to_matrix(local_aa)

    world = np.empty_like(local)
    joints = np.empty((num_frames, num_joints, 3))
    world[:, 0] = local[:, 0]
    joints[:, 0] = rest[0]
    for j in range(1, num_joints):
        p = SMPL_PARENTS[j]
        world[:, j] = world[:, p] @ local[:, j]
        joints[:, j] = joints[:, p] + world[:, p] @ (rest[j] - rest[p])
    if transl is not None:
        joints += np.asarray(transl, dtype=np.float64)[:, None]
    return joints, world
