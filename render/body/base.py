"""What every body model gives the renderer: one topology, one identity, posed frames."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from crocohuman.render.motion.clip import MotionClip


@dataclass
class BodyTopology:
    """Static mesh data of a body model, per face corner so labels stay exact when rasterised.

    ``face_parts`` are DensePose fine part ids (1..24, see ``conventions``); ``face_iuv`` holds the
    DensePose-style (U, V) chart coordinates in [0, 1] of each face corner; ``face_uvs`` the
    texture-atlas coordinates of each corner (V up, OpenGL style).
    """

    faces: np.ndarray  # (F, 3) int32 vertex indices
    face_uvs: np.ndarray  # (F, 3, 2) float32 texture coordinates
    face_parts: np.ndarray  # (F,) uint8 DensePose part id 1..24
    face_iuv: np.ndarray  # (F, 3, 2) float32 DensePose-style U, V
    closed: bool = False  # closed, wound counter-clockwise seen from outside: back faces never show

    @property
    def num_faces(self) -> int:
        return len(self.faces)


@dataclass
class Identity:
    """One sampled person: shape parameters, a skin/clothing texture, a label for the manifest."""

    params: dict[str, np.ndarray]  # stored with every take (e.g. betas, gender, phenotypes)
    texture: np.ndarray  # (H, W, 3) uint8 sRGB atlas for ``BodyTopology.face_uvs``
    description: str = ""


@dataclass
class PosedBody:
    """A body posed by a motion clip, in the Z-up world frame (metres)."""

    vertices: np.ndarray  # (T, V, 3) float32
    joints: np.ndarray  # (T, 24, 3) float32, SMPL joint order (conventions.SMPL_JOINT_NAMES)
    hand_joints: np.ndarray | None = None  # (T, 2, 21, 3) float32, left then right, HAND_KEYPOINT_NAMES order
    params: dict[str, np.ndarray] = field(default_factory=dict)  # per-frame pose parameters


class Body(Protocol):
    """A body model usable by the renderer (anny, or SMPL-family through ``smplx``)."""

    name: str
    topology: BodyTopology

    def sample_identity(self, rng: np.random.Generator) -> Identity: ...

    def pose(self, identity: Identity, clip: MotionClip) -> PosedBody: ...
