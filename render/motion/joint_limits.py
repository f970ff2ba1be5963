"""How the built-in motion sampler writes a pose: Euler angles per joint, clamped to joint limits.

Poses are Euler angles per joint (degrees, channels x, y, z, composed in the order
``EULER_ORDER``) in the joint's local SMPL frame, which is the SMPL canonical frame at rest
(Y up, facing +Z, left = +X). Every angle is clamped to the per-joint table ``JOINT_LIMITS_DEG``.

Sign conventions (left side; the right side is the mirror image: x kept, y and z negated):
knee flexion +x (the ankle goes back and up), hip flexion -x (the thigh goes forward), ankle
plantarflexion +x, spine/neck forward bend +x and twist to the left +y, shoulder: +z raises the
arm sideways, -x swings a hanging arm forward, -y swings a T-pose arm forward; elbow flexion -y
(the forearm of a T-pose arm goes forward).
"""

from __future__ import annotations

import numpy as np

from crocohuman.core.conventions import SMPL_JOINT_NAMES

EULER_ORDER = "XZY"  # intrinsic: R = Rx(x) @ Rz(z) @ Ry(y); unique while |z| < 90 degrees

# Per-axis ranges in degrees, ((x_lo, x_hi), (y_lo, y_hi), (z_lo, z_hi)), for the central joints
# and the left side. "pelvis" is the root's rotation in the canonical frame, before the body is
# stood up in the world and given its heading.
_LIMITS_LEFT_DEG: dict[str, tuple[tuple[float, float], ...]] = {
    "pelvis": ((-20, 60), (-45, 45), (-15, 15)),
    "hip": ((-125, 35), (-40, 40), (-30, 50)),
    "knee": ((0, 150), (-10, 10), (-5, 5)),
    "ankle": ((-30, 50), (-20, 20), (-20, 20)),
    "foot": ((-45, 20), (-5, 5), (-5, 5)),
    "spine1": ((-15, 35), (-20, 20), (-15, 15)),
    "spine2": ((-15, 35), (-20, 20), (-15, 15)),
    "spine3": ((-15, 35), (-20, 20), (-15, 15)),
    "neck": ((-25, 35), (-35, 35), (-20, 20)),
    "head": ((-25, 30), (-35, 35), (-20, 20)),
    "collar": ((-15, 15), (-20, 15), (-10, 25)),
    "shoulder": ((-170, 60), (-120, 60), (-85, 85)),
    "elbow": ((-15, 15), (-150, 0), (-10, 10)),
    "wrist": ((-50, 50), (-25, 35), (-70, 70)),
}
NUM_POSE_JOINTS = 22  # pelvis + the 21 SMPL body joints
_INDEX = {name: i for i, name in enumerate(SMPL_JOINT_NAMES[:NUM_POSE_JOINTS])}
Angle = float | np.ndarray  # degrees: one value for every frame, or one per frame


def _limits_table() -> np.ndarray:
    """(2, 22, 3) low/high degrees for the pose joints, mirroring the left-side table."""
    table = np.zeros((2, NUM_POSE_JOINTS, 3))
    for name, j in _INDEX.items():
        side, _, part = name.partition("_")
        ranges = np.array(_LIMITS_LEFT_DEG[part if part else name], dtype=np.float64)
        if side == "right":
            ranges[1:] = -ranges[1:, ::-1]
        table[:, j] = ranges.T
    return table


JOINT_LIMITS_DEG = _limits_table()  # [0] low, [1] high; joint 0 is the pelvis, 1..21 body_pose


class Pose:
    """Per-frame Euler angles (T, 22, 3) in degrees, written in left-side terms.

    ``side`` names the side the values are written for: "right" mirrors them, so primitives
    describe one side and reuse it. For a central joint (spine, neck, ...) the side only decides
    the mirroring, e.g. turning the head toward the arm that reaches.
    """

    def __init__(self, style: np.ndarray, num_frames: int) -> None:
        self.euler = np.repeat(style[None], num_frames, axis=0)

    def _slot(self, part: str, side: str | None) -> tuple[int, tuple[float, float, float]]:
        mirror = (1.0, -1.0, -1.0) if side == "right" else (1.0, 1.0, 1.0)
        return _INDEX[part if part in _INDEX else f"{side}_{part}"], mirror

    def add(self, part: str, side: str | None = None, x: Angle = 0.0, y: Angle = 0.0, z: Angle = 0.0) -> None:
        """Add angles (scalars or per-frame arrays) to a joint."""
        j, mirror = self._slot(part, side)
        for c, value in enumerate((x, y, z)):
            if not (np.isscalar(value) and value == 0.0):  # most calls set one or two channels
                self.euler[:, j, c] += mirror[c] * value

    def toward(self, part: str, side: str | None, weight: np.ndarray, **target: Angle) -> None:
        """Blend the named channels (x=, y=, z=) toward target values with per-frame weights."""
        j, mirror = self._slot(part, side)
        for axis, value in target.items():
            c = "xyz".index(axis)
            self.euler[:, j, c] += weight * (mirror[c] * value - self.euler[:, j, c])
