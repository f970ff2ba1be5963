"""The built-in motion source: parametric, joint-limited full-body motions, no data files.

A clip is one motion primitive (walk, squat, wave, ...; primitives.py) with random amplitude,
speed, phase and handedness, laid over a random static "style" pose, optionally with an arm
gesture blended on top. Joint angles are clamped to the limits of joint_limits.py. Fingers run
through grasps and gestures of their own (fingers.py), drawn after the body.

The root is then placed by the feet: each frame is lifted so that the lowest foot touches the
ground, and moved horizontally so that the supporting foot does not slide; walking forward
comes out of the leg motion itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from crocohuman.core.conventions import SMPL_CANONICAL_TO_WORLD, SMPL_TPOSE_JOINTS
from crocohuman.core.kinematics import smpl_forward_kinematics
from crocohuman.core.rotations import matrix_to_axis_angle
from crocohuman.render.motion.clip import MotionClip
from crocohuman.render.motion.fingers import sample_hand_pose
from crocohuman.render.motion.joint_limits import EULER_ORDER, JOINT_LIMITS_DEG, Pose
from crocohuman.render.motion.primitives import (
    MOTION_KINDS,
    OVERLAY_BASES,
    OVERLAY_GESTURES,
    OVERLAY_P,
    PRIMITIVES,
    random_style,
)

# Foot contact: (joint index, height of that joint above the ground when it carries the body).
_CONTACTS = ((7, 0.08), (8, 0.08), (10, 0.05), (11, 0.05))  # ankles, then toes (foot joints)
_CONTACT_SOFTNESS_M = 0.01
INTERACTION_KIND, INTERACTION_HANDS_MODE = "hands_together", "together"  # hands held together, shapes shared


def _euler_to_matrix(euler_deg: np.ndarray) -> np.ndarray:
    """(..., 3) x/y/z Euler degrees -> (..., 3, 3) in ``EULER_ORDER``."""
    flat = euler_deg.reshape(-1, 3)[:, ["xyz".index(a.lower()) for a in EULER_ORDER]]
    return Rotation.from_euler(EULER_ORDER, flat, degrees=True).as_matrix().reshape((*euler_deg.shape, 3))


def _place_on_feet(global_orient: np.ndarray, body_pose: np.ndarray) -> np.ndarray:
    """Root translation (T, 3): lowest foot on the ground, the supporting foot not sliding.

    The support weights fall off with a contact's height above the lowest one, so the anchor
    moves continuously from one foot to the other instead of jumping.
    """
    joints, _ = smpl_forward_kinematics(global_orient, body_pose, SMPL_TPOSE_JOINTS)
    index = [j for j, _ in _CONTACTS]
    height = joints[:, index, 2] - np.array([c for _, c in _CONTACTS])
    lowest = height.min(axis=1, keepdims=True)
    weight = np.exp(-(height - lowest) / _CONTACT_SOFTNESS_M)
    weight /= weight.sum(axis=1, keepdims=True)
    feet = joints[:, index, :2]
    step = np.einsum("tj,tjc->tc", (weight[1:] + weight[:-1]) / 2, feet[1:] - feet[:-1])
    xy = np.concatenate([np.zeros((1, 2)), -np.cumsum(step, axis=0)])
    xy -= (xy.min(axis=0) + xy.max(axis=0)) / 2  # keep the path centred on the origin
    return np.concatenate([xy, -lowest], axis=1)


def sample_clip(
    rng: np.random.Generator,
    num_frames: int,
    fps: float = 30.0,
    kind: str | None = None,
    hands_mode: str | None = None,
) -> MotionClip:
    """A random clip of ``num_frames`` frames at ``fps`` (a random kind and two-hand mode unless given)."""
    if kind is None:
        kind = MOTION_KINDS[rng.integers(len(MOTION_KINDS))]
    if kind not in PRIMITIVES:
        raise ValueError(f"unknown motion kind {kind!r}; expected one of {MOTION_KINDS}")
    if num_frames < 1 or fps <= 0:
        raise ValueError(f"need num_frames >= 1 and fps > 0, got {num_frames} and {fps}")
    t = np.arange(num_frames) / fps
    pose = Pose(random_style(rng), num_frames)
    heading = PRIMITIVES[kind](rng, t, pose)
    extra = {}
    if kind in OVERLAY_BASES and rng.uniform() < OVERLAY_P:
        gesture = OVERLAY_GESTURES[rng.integers(len(OVERLAY_GESTURES))]
        PRIMITIVES[gesture](rng, t, pose)
        extra["overlay"] = gesture
    euler = np.clip(pose.euler, JOINT_LIMITS_DEG[0], JOINT_LIMITS_DEG[1])
    local = _euler_to_matrix(euler)
    yaw = Rotation.from_euler("z", (heading + rng.uniform(0, 2 * np.pi))[:, None]).as_matrix()
    global_orient = matrix_to_axis_angle(yaw @ SMPL_CANONICAL_TO_WORLD @ local[:, 0])
    body_pose = matrix_to_axis_angle(local[:, 1:])
    transl = _place_on_feet(global_orient, body_pose)
    hand_pose, extra["hands"] = sample_hand_pose(rng, t, hands_mode)
    return MotionClip(
        global_orient=global_orient,
        body_pose=body_pose,
        transl=transl,
        fps=float(fps),
        source=f"sampler:{kind}",
        hand_pose=hand_pose,
        extra=extra,
    )


@dataclass(frozen=True)
class SamplerMotions:
    """The sampler as a motion source; ``kind`` fixes the primitive (None: a random one each clip).

    ``interaction_p``: the share of clips (random kinds only) that are a two-hand interaction, hands
    held together (``hands_together``) in a two-hand shape, so hand-focused sets see enough of them.
    """

    kind: str | None = None
    interaction_p: float = 0.0

    def sample_clip(self, rng: np.random.Generator, num_frames: int, fps: float = 30.0) -> MotionClip:
        if self.kind is None and self.interaction_p > 0 and rng.uniform() < self.interaction_p:
            return sample_clip(rng, num_frames, fps, INTERACTION_KIND, INTERACTION_HANDS_MODE)
        return sample_clip(rng, num_frames, fps, self.kind)
