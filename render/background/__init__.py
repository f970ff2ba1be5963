"""What the person is rendered in front of (or inside): procedural images, photo crops, or a
3-D scene mesh, chosen by a short spec string such as ``"images:/data/coco/train2017"``."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from crocohuman.render.background.images import BackgroundImageWarning, ImageFolderBackgrounds
from crocohuman.render.background.procedural import ProceduralBackgrounds, procedural_background
from crocohuman.render.background.scene import (
    OccupancyGrid,
    SceneMesh,
    load_scene,
    sample_camera_position,
    sample_standing_spot,
)
from crocohuman.render.specs import BackgroundSpec, parse_background_spec

__all__ = [
    "BackgroundImageWarning",
    "BackgroundSampler",
    "BackgroundSpec",
    "ImageFolderBackgrounds",
    "OccupancyGrid",
    "ProceduralBackgrounds",
    "SceneMesh",
    "background_source",
    "load_scene",
    "parse_background_spec",
    "procedural_background",
    "sample_camera_position",
    "sample_standing_spot",
]


class BackgroundSampler(Protocol):
    """A source of 2-D backgrounds: one (height, width, 3) uint8 image per call."""

    def sample(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray: ...


def background_source(spec: str | BackgroundSpec) -> BackgroundSampler | SceneMesh:
    """The background a spec names: a sampler for procedural/images, the loaded scene for scene.

    Loading happens here so a bad path fails before any rendering starts.
    """
    parsed = parse_background_spec(spec) if isinstance(spec, str) else spec
    if parsed.kind == "procedural":
        return ProceduralBackgrounds()
    if parsed.kind == "images":
        return ImageFolderBackgrounds(parsed.path)
    return load_scene(parsed.path)
