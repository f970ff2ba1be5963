"""What every benchmark reader yields: one annotated person (or hand) image, in native units, for
fine-tuning and evaluation alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from crocohuman.core.boxes import Box


@dataclass
class BenchmarkSample:
    """One person/hand instance of a benchmark, targets in the dataset's own conventions.

    Coordinates are in the full image's pixels; 3D quantities in metres in the camera frame
    (OpenCV axes) unless a reader's docstring says otherwise. Fields a benchmark lacks are None.
    """

    image: np.ndarray  # (H, W, 3) uint8 sRGB
    box: Box  # (x0, y0, x1, y1) person/hand box, pixels
    key: str  # stable id, e.g. "3dpw:downtown_walking_00/actor0/frame00120"
    joints3d: np.ndarray | None = None  # (J, 3) metres, camera frame
    joints2d: np.ndarray | None = None  # (J, 3) pixels + visibility/confidence
    vertices: np.ndarray | None = None  # (V, 3) metres, camera frame
    body_params: dict[str, np.ndarray] = field(default_factory=dict)  # SMPL/MANO/anny parameters
    intrinsics: np.ndarray | None = None  # (3, 3)
    label: int | None = None  # class index (gesture, grasp)
    mask: np.ndarray | None = None  # (H, W) bool person mask
    densepose: dict[str, np.ndarray] | None = None  # x, y (image pixels), i (1..24), u, v (0..1), per point
    parts: np.ndarray | None = None  # (H, W) uint8 dense DensePose part map (synthetic data)
    iuv: np.ndarray | None = None  # (H, W, 3) uint8 dense IUV (synthetic data)
    meta: dict = field(default_factory=dict)


class BenchmarkSplit(Protocol):
    """A benchmark split: ``len`` and ``__getitem__`` give ``BenchmarkSample``s, in a fixed order.

    Constructors take the dataset root as the user downloaded it and raise FileNotFoundError /
    ValueError naming the missing or malformed file and the expected layout.
    """

    name: str

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> BenchmarkSample: ...
