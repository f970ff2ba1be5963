"""Clutter for procedural backgrounds: boxes, ellipses and polygons (furniture, pictures, windows)
with their own textures, shading, soft edges and drop shadows, composited in place.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from crocohuman.render.background.materials import cell_pattern, colorize, palette
from crocohuman.render.background.noise import Canvas, pick


@dataclass(frozen=True)
class Shape:
    """A clutter item: its bounding box and a signed-distance function (pixels, > 0 inside)."""

    y0: int
    y1: int
    x0: int
    x1: int
    distance: np.ndarray  # (y1 - y0, x1 - x0) float32


def _random_shape(rng: np.random.Generator, cv: Canvas, horizon: float | None, margin: float) -> Shape | None:
    """A rectangle, ellipse or convex polygon somewhere in the frame; furniture stands on the floor.

    The bounding box is tight around the shape plus ``margin`` pixels for soft edges and shadow;
    None when it falls outside the frame.
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
    y0, y1 = max(int(cy - ry - margin), 0), min(int(cy + ry + margin) + 1, cv.h)
    x0, x1 = max(int(cx - rx - margin), 0), min(int(cx + rx + margin) + 1, cv.w)
    if y1 - y0 < 2 or x1 - x0 < 2:
        return None
    py = np.arange(y0, y1, dtype=np.float32)[:, None] + np.float32(0.5 - cy)
    px = np.arange(x0, x1, dtype=np.float32)[None, :] + np.float32(0.5 - cx)
    cos, sin = np.float32(cos), np.float32(sin)
    pu, pv = cos * px + sin * py, cos * py - sin * px
    a32, b32 = np.float32(a), np.float32(b)
    if kind == "box":
        dist = np.minimum(a32 - np.abs(pu), b32 - np.abs(pv))
    elif kind == "ellipse":
        dist = (1.0 - np.sqrt((pu / a32) ** 2 + (pv / b32) ** 2)) * np.float32(min(a, b))
    else:  # corners on an ellipse in angular order always make a convex polygon
        corners = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(3, 8))))
        vx, vy = (a * np.cos(corners)).tolist(), (b * np.sin(corners)).tolist()
        dist = None
        for i in range(len(corners)):
            ex, ey = vx[i - 1] - vx[i], vy[i - 1] - vy[i]
            inv = 1.0 / max(float(np.hypot(ex, ey)), 1e-6)
            edge = (pv - np.float32(vy[i])) * np.float32(ex * inv) - (pu - np.float32(vx[i])) * np.float32(ey * inv)
            dist = edge if dist is None else np.minimum(dist, edge)
    return Shape(y0, y1, x0, x1, dist)


def _shape_texture(rng: np.random.Generator, cv: Canvas, shape: Shape, bank: tuple[np.ndarray, ...]) -> np.ndarray:
    """Colours for a clutter item, (3, h, w): a noise field from the bank or a cell pattern
    (shelves, tiles, books) in its own palette, shaded by a linear light gradient."""
    gx = cv.x[:, shape.x0 : shape.x1] - cv.x[0, shape.x0]
    gy = cv.y[shape.y0 : shape.y1] - cv.y[shape.y0, 0]
    scale = np.float32(max(cv.h, cv.w) / max(shape.distance.shape))  # 1 / item size
    if rng.random() < 0.3:
        field, _ = cell_pattern(
            rng, gx * (scale * np.float32(rng.uniform(1.0, 8.0))), gy * (scale * np.float32(rng.uniform(1.0, 8.0)))
        )
    else:
        field = pick(rng, bank)[shape.y0 : shape.y1, shape.x0 : shape.x1]
    c = palette(rng, 2)
    tex = colorize(field * np.float32(rng.uniform(0.1, 1.0)), c[0], c[1])
    light = (
        1.0
        + (scale * np.float32(rng.normal(0, 0.4))) * (gx - 0.5 / scale)
        + (scale * np.float32(rng.normal(-0.3, 0.3))) * (gy - 0.5 / scale)
    )
    return tex * light


def _composite(
    rng: np.random.Generator,
    cv: Canvas,
    img: np.ndarray,
    shape: Shape,
    bank: tuple[np.ndarray, ...],
    soft: np.float32,
    shadow: bool,
) -> None:
    """Alpha-blend one textured item into ``img`` in place, optionally over a drop shadow."""
    region = img[:, shape.y0 : shape.y1, shape.x0 : shape.x1]
    hh, ww = shape.distance.shape
    dy, dx = int(rng.integers(1, 6)), int(rng.integers(-4, 5))
    if shadow and dy < hh and abs(dx) < ww:
        penumbra = np.clip(shape.distance * (soft * 0.5) + 0.5, 0.0, 1.0)
        sub = region[:, dy:, max(dx, 0) : ww + min(dx, 0)]
        darkness = np.float32(rng.uniform(0.2, 0.5))
        sub *= 1.0 - darkness * penumbra[: hh - dy, max(-dx, 0) : ww - max(dx, 0)]
    alpha = np.clip(shape.distance * soft + 0.5, 0.0, 1.0)
    region += alpha * (_shape_texture(rng, cv, shape, bank) - region)


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
        shape = _random_shape(rng, cv, horizon, margin=edge + 6.0)  # room for the drop shadow
        if shape is None:
            continue
        soft = np.float32(1.0 / edge)
        _composite(rng, cv, img, shape, bank, soft, shadow=rng.random() < 0.6)
        if rng.random() < 0.3:
            border = np.float32(rng.uniform(0.08, 0.3) * shape.distance.max())
            inset = replace(shape, distance=shape.distance - border)
            _composite(rng, cv, img, inset, bank, soft, shadow=False)
