"""A tiny furnished room as a scene mesh, for tests of scene loading and rendering inside it."""

from __future__ import annotations

import numpy as np
import trimesh

TABLE_MIN, TABLE_MAX = np.array([0.4, 0.6]), np.array([1.6, 1.4])


def _box(extents, center, rgb) -> trimesh.Trimesh:
    box = trimesh.creation.box(extents=extents, transform=trimesh.transformations.translation_matrix(center))
    box.visual.vertex_colors = np.tile([*rgb, 255], (len(box.vertices), 1)).astype(np.uint8)
    return box


def room_mesh() -> trimesh.Trimesh:
    """A 6 x 6 m room, Z up: floor top at z = 0, four 2.5 m walls, one table."""
    return trimesh.util.concatenate(
        [
            _box((6, 6, 0.1), (0, 0, -0.05), (120, 100, 80)),
            _box((6, 0.1, 2.5), (0, 3.05, 1.25), (200, 200, 200)),
            _box((6, 0.1, 2.5), (0, -3.05, 1.25), (200, 200, 200)),
            _box((0.1, 6, 2.5), (3.05, 0, 1.25), (180, 180, 200)),
            _box((0.1, 6, 2.5), (-3.05, 0, 1.25), (180, 180, 200)),
            _box(
                (1.2, 0.8, 0.75),
                ((TABLE_MIN[0] + TABLE_MAX[0]) / 2, (TABLE_MIN[1] + TABLE_MAX[1]) / 2, 0.375),
                (90, 50, 20),
            ),
        ]
    )
