"""Clutter for procedural backgrounds: boxes, ellipses and polygons (furniture, pictures, windows)
with their own textures, shading, soft edges and drop shadows, composited in place.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from crocohuman.render.background.materials import cell_pattern, palette
from crocohuman.render.background.noise import Canvas, pick


@dataclass(frozen=True)
class Shape:
    """A clutter item: its bounding box, a signed-distance function over it (pixels, > 0 inside)
    and the part of the box the item's soft edge can reach (the rest is room for its shadow)."""

    y0: int
    y1: int
    x0: int
    x1: int
    distance: np.ndarray  # (y1 - y0, x1 - x0) float32
    inner: tuple[slice, slice]


def _half_planes(px: np.ndarray, py: np.ndarray, planes: list[tuple[float, float, float]]) -> np.ndarray:
    """min over (nx, ny, offset) of offset - nx * px - ny * py: the signed distance to a convex
    shape with those unit edge normals. Each plane is affine in the pixel coordinates, so it is
    one broadcast pass of a row (1, w) and a column (h, 1)."""
    dist = None
    for nx, ny, offset in planes:
        plane = (offset - nx * px) - ny * py
        dist = plane if dist is None else np.minimum(dist, plane, out=dist)
    return dist


def _random_shape(rng: np.random.Generator, cv: Canvas, horizon: float | None, edge: float) -> Shape | None:
    """A rectangle, ellipse or convex polygon somewhere in the frame; furniture stands on the floor.

    The box is tight around the shape plus room for an ``edge``-pixel soft edge and the drop
    shadow; None when the shape is outside the frame.
    """
    s = max(cv.h, cv.w)
    size = s * float(np.exp(rng.uniform(np.log(0.04), np.log(0.45))))
    a, b = size * rng.uniform(0.3, 1.0), size * rng.uniform(0.3, 1.0)
    cy, cx = rng.uniform(-0.05, 1.05) * cv.h, rng.uniform(-0.05, 1.05) * cv.w
    kind = pick(rng, ("box", "box", "ellipse", "polygon"))
    if horizon is not None and kind == "box" and rng.random() < 0.6:  # furniture on the floor
        cy = horizon * s + rng.uniform(0.0, 0.3) * s - b
    angle = 0.0 if kind == "box" and rng.random() < 0.7 else rng.uniform(0, np.pi)
    cos, sin = float(np.cos(angle)), float(np.sin(angle))
    if kind == "box":
        rx, ry = a * abs(cos) + b * abs(sin), a * abs(sin) + b * abs(cos)
    else:
        rx, ry = float(np.hypot(a * cos, b * sin)), float(np.hypot(a * sin, b * cos))
    # How far the soft edge (alpha > 0 where distance > -edge / 2) reaches out of the shape's extent:
    # edge / 2 for an upright box; an ellipse's distance is scaled by its minor axis, so further along
    # the major one; half-planes reach edge / 2 / sin(corner / 2) past a corner (corners of 60 degrees
    # and more are covered). The shadow reaches edge + 5 (its offset).
    if kind == "ellipse":
        soft_edge = edge / 2.0 * max(a, b) / min(a, b) + 1.0
    else:
        soft_edge = (edge / 2.0 if angle == 0.0 else edge) + 1.0
    outer = edge + 6.0
    y0, y1 = max(int(cy - ry - outer), 0), min(int(cy + ry + outer) + 1, cv.h)
    x0, x1 = max(int(cx - rx - outer), 0), min(int(cx + rx + outer) + 1, cv.w)
    iy0, iy1 = max(int(cy - ry - soft_edge), y0), min(int(cy + ry + soft_edge) + 1, y1)
    ix0, ix1 = max(int(cx - rx - soft_edge), x0), min(int(cx + rx + soft_edge) + 1, x1)
    if iy1 - iy0 < 2 or ix1 - ix0 < 2:
        return None
    py = (np.arange(y0, y1, dtype=np.float32) + (0.5 - cy))[:, None]
    px = (np.arange(x0, x1, dtype=np.float32) + (0.5 - cx))[None, :]
    # the shape's own axes: u = cos * x + sin * y, v = cos * y - sin * x
    if kind == "box" and angle == 0.0:  # min(a - |x|, b - |y|): a row against a column, one pass
        dist = np.minimum(a - np.abs(px), b - np.abs(py))
    elif kind == "box":
        dist = _half_planes(px, py, [(cos, sin, a), (-cos, -sin, a), (-sin, cos, b), (sin, -cos, b)])
    elif kind == "ellipse":
        radius = (cos / a) * px + (sin / a) * py
        radius *= radius
        pv = (cos / b) * py - (sin / b) * px
        radius += pv * pv
        np.sqrt(radius, out=radius)
        dist = min(a, b) * (1.0 - radius)
    else:  # corners on an ellipse in angular order always make a convex polygon
        corners = np.sort(rng.uniform(0, 2 * np.pi, 3 + int(5 * rng.random())))
        vu, vv = (a * np.cos(corners)).tolist(), (b * np.sin(corners)).tolist()
        planes = []
        for i in range(len(corners)):  # the edge from corner i to i - 1, its inward normal on the left
            eu, ev = vu[i - 1] - vu[i], vv[i - 1] - vv[i]
            norm = max(float(np.hypot(eu, ev)), 1e-6)
            nu, nv = ev / norm, -eu / norm  # in (u, v); turned into (x, y) below
            planes.append((nu * cos - nv * sin, nu * sin + nv * cos, nu * vu[i] + nv * vv[i]))
        dist = _half_planes(px, py, planes)
    return Shape(y0, y1, x0, x1, dist, (slice(iy0 - y0, iy1 - y0), slice(ix0 - x0, ix1 - x0)))


