"""anny's hands in MANO terms: which anny bones are MANO's 15 finger joints, and where the 21 hand keypoints lie.

anny numbers its fingers thumb (1) to pinky (5). Its thumb has three bones from the wrist,
``finger1-1..3`` (the metacarpal, then the two phalanges), which stand at MANO's thumb1..3; the
other fingers hang from ``metacarpal1..4`` (driven by the wrist, as the palm) and their
``fingerN-1..3`` phalanges stand at MANO's index/middle/ring/pinky 1..3 (knuckle outwards).
Fingertips are mesh vertices: per finger, the vertex furthest along the last phalanx among those it
skins most, so a tip lies on the skin at the end of the finger, as FreiHAND's tips do.
"""

from __future__ import annotations

import numpy as np

from crocohuman.core.conventions import HAND_SIDES, MANO_HAND_JOINT_NAMES, MANO_TIPS

ANNY_FINGER_NUMBERS = {"thumb": 1, "index": 2, "middle": 3, "ring": 4, "pinky": 5}


def hand_bone_labels(side: int) -> list[str]:
    """The anny bones at the wrist and MANO's 15 finger joints (16 labels, MANO order) of a side."""
    suffix = HAND_SIDES[side][0].upper()
    fingers = [f"finger{ANNY_FINGER_NUMBERS[name[:-1]]}-{name[-1]}.{suffix}" for name in MANO_HAND_JOINT_NAMES]
    return [f"wrist.{suffix}", *fingers]


def hand_joint_of_bone(label: str) -> int | None:
    """The hand joint (side * 15 + MANO joint index) whose rotation drives an anny bone; None for
    bones that are not finger phalanges (the wrist and metacarpals move with the SMPL wrist)."""
    for side in range(len(HAND_SIDES)):
        labels = hand_bone_labels(side)[1:]
        if label in labels:
            return side * len(MANO_HAND_JOINT_NAMES) + labels.index(label)
    return None


def fingertip_vertices(
    rest_vertices: np.ndarray, vertex_bones: np.ndarray, rest_heads: np.ndarray, bone_labels: list[str]
) -> np.ndarray:
    """(2, 5) vertex ids of the fingertips per side, thumb to pinky (``MANO_TIPS``).

    ``vertex_bones`` (V,) is each vertex's most-weighted bone, ``rest_heads`` (bones, 3) the bone heads.
    """
    tips = np.zeros((len(HAND_SIDES), len(MANO_TIPS)), np.int64)
    for side in range(len(HAND_SIDES)):
        suffix = HAND_SIDES[side][0].upper()
        for k, finger in enumerate(MANO_TIPS):
            middle, last = (bone_labels.index(f"finger{ANNY_FINGER_NUMBERS[finger]}-{n}.{suffix}") for n in (2, 3))
            skinned = np.flatnonzero(vertex_bones == last)
            along = (rest_vertices[skinned] - rest_heads[last]) @ (rest_heads[last] - rest_heads[middle])
            tips[side, k] = skinned[np.argmax(along)]
    return tips


def hand_keypoints(
    bone_heads: np.ndarray, vertices: np.ndarray, hand_bones: np.ndarray, tips: np.ndarray
) -> np.ndarray:
    """(..., 2, 21, 3) hand keypoints in ``MANO_JOINT_NAMES`` row order (wrist, 15 joints, 5 tips).

    ``bone_heads`` (..., bones, 3), ``vertices`` (..., V, 3); ``hand_bones`` (2, 16) bone indices
    (``hand_bone_labels``), ``tips`` (2, 5) vertex ids (``fingertip_vertices``).
    """
    return np.concatenate([bone_heads[..., hand_bones, :], vertices[..., tips, :]], axis=-2)
