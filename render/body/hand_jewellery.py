"""Where rings sit on anny's atlas: a narrow band around each finger's proximal phalanx.

Hands fill hand crops, and with skin of one tone per identity the fingers of different people
look alike; rings (and nail polish, ``texture``) are what real hands show besides skin, and a
ring marks one finger apart from its neighbours. A ring is a constant texel mask baked from the
rest geometry: the vertices that a finger's proximal phalanx skins most, whose position along
that bone (0 at its head, 1 at the next bone's head) falls in ``RING_BAND``. The position is
baked per corner and thresholded per texel, so the band's edges do not follow the mesh's edges.
"""

from __future__ import annotations

import numpy as np

from crocohuman.core.conventions import HAND_SIDES
from crocohuman.render.body.texture import RING_PREFIX
from crocohuman.render.raster import bake_uv_attributes

RING_FINGERS = (2, 3, 4, 5)  # anny's index .. pinky (rings on thumbs are rare)
RING_BAND = (0.3, 0.55)  # along the proximal phalanx: a ring sits just past the finger's web
_OFF_FINGER = 1e3  # position of vertices off the phalanx: a face reaching one leaves the band within 0.1 % of it


def ring_name(side: int, finger: int) -> str:
    """The canvas feature of the ring on anny finger ``finger`` of hand ``side``, e.g. ``ring:L2``."""
    return f"{RING_PREFIX}{HAND_SIDES[side][0].upper()}{finger}"


def ring_positions(
    rest_vertices: np.ndarray, vertex_bones: np.ndarray, rest_heads: np.ndarray, bone_labels: list[str]
) -> np.ndarray:
    """(2, V, 4) each vertex's position along the proximal phalanx of ``RING_FINGERS`` per side,
    ``_OFF_FINGER`` for vertices that bone does not skin most (``vertex_bones``: most-weighted bone)."""
    positions = np.full((len(HAND_SIDES), len(rest_vertices), len(RING_FINGERS)), _OFF_FINGER, np.float32)
    for side in range(len(HAND_SIDES)):
        suffix = HAND_SIDES[side][0].upper()
        for k, finger in enumerate(RING_FINGERS):
            proximal, middle = (bone_labels.index(f"finger{finger}-{n}.{suffix}") for n in (1, 2))
            axis = rest_heads[middle] - rest_heads[proximal]
            skinned = vertex_bones == proximal
            along = (rest_vertices[skinned] - rest_heads[proximal]) @ axis / (axis @ axis)
            positions[side, skinned, k] = along
    return positions


def ring_masks(faces: np.ndarray, face_uvs: np.ndarray, positions: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """Ring masks (size, size) float32 in {0, 1} per side and finger, from ``ring_positions``."""
    masks = {}
    for side, side_positions in enumerate(positions):
        baked = bake_uv_attributes(face_uvs, side_positions[faces], size)  # NaN off the atlas: not in the band
        inside = (baked >= RING_BAND[0]) & (baked <= RING_BAND[1])
        for k, finger in enumerate(RING_FINGERS):
            masks[ring_name(side, finger)] = inside[..., k].astype(np.float32)
    return masks
