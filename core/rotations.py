"""Rotation helpers, batched over any leading dimensions: axis-angle (the SMPL/AMASS pose format)
and rotation matrices (what we compose and interpolate).

``axis_angle_to_matrix`` and ``kinematics.forward_kinematics`` run on numpy arrays and on torch
tensors alike (differentiable, dtype and device kept): ``array_namespace`` takes torch's functions
from the tensor's own, already loaded module, so this package never imports torch. The rest is
numpy (float64).
"""

from __future__ import annotations

import math
import sys
from types import SimpleNamespace

import numpy as np
from scipy.spatial.transform import Rotation


def array_namespace(x) -> SimpleNamespace:
    """The few array functions the shared rotation code needs, from numpy or from torch."""
    if type(x).__module__.partition(".")[0] != "torch":
        return SimpleNamespace(
            asarray=lambda a: np.asarray(a, dtype=np.float64),
            norm=lambda a: np.linalg.norm(a, axis=-1),
            sinc=np.sinc,
            stack=np.stack,
            zeros_like=np.zeros_like,
            eye=lambda _like: np.eye(3),
            broadcast=np.broadcast_to,
        )
    torch = sys.modules["torch"]
    return SimpleNamespace(
        asarray=lambda a: a,
        norm=lambda a: torch.linalg.vector_norm(a, dim=-1),
        sinc=torch.sinc,
        stack=lambda items, axis: torch.stack(items, dim=axis),
        zeros_like=torch.zeros_like,
        eye=lambda like: torch.eye(3, dtype=like.dtype, device=like.device),
        broadcast=lambda a, shape: a.expand(shape),
    )


def cross(a, b, axis: int = -1) -> np.ndarray:
    """a x b of 3-vectors along ``axis`` (the last, or 0 for planar rows (3, ...)), broadcast, written
    out: ``np.cross`` spends 20-80 µs on axis handling, and a take asks for dozens of small cross
    products (framing, retargeting)."""
    if axis not in (0, -1):
        raise ValueError(f"cross: axis must be 0 or -1, not {axis}")
    a, b = np.asarray(a), np.asarray(b)
    ax, ay, az = a if axis == 0 else (a[..., 0], a[..., 1], a[..., 2])
    bx, by, bz = b if axis == 0 else (b[..., 0], b[..., 1], b[..., 2])
    return np.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], axis=axis)


def cross_matrix(v):
    """(..., 3) -> (..., 3, 3) skew matrices K with K @ u = v x u."""
    xp = array_namespace(v)
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    zero = xp.zeros_like(x)
    return xp.stack(
        [
            xp.stack([zero, -z, y], -1),
            xp.stack([z, zero, -x], -1),
            xp.stack([-y, x, zero], -1),
        ],
        -2,
    )


def axis_angle_to_matrix(aa):
    """(..., 3) axis-angle -> (..., 3, 3) rotation matrices (Rodrigues: I + sin(t)/t K + (1 - cos t)/t^2 K^2).

    Written with sinc so the value and the gradient are exact and branch-free at zero angle, the
    most common SMPL value. numpy input is computed in float64.
    """
    xp = array_namespace(aa)
    aa = xp.asarray(aa)
    theta = xp.norm(aa)[..., None, None]
    k = cross_matrix(aa)
    a = xp.sinc(theta / math.pi)  # sin(theta) / theta
    b = 0.5 * xp.sinc(theta / (2.0 * math.pi)) ** 2  # (1 - cos(theta)) / theta^2
    return xp.eye(aa) + a * k + b * (k @ k)


def matrix_to_axis_angle(rot: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 3) float64 axis-angle with angle in [0, pi].

    Goes through quaternions (scipy), which stays accurate near pi where the trace formula fails.
    """
    rot = np.asarray(rot, dtype=np.float64)
    flat = Rotation.from_matrix(rot.reshape(-1, 3, 3)).as_rotvec()
    return flat.reshape((*rot.shape[:-2], 3))


def rotate_axis_angle(rotation: np.ndarray, axis_angle: np.ndarray) -> np.ndarray:
    """Axis-angle (float32) of ``rotation @ R(axis_angle)``: a root orientation moved into another
    frame (world -> camera), as SPIN and VIBE do for 3DPW and InterHand's converter for MANO."""
    local = Rotation.from_rotvec(np.asarray(axis_angle, dtype=np.float64)).as_matrix()
    return matrix_to_axis_angle(np.asarray(rotation, dtype=np.float64) @ local).astype(np.float32)


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


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotations taking directions ``a`` to directions ``b``: (..., 3) -> (..., 3, 3).

    Opposite directions turn half a turn about an axis perpendicular to ``a``. Batched because
    retargeting asks for one per joint of every take."""
    a = np.asarray(a, np.float64) / np.linalg.norm(a, axis=-1, keepdims=True)
    b = np.asarray(b, np.float64) / np.linalg.norm(b, axis=-1, keepdims=True)
    axis = cross(a, b)
    s = np.linalg.norm(axis, axis=-1)[..., None]
    c = (a * b).sum(-1)[..., None, None]
    parallel = s < 1e-9
    perpendicular = cross(a, np.where(np.abs(a[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]))
    perpendicular /= np.linalg.norm(perpendicular, axis=-1, keepdims=True)
    skew = cross_matrix(np.where(parallel, perpendicular, axis / np.where(parallel, 1.0, s)))
    turn = np.eye(3) + s[..., None] * skew + (1 - c) * skew @ skew  # Rodrigues with sin and cos known
    half_turn = np.eye(3) + 2 * skew @ skew  # 2 p p^T - I about the perpendicular p
    return np.where(parallel[..., None], np.where(c > 0, np.eye(3), half_turn), turn)


def rotation_aligning(
    primary_from: np.ndarray, secondary_from: np.ndarray, primary_to: np.ndarray, secondary_to: np.ndarray
) -> np.ndarray:
    """The rotations (..., 3, 3) taking ``primary_from`` exactly to ``primary_to``'s direction and the
    plane of both ``from`` vectors onto the plane of both ``to`` vectors (a bone and its roll, e.g. a
    finger and the palm normal); inputs (..., 3), batched like ``rotation_between``. The secondary
    vectors must not be parallel to their primaries."""

    def frame(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
        x = primary / np.linalg.norm(primary, axis=-1, keepdims=True)
        y = secondary - (secondary * x).sum(-1, keepdims=True) * x
        y = y / np.linalg.norm(y, axis=-1, keepdims=True)
        return np.stack([x, y, cross(x, y)], axis=-1)

    return frame(primary_to, secondary_to) @ np.swapaxes(frame(primary_from, secondary_from), -1, -2)