def _shape_texture(rng: np.random.Generator, cv: Canvas, shape: Shape, bank: tuple[np.ndarray, ...]) -> np.ndarray:
    """Colours for a clutter item over its soft-edge box, (3, h, w): a noise field from the bank
    or a cell pattern (shelves, tiles, books) in its own palette, shaded by a linear light gradient."""
    rows, cols = shape.inner
    y0, y1, x0, x1 = shape.y0 + rows.start, shape.y0 + rows.stop, shape.x0 + cols.start, shape.x0 + cols.stop
    gx = cv.x[:, x0:x1] - cv.x[0, shape.x0]
    gy = cv.y[y0:y1] - cv.y[shape.y0, 0]
    scale = max(cv.h, cv.w) / max(shape.distance.shape)  # 1 / item size
    if rng.random() < 0.3:
        field, _ = cell_pattern(rng, gx * (scale * rng.uniform(1.0, 8.0)), gy * (scale * rng.uniform(1.0, 8.0)))
    else:
        field = pick(rng, bank)[y0:y1, x0:x1]
    c = palette(rng, 2)
    contrast = rng.uniform(0.1, 1.0)
    light = (
        1.0 + (scale * rng.normal(0, 0.4)) * (gx - 0.5 / scale) + (scale * rng.normal(-0.3, 0.3)) * (gy - 0.5 / scale)
    )
    tex = np.multiply(field, ((c[1] - c[0]) * contrast)[:, None, None])  # colorize, with the contrast folded in
    tex += c[0][:, None, None]
    tex *= light
    return tex


def _composite(
    rng: np.random.Generator,
    cv: Canvas,
    img: np.ndarray,
    shape: Shape,
    bank: tuple[np.ndarray, ...],
    soft: float,
    shadow: bool,
) -> None:
    """Alpha-blend one textured item into ``img`` in place, optionally over a drop shadow.

    Written as in-place passes over the item's box: the cost of a background is these passes.
    """
    region = img[:, shape.y0 : shape.y1, shape.x0 : shape.x1]
    hh, ww = shape.distance.shape
    dy, dx = 1 + int(5 * rng.random()), int(9 * rng.random()) - 4  # random() is 3x cheaper than integers()
    scaled = shape.distance * soft
    if shadow and dy < hh and abs(dx) < ww:
        # 1 - darkness * clip(scaled / 2 + 1 / 2, 0, 1): darkest inside, fading over the edge
        darkness = rng.uniform(0.2, 0.5)
        shade = scaled[: hh - dy, max(-dx, 0) : ww - max(dx, 0)] * (-darkness / 2) + (1 - darkness / 2)
        np.maximum(np.minimum(shade, 1.0, out=shade), 1 - darkness, out=shade)  # np.clip costs 2x the call
        region[:, dy:, max(dx, 0) : ww + min(dx, 0)] *= shade
    rows, cols = shape.inner
    alpha = scaled[rows, cols]
    alpha += 0.5
    np.maximum(np.minimum(alpha, 1.0, out=alpha), 0.0, out=alpha)
    inner = region[:, rows, cols]
    tex = _shape_texture(rng, cv, shape, bank)
    tex -= inner
    tex *= alpha
    inner += tex


def draw_clutter(
    rng: np.random.Generator,
    cv: Canvas,
    img: np.ndarray,
    count: int,
    horizon: float | None,
    bank: tuple[np.ndarray, ...],
    blur: tuple[float, float],
) -> None:
    """Composite ``count`` items into ``img`` in place, each with an edge softness drawn from
    ``blur`` (pixels; wide edges read as out of focus); some are frames around an inset panel
    (pictures, windows, cabinet doors)."""
    for _ in range(count):
        edge = rng.uniform(*blur)
        shape = _random_shape(rng, cv, horizon, edge)
        if shape is None:
            continue
        soft = 1.0 / edge
        _composite(rng, cv, img, shape, bank, soft, shadow=rng.random() < 0.6)
        if rng.random() < 0.3:
            border = rng.uniform(0.08, 0.3) * float(shape.distance.max())
            inset = replace(shape, distance=shape.distance - border)
            _composite(rng, cv, img, inset, bank, soft, shadow=False)
