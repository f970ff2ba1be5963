"""Tiny AMASS files in the native SMPL+H G release layout, for tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def smooth_poses(num_frames: int, width: int, seed: int) -> np.ndarray:
    t = np.arange(num_frames)[:, None]
    rng = np.random.default_rng(seed)
    return 0.4 * np.sin(0.05 * t * rng.uniform(0.5, 2.0, width) + rng.uniform(0, 6, width))


def write_amass_classic(path: Path, num_frames: int, fps: float, seed: int = 0, upright: bool = False) -> dict:
    """A file exactly like the SMPL+H G release: poses (T, 156) float64, 0-d gender/frame rate.

    ``upright`` stands the body up in AMASS's Z-up world (root turned +90 degrees about X).
    """
    poses = smooth_poses(num_frames, 156, seed)
    if upright:
        poses[:, :3] = [np.pi / 2, 0.0, 0.0]
    data = {
        "poses": poses,
        "trans": np.stack([np.linspace(0, 1, num_frames), np.zeros(num_frames), np.full(num_frames, 0.9)], 1),
        "betas": np.linspace(-1, 1, 16),
        "gender": np.array("male"),
        "mocap_framerate": np.array(fps),
        "dmpls": np.zeros((num_frames, 8)),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **data)
    return data
