"""How anny's 104-bone rig corresponds to the 24-joint SMPL kinematic tree.

Two tables, both written once here: which SMPL joint *drives* (rotates) each anny bone, used for
retargeting and for part labels, and which anny bone head *stands at* each SMPL joint, used for
joint positions and rest bone directions. Bone names are anny's default rig (``Anny().bone_labels``).
"""

from __future__ import annotations

import functools
import re

from crocohuman.core.conventions import SMPL_JOINT_NAMES

_J = {name: index for index, name in enumerate(SMPL_JOINT_NAMES)}

# (regex on the anny bone label without its .L/.R suffix, SMPL joint stem); "left_"/"right_" is
# prefixed from the suffix, and stems without a side are central joints. Finger phalanges belong to
# the wrist here (their part label is the hand); retargeting poses them by MANO's finger joints (anny_hands).
_DRIVERS: tuple[tuple[str, str], ...] = (
    (r"root|pelvis|spine05|spine04", "pelvis"),
    (r"spine03", "spine1"),
    (r"spine02", "spine2"),
    (r"spine01", "spine3"),
    (r"neck0\d", "neck"),
    (r"head|eye", "head"),
    (r"upperleg0\d", "hip"),
    (r"lowerleg0\d", "knee"),
    (r"foot", "ankle"),
    (r"toe.*", "foot"),
    (r"clavicle|shoulder01", "collar"),
    (r"upperarm0\d", "shoulder"),
    (r"lowerarm0\d", "elbow"),
    (r"wrist|metacarpal.*|finger.*", "wrist"),
)
_SIDED = {"hip", "knee", "ankle", "foot", "collar", "shoulder", "elbow", "wrist"}

# The anny bone whose head is each SMPL joint (per side where sided).
JOINT_BONES: dict[str, str] = {
    "pelvis": "root",
    "spine1": "spine03",
    "spine2": "spine02",
    "spine3": "spine01",
    "neck": "neck01",
    "head": "head",
    **{
        f"{side}_{stem}": f"{bone}.{side[0].upper()}"
        for side in ("left", "right")
        for stem, bone in (
            ("hip", "upperleg01"),
            ("knee", "lowerleg01"),
            ("ankle", "foot"),
            ("foot", "toe3-1"),
            ("collar", "shoulder01"),
            ("shoulder", "upperarm01"),
            ("elbow", "lowerarm01"),
            ("wrist", "wrist"),
            ("hand", "finger3-1"),
        )
    },
}

# For rest-pose correction: the SMPL child joint that gives each joint's bone direction. Joints
# absent here (pelvis, feet, head, hands) keep their parent's correction.
DIRECTION_CHILD: dict[int, int] = {
    _J["left_hip"]: _J["left_knee"],
    _J["right_hip"]: _J["right_knee"],
    _J["left_knee"]: _J["left_ankle"],
    _J["right_knee"]: _J["right_ankle"],
    _J["left_ankle"]: _J["left_foot"],
    _J["right_ankle"]: _J["right_foot"],
    _J["spine1"]: _J["spine2"],
    _J["spine2"]: _J["spine3"],
    _J["spine3"]: _J["neck"],
    _J["neck"]: _J["head"],
    _J["left_collar"]: _J["left_shoulder"],
    _J["right_collar"]: _J["right_shoulder"],
    _J["left_shoulder"]: _J["left_elbow"],
    _J["right_shoulder"]: _J["right_elbow"],
    _J["left_elbow"]: _J["left_wrist"],
    _J["right_elbow"]: _J["right_wrist"],
    _J["left_wrist"]: _J["left_hand"],
    _J["right_wrist"]: _J["right_hand"],
}


@functools.cache  # asked for every bone of every take: the regexes cost more than the rest of retargeting
def driving_joint(bone_label: str) -> int:
    """The SMPL joint index whose rotation drives an anny bone."""
    stem, _, suffix = bone_label.partition(".")
    for pattern, joint_stem in _DRIVERS:
        if re.fullmatch(pattern, stem):
            if joint_stem in _SIDED:
                side = {"L": "left", "R": "right"}.get(suffix)
                if side is None:
                    raise ValueError(f"anny bone {bone_label!r} should carry a .L/.R side")
                return _J[f"{side}_{joint_stem}"]
            return _J[joint_stem]
    raise ValueError(f"anny bone {bone_label!r} has no SMPL counterpart in anny_rig")


def joint_bone_indices(bone_labels: list[str]) -> list[int]:
    """For each SMPL joint (in SMPL order), the index of the anny bone standing at it."""
    return [bone_labels.index(JOINT_BONES[name]) for name in SMPL_JOINT_NAMES]
