"""A motion clip in SMPL conventions: the one motion format every body consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from crocohuman.core.conventions import HAND_SIDES, NUM_BODY_JOINTS, NUM_HAND_JOINTS


@dataclass
class MotionClip:
    """T frames of SMPL-style body motion in the Z-up world (see ``conventions``).

    ``global_orient`` rotates the SMPL canonical body frame into the world, ``body_pose`` holds
    the 21 body joints of the SMPL kinematic tree (SMPL's two hand joints are not driven),
    ``transl`` is the world translation of the body origin, in metres. ``hand_pose`` holds the
    fingers, left hand then right, in SMPL-H / MANO's 15-joint order (``MANO_HAND_JOINT_NAMES``);
    a source without fingers passes None and gets flat hands (zeros). Betas/gender are kept when
    the source has them so SMPL-family bodies can use them.
    """

    global_orient: np.ndarray  # (T, 3) axis-angle
    body_pose: np.ndarray  # (T, 21, 3) axis-angle
    transl: np.ndarray  # (T, 3) metres
    fps: float
    source: str  # e.g. "sampler:walk" or "amass:CMU/01/01_01_poses.npz@120"
    hand_pose: np.ndarray | None = None  # (T, 2, 15, 3) axis-angle; None -> zeros (flat hands)
    betas: np.ndarray | None = None  # (num_betas,), from the source when it has them
    gender: str | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        t = len(self.global_orient)
        if self.global_orient.shape != (t, 3) or self.transl.shape != (t, 3):
            raise ValueError(f"MotionClip({self.source}): global_orient/transl must be (T, 3)")
        if self.body_pose.shape != (t, NUM_BODY_JOINTS, 3):
            raise ValueError(f"MotionClip({self.source}): body_pose must be (T, 21, 3), got {self.body_pose.shape}")
        hands = (t, len(HAND_SIDES), NUM_HAND_JOINTS, 3)
        if self.hand_pose is None:
            self.hand_pose = np.zeros(hands)
        if self.hand_pose.shape != hands:
            raise ValueError(f"MotionClip({self.source}): hand_pose must be (T, 2, 15, 3), got {self.hand_pose.shape}")

    @property
    def num_frames(self) -> int:
        return len(self.global_orient)

    def frames(self, index: np.ndarray) -> MotionClip:
        """The clip restricted to the given frame indices (same fps bookkeeping is the caller's)."""
        return MotionClip(
            global_orient=self.global_orient[index],
            body_pose=self.body_pose[index],
            transl=self.transl[index],
            fps=self.fps,
            source=self.source,
            hand_pose=self.hand_pose[index],
            betas=self.betas,
            gender=self.gender,
            extra=dict(self.extra),
        )
