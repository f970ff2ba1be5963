"""Clutter for procedural backgrounds: boxes, ellipses and polygons (furniture, pictures, windows)
with their own textures, shading, soft edges and drop shadows, composited in place.

An item's random parameters come from one row of uniform draws made for all items at once (and
one row of normal draws): a draw from the generator costs ~1 µs of Python, and an item needs
about fifty, which was a fifth of a background's cost. Only cell patterns draw on their own.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from crocohuman.render.background.materials import cell_pattern, palette_of
from crocohuman.render.background.noise import Canvas

UNIFORMS_PER_ITEM = 56  # at most: shape 19, shadows and inset 9, two textures 14 each (some unused)
NORMALS_PER_ITEM = 4  # two light gradients
MAX_CORNERS = 7
KINDS = ("box", "box", "ellipse", "polygon")


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


def _between(u: float, low: float, high: float) -> float:
    return low + (high - low) * u


def _half_planes(px: np.ndarray, py: np.ndarray, planes: list[tuple[float, float, float]]) -> np.ndarray:
    """min over (nx, ny, offset) of offset - nx * px - ny * py: the signed distance to a convex
    shape with those unit edge normals. Each plane is affine in the pixel coordinates, so it is
    one broadcast pass of a row (1, w) and a column (h, 1)."""
    dist = None
    for nx, ny, offset in planes:
        plane = (offset - nx * px) - ny * py
        dist = plane if dist is None else np.minimum(dist, plane, out=dist)
    return dist


def _random_shape(u: Iterator[float], cv: Canvas, horizon: float | None, edge: float) -> Shape | None:
    """A rectangle, ellipse or convex polygon somewhere in the frame; furniture stands on the floor.

    ``u`` yields the item's uniform draws. The box is tight around the shape plus room for an
    ``edge``-pixel soft edge and the drop shadow; None when the shape is outside the frame.
    """
    s = max(cv.h, cv.w)
    size = s * math.exp(_between(next(u), math.log(0.04), math.log(0.45)))
    a, b = size * _between(next(u), 0.3, 1.0), size * _between(next(u), 0.3, 1.0)
    cy, cx = _between(next(u), -0.05, 1.05) * cv.h, _between(next(u), -0.05, 1.05) * cv.w
    kind = KINDS[int(len(KINDS) * next(u))]
    furniture, offset, upright, turn = (next(u) for _ in range(4))
    if horizon is not None and kind == "box" and furniture < 0.6:  # furniture on the floor
        cy = horizon * s + 0.3 * offset * s - b
    angle = 0.0 if kind == "box" and upright < 0.7 else math.pi * turn
    cos, sin = math.cos(angle), math.sin(angle)
    if kind == "box":
        rx, ry = a * abs(cos) + b * abs(sin), a * abs(sin) + b * abs(cos)
    else:
        rx, ry = math.hypot(a * cos, b * sin), math.hypot(a * sin, b * cos)
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
    corners = sorted(2 * math.pi * next(u) for _ in range(3 + int((MAX_CORNERS - 2) * next(u))))
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
        vu, vv = [a * math.cos(c) for c in corners], [b * math.sin(c) for c in corners]
        planes = []
        for i in range(len(corners)):  # the edge from corner i to i - 1, its inward normal on the left
            eu, ev = vu[i - 1] - vu[i], vv[i - 1] - vv[i]
            norm = max(math.hypot(eu, ev), 1e-6)
            nu, nv = ev / norm, -eu / norm  # in (u, v); turned into (x, y) below
            planes.append((nu * cos - nv * sin, nu * sin + nv * cos, nu * vu[i] + nv * vv[i]))
        dist = _half_planes(px, py, planes)
    return Shape(y0, y1, x0, x1, dist, (slice(iy0 - y0, iy1 - y0), slice(ix0 - x0, ix1 - x0)))


def _shape_texture(
    rng: np.random.Generator,
    u: Iterator[float],
    light_draws: tuple[float, float],
    cv: Canvas,
    shape: Shape,
    bank: tuple[np.ndarray, ...],
) -> np.ndarray:
    """Colours for a clutter item over its soft-edge box, (3, h, w): a noise field from the bank
    or a cell pattern (shelves, tiles, books) in its own palette, shaded by a linear light gradient
    (``light_draws``: two standard normal draws)."""
    rows, cols = shape.inner
    y0, y1, x0, x1 = shape.y0 + rows.start, shape.y0 + rows.stop, shape.x0 + cols.start, shape.x0 + cols.stop
    gx = cv.x[:, x0:x1] - cv.x[0, shape.x0]
    gy = cv.y[y0:y1] - cv.y[shape.y0, 0]
    scale = max(cv.h, cv.w) / max(shape.distance.shape)  # 1 / item size
    cells, scale_x, scale_y, which = (next(u) for _ in range(4))
    if cells < 0.3:
        field, _ = cell_pattern(
            rng, gx * (scale * _between(scale_x, 1.0, 8.0)), gy * (scale * _between(scale_y, 1.0, 8.0))
        )
    else:
        field = bank[int(len(bank) * which)][y0:y1, x0:x1]
    c = palette_of([next(u) for _ in range(9)])
    contrast = _between(next(u), 0.1, 1.0)
    along_x, along_y = scale * 0.4 * light_draws[0], scale * (0.3 * light_draws[1] - 0.3)
    light = 1.0 + along_x * (gx - 0.5 / scale) + along_y * (gy - 0.5 / scale)
    tex = np.multiply(field, ((c[1] - c[0]) * contrast)[:, None, None])  # colorize, with the contrast folded in
    tex += c[0][:, None, None]
    tex *= light
    return tex


def _composite(
    rng: np.random.Generator,
    u: Iterator[float],
    light_draws: tuple[float, float],
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
    dy, dx, darkness = 1 + int(5 * next(u)), int(9 * next(u)) - 4, _between(next(u), 0.2, 0.5)
    scaled = shape.distance * soft
    if shadow and dy < hh and abs(dx) < ww:
        # 1 - darkness * clip(scaled / 2 + 1 / 2, 0, 1): darkest inside, fading over the edge
        shade = scaled[: hh - dy, max(-dx, 0) : ww - max(dx, 0)] * (-darkness / 2) + (1 - darkness / 2)
        np.maximum(np.minimum(shade, 1.0, out=shade), 1 - darkness, out=shade)  # np.clip costs 2x the call
        region[:, dy:, max(dx, 0) : ww + min(dx, 0)] *= shade
    rows, cols = shape.inner
    alpha = scaled[rows, cols]
    alpha += 0.5
    np.maximum(np.minimum(alpha, 1.0, out=alpha), 0.0, out=alpha)
    inner = region[:, rows, cols]
    tex = _shape_texture(rng, u, light_draws, cv, shape, bank)
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
    uniforms = rng.random((count, UNIFORMS_PER_ITEM)).tolist()
    normals = rng.standard_normal((count, NORMALS_PER_ITEM)).tolist()
    for row, (n0, n1, n2, n3) in zip(uniforms, normals, strict=True):
        u = iter(row)
        edge = _between(next(u), *blur)
        shape = _random_shape(u, cv, horizon, edge)
        if shape is None:
            continue
        shadow, inset, border = next(u) < 0.6, next(u) < 0.3, _between(next(u), 0.08, 0.3)
        _composite(rng, u, (n0, n1), cv, img, shape, bank, 1.0 / edge, shadow)
        if inset:
            inset_shape = replace(shape, distance=shape.distance - border * float(shape.distance.max()))
            _composite(rng, u, (n2, n3), cv, img, inset_shape, bank, 1.0 / edge, shadow=False)
