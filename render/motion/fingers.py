"""The built-in finger sampler: sequences of grasps and gestures (``hand_shapes``) for both hands,
eased from one to the next, within finger joint limits, as a SMPL-H / MANO hand pose.

A finger joint moves on two channels (degrees, written for the left hand; the right hand is its
mirror image, axis-angle x kept, y and z negated, as in ``joint_limits``): flexion, about one axis
per finger (the index to pinky curl toward the palm about the canonical -Z; the thumb about the
axis that bends it toward its pad), and a side channel, used only at the base joints: abduction for
the index to pinky (about +Y, positive toward the pinky), opposition for the thumb (about the hand's
long axis +X, positive across the palm). Every angle is clamped to ``FINGER_LIMITS_DEG``.
"""

from __future__ import annotations

import numpy as np

from crocohuman.core.conventions import HAND_SIDES, MANO_FINGERS, MANO_HAND_JOINT_NAMES, MANO_TIPS
from crocohuman.core.kinematics import tpose_hand
from crocohuman.core.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from crocohuman.render.motion.curves import keyframes
from crocohuman.render.motion.hand_shapes import ONE_HAND_SHAPES, RELAXED, TWO_HAND_SHAPES, HandShape

_FINGER_ROWS = {finger: 1 + MANO_HAND_JOINT_NAMES.index(f"{finger}1") for finger in MANO_FINGERS}
_THUMB = MANO_FINGERS.index("thumb")
MIRROR = np.array([1.0, -1.0, -1.0])  # left-hand axis-angle -> right hand
SIDE_SIGNS = np.array([MIRROR if side == "right" else np.ones(3) for side in HAND_SIDES])  # (2, 3), per side


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _thumb_flexion_axis() -> np.ndarray:
    """The left thumb's flexion axis: it bends the thumb toward its pad, which faces the palm's
    centre and partly down (the thumb sits turned about 60 degrees from the fingers)."""
    hand = tpose_hand(0)
    base = _FINGER_ROWS["thumb"]
    bone = _unit(hand[base + 1] - hand[base])
    toward_palm = hand[_FINGER_ROWS["middle"]] - hand[base]
    toward_palm = _unit(toward_palm - (toward_palm @ bone) * bone)
    pad = _unit(np.cos(np.radians(60)) * np.array([0.0, -1.0, 0.0]) + np.sin(np.radians(60)) * toward_palm)
    return _unit(np.cross(bone, pad))


# Per MANO finger (index, middle, pinky, ring, thumb): the flexion and side axes, left hand.
FLEXION_AXES = np.array([[0.0, 0.0, -1.0]] * 4 + [_thumb_flexion_axis()])
SIDE_AXES = np.array([[0.0, 1.0, 0.0]] * 4 + [[1.0, 0.0, 0.0]])

# (2, 5 fingers, 3 joints, 2 channels) low/high degrees: [..., 0] flexion, [..., 1] side channel.
_FINGER_LIMITS = (((-15, 95), (-20, 20)), ((0, 110), (0, 0)), ((-5, 85), (0, 0)))
_THUMB_LIMITS = (((-15, 50), (-10, 70)), ((-10, 65), (0, 0)), ((-15, 85), (0, 0)))
FINGER_LIMITS_DEG = np.moveaxis(
    np.array([_THUMB_LIMITS if finger == "thumb" else _FINGER_LIMITS for finger in MANO_FINGERS], np.float64), -1, 0
)

FULL_CURL_DEG = np.array([80.0, 100.0, 70.0])  # index to pinky flexion per joint at curl 1
THUMB_FULL_CURL_DEG = np.array([35.0, 55.0, 70.0])
FULL_OPPOSITION_DEG = 70.0
SPREAD_DEG = 12.0
_SPREAD_PATTERN = {"index": -1.0, "middle": 0.0, "ring": 0.5, "pinky": 1.0}  # fingers fan out from the middle
JITTER_DEG = (6.0, 3.0)  # per-key variation of flexion and side angles
HOLD_S = (0.5, 2.0)  # how long a shape is held
TRANSITION_S = (0.25, 0.7)  # how long the hand takes to change shape
TWO_HAND_MODES = ("independent", "mirrored", "together")  # both hands: own shapes, one shape, a two-hand shape
TWO_HAND_MODE_P = (0.6, 0.25, 0.15)


