"""One hand seen by one camera, cut from a rendered take: which keypoints show, and its mirror image.

FreiHAND and MANO-based methods know right hands only, so a left hand is mirrored into a right one:
the image flipped left-right, camera x negated, and the intrinsics flipped so that the keypoints
still project where the flipped image shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.ndimage import binary_dilation

MIN_VISIBLE_KEYPOINTS = 11
"""Keypoints (of 21) that must fall on the hand's own pixels for a hand to make a sample: more than
half, so a hand mostly hidden by the body, a sleeve or the image border is left out."""

KEYPOINT_REACH = 1
"""Pixels a keypoint may stand off its hand's pixels and still count as seen: fingertips are skin
vertices and wrists sit on the part border, so they project on the outline's edge."""


def visible_keypoints(points: np.ndarray, parts: np.ndarray, part_id: int) -> np.ndarray:
    """Which keypoints (J, 2) pixels fall inside the image on, or within ``KEYPOINT_REACH`` of, the
    pixels of part ``part_id``: a keypoint behind another body part or off the image is not seen. (J,) bool."""
    height, width = parts.shape
    points = np.asarray(points, np.float64)
    inside = np.isfinite(points).all(1)
    inside &= (
        (points[:, 0] > -0.5) & (points[:, 0] < width - 0.5) & (points[:, 1] > -0.5) & (points[:, 1] < height - 0.5)
    )
    cols, rows = np.rint(np.where(inside[:, None], points, 0)).astype(np.int64).T  # pixel centres are integers
    hand = binary_dilation(parts == part_id, iterations=KEYPOINT_REACH) if KEYPOINT_REACH else parts == part_id
    return inside & hand[rows, cols]


@dataclass(frozen=True)
class HandView:
    """A hand in one image: the image, its 21 keypoints in the camera frame (metres) and in pixels, the intrinsics."""

    image: np.ndarray  # (H, W, 3) uint8
    joints3d: np.ndarray  # (21, 3) camera frame, metres
    joints2d: np.ndarray  # (21, 2) pixels
    intrinsics: np.ndarray  # (3, 3)

    def mirrored(self) -> HandView:
        """The view in a mirror (image columns reversed): x_cam -> -x_cam, u -> W - 1 - u, and
        ``K' = F_pixels K F_camera`` so that every keypoint still projects onto its pixel."""
        width = self.image.shape[1]
        flip_pixels = np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        flip_camera = np.diag([-1.0, 1.0, 1.0])
        joints2d = np.asarray(self.joints2d, np.float64).copy()
        joints2d[:, 0] = width - 1 - joints2d[:, 0]
        return replace(
            self,
            image=np.ascontiguousarray(self.image[:, ::-1]),
            joints3d=(np.asarray(self.joints3d, np.float64) @ flip_camera).astype(np.float32),
            joints2d=joints2d.astype(np.float32),
            intrinsics=(flip_pixels @ np.asarray(self.intrinsics, np.float64) @ flip_camera).astype(np.float32),
        )
