"""The take: one body, one motion clip of T time steps, seen by N synchronised cameras; the unit
the renderer writes and a shard holds (see docs/data-format.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Take:
    """Everything one take holds, the unit of a shard (see docs/data-format.md)."""

    rgb: np.ndarray  # (T, N, H, W, 3) uint8
    parts: np.ndarray  # (T, N, H, W) uint8, DensePose part 0..24
    iuv: np.ndarray  # (T, N, H, W, 3) uint8: I, U*255, V*255 (DensePose IUV image layout)
    depth: np.ndarray  # (T, N, H, W) float32 metres, 0 = no person
    joints3d: np.ndarray  # (T, J, 3) float32 world
    joints2d: np.ndarray  # (T, N, J, 2) float32 pixels
    intrinsics: np.ndarray  # (N, 3, 3) float32
    extrinsics: np.ndarray  # (N, 3, 4) float32
    body_params: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    # Hands (None for bodies without fingers, and in shards written before hands were labelled):
    hand_joints3d: np.ndarray | None = None  # (T, 2, 21, 3) float32 world, left then right, HAND_KEYPOINT_NAMES
    hand_joints2d: np.ndarray | None = None  # (T, N, 2, 21, 2) float32 pixels

    @property
    def mask(self) -> np.ndarray:
        return self.parts > 0