def shape_angles(shape: HandShape) -> np.ndarray:
    """(5, 3, 2) degrees, MANO finger order, for the left hand: a shape's flexion and side angles."""
    angles = np.zeros((len(MANO_FINGERS), 3, 2))
    for f, finger in enumerate(MANO_FINGERS):
        curl = shape.curl[MANO_TIPS.index(finger)]
        if finger == "thumb":
            angles[f, :, 0] = curl * THUMB_FULL_CURL_DEG
            angles[f, 0, 1] = shape.opposition * FULL_OPPOSITION_DEG
        else:
            share = np.array([1.0 + 0.1 * shape.knuckle, 1.0 - shape.knuckle, 1.0 - shape.knuckle])
            angles[f, :, 0] = curl * FULL_CURL_DEG * share
            angles[f, 0, 1] = shape.spread * SPREAD_DEG * _SPREAD_PATTERN[finger]
    return angles


def angles_to_hand_pose(angles: np.ndarray, side: int | None) -> np.ndarray:
    """(..., 5, 3, 2) degrees -> (..., 15, 3) axis-angle in MANO joint order for one side; for both when
    ``side`` is None, the sides on the axis before the fingers' ((..., 2, 5, 3, 2) -> (..., 2, 15, 3))."""
    radians = np.radians(angles)
    flexion = axis_angle_to_matrix(radians[..., 0, None] * FLEXION_AXES[:, None])
    sideways = axis_angle_to_matrix(radians[..., 1, None] * SIDE_AXES[:, None])
    pose = matrix_to_axis_angle(sideways @ flexion).reshape((*angles.shape[:-3], len(MANO_HAND_JOINT_NAMES), 3))
    return pose * (SIDE_SIGNS[:, None] if side is None else SIDE_SIGNS[side])


def _track(rng: np.random.Generator, t: np.ndarray, shapes: dict[str, HandShape]) -> tuple[np.ndarray, list[str]]:
    """(T, 5, 3, 2) degrees: random shapes from ``shapes``, each held, eased into the next; and their names."""
    names = list(shapes)
    key_t, key_v, drawn = [], [], []
    now = -rng.uniform(0.0, HOLD_S[1])
    while True:
        name = names[rng.integers(len(names))]
        jitter = rng.normal(0.0, JITTER_DEG, (len(MANO_FINGERS), 3, 2))
        value = np.clip(shape_angles(shapes[name]) + jitter, FINGER_LIMITS_DEG[0], FINGER_LIMITS_DEG[1])
        drawn.append(name)
        key_t.append(now)
        key_v.append(value)
        now += rng.uniform(*HOLD_S)
        key_t.append(now)
        key_v.append(value)
        if now > t[-1]:
            break
        now += rng.uniform(*TRANSITION_S)
    return keyframes(t, np.array(key_t), np.array(key_v)), drawn


def sample_hand_pose(rng: np.random.Generator, t: np.ndarray, mode: str | None = None) -> tuple[np.ndarray, str]:
    """A hand pose (T, 2, 15, 3) for time stamps ``t`` (seconds), and a description of it
    (e.g. ``mirrored:fist,open_palm``) for the clip's bookkeeping; ``mode`` (``TWO_HAND_MODES``)
    is drawn unless given."""
    if mode is None:
        mode = TWO_HAND_MODES[rng.choice(len(TWO_HAND_MODES), p=TWO_HAND_MODE_P)]
    if mode == "independent":
        (left, left_names), (right, right_names) = (_track(rng, t, ONE_HAND_SHAPES) for _ in HAND_SIDES)
        names = [*left_names, "|", *right_names]
    else:
        shapes = ONE_HAND_SHAPES if mode == "mirrored" else {"relaxed": RELAXED, **TWO_HAND_SHAPES}
        left, names = _track(rng, t, shapes)
        right = left
    pose = angles_to_hand_pose(np.stack([left, right], axis=1), None)  # one pass for both: ~0.6 ms per take
    return pose, f"{mode}:{','.join(names)}"
