"""Person and hand boxes: ``(x0, y0, x1, y1)`` in pixels of the full image, x right, y down.

Boxes built from joints or masks are not clipped: a box grown around joints may pass the border,
and the crop code pads; ``clip_box`` clips once the image size is known.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from crocohuman.core.errors import BadInputError
from crocohuman.core.layout import as_array

Box = tuple[float, float, float, float]

KEYPOINT_BOX_MARGIN = 0.1
"""Fraction of the larger side added around a box made from joints, on every side: joints sit inside
the body outline (head top, hands, feet, palm edges), so the tight joint box cuts them; 0.1 per side
gives SPIN's ``1.2 * max(w, h)`` crop extent."""


def grow_box(x0: float, y0: float, x1: float, y1: float, margin: float) -> Box:
    """The box grown by ``margin`` x its larger side on every side."""
    pad = margin * max(x1 - x0, y1 - y0)
    return (float(x0 - pad), float(y0 - pad), float(x1 + pad), float(y1 + pad))


def box_from_points(xy: np.ndarray, valid: np.ndarray | None, margin: float) -> Box | None:
    """Box around the valid, finite points (N, 2+; extra columns such as confidence are ignored),
    grown by ``margin`` x its larger side on every side.

    None when fewer than two points are usable or they all coincide: no person location.
    """
    points = np.asarray(xy, dtype=np.float64)[..., :2].reshape(-1, 2)
    keep = np.isfinite(points).all(axis=1)
    if valid is not None:
        keep &= np.asarray(valid, dtype=bool).reshape(-1)
    if keep.sum() < 2:
        return None
    (x0, y0), (x1, y1) = points[keep].min(axis=0), points[keep].max(axis=0)
    if max(x1 - x0, y1 - y0) <= 0:
        return None
    return grow_box(x0, y0, x1, y1, margin)


def box_from_mask(mask: np.ndarray, margin: float) -> Box | None:
    """Box around the mask's pixels (their outer edges), grown like ``box_from_points``; None if empty."""
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return None
    return grow_box(cols.min(), rows.min(), cols.max() + 1, rows.max() + 1, margin)


def box_from_xywh(xywh: Any, source: str | Path | None = None, key: str = "bbox") -> Box | None:
    """COCO-style ``[x, y, w, h]`` to a box.

    Without ``source`` (tracks where a frame may lack a box): None when missing, malformed or empty.
    With ``source`` (an annotation that must hold one): BadInputError naming the file and key.
    """
    if source is None:
        values = np.asarray(xywh if xywh is not None else [], dtype=np.float64).reshape(-1)
        if values.size != 4 or not np.isfinite(values).all() or values[2] <= 0 or values[3] <= 0:
            return None
    else:
        values = as_array(xywh, (4,), source, key, np.float64)
        if not (np.isfinite(values).all() and values[2] > 0 and values[3] > 0):
            raise BadInputError(f"{source}: {key!r} {[float(v) for v in values]} is not a box with positive size")
    x, y, w, h = (float(v) for v in values)
    return (x, y, x + w, y + h)


def clip_box(box: Box, width: int, height: int) -> Box | None:
    """Clip a box to the image (an infinite side means "to the edge"); None when nothing is left."""
    if np.isnan(np.asarray(box, dtype=np.float64)).any():
        return None
    x0, y0, x1, y1 = (float(v) for v in box)
    x0, x1 = min(max(x0, 0.0), float(width)), min(max(x1, 0.0), float(width))
    y0, y1 = min(max(y0, 0.0), float(height)), min(max(y1, 0.0), float(height))
    if x1 <= x0 or y1 <= y0:
        return None
    return (x0, y0, x1, y1)
