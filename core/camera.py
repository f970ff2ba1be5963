"""Pinhole camera maths in the OpenCV convention of ``conventions``, written once.

``extrinsics`` is the 3x4 world-to-camera ``[R | t]``; ``intrinsics`` the 3x3 ``K``; pixel (0, 0)
is the centre of the top-left pixel. Every function takes any number of leading point dimensions.
"""

from __future__ import annotations

import numpy as np


def world_to_camera(points: np.ndarray, extrinsics: np.ndarray) -> np.ndarray:
    """World points (..., 3) in the camera frame, ``R x + t`` (dtype as numpy promotes the inputs)."""
    return points @ extrinsics[:, :3].T + extrinsics[:, 3]


def project(points: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """Pixels (..., 2) of camera-frame points (..., 3), in float64."""
    uvw = np.asarray(points, dtype=np.float64) @ np.asarray(intrinsics, dtype=np.float64).T
    return uvw[..., :2] / uvw[..., 2:3]


def pinhole_intrinsics(focal: float, width: int, height: int) -> np.ndarray:
    """``K`` of a square-pixel camera with its principal point at the image centre, ``((W-1)/2, (H-1)/2)``
    because pixel centres sit at integers."""
    return np.array([[focal, 0, (width - 1) / 2], [0, focal, (height - 1) / 2], [0, 0, 1.0]])
