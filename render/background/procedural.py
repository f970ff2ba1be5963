"""Procedural backgrounds: textured rooms with clutter, a few milliseconds each, from a seed.

Photos (COCO) are the best backgrounds but need a dataset on disk; these stand in when there is
none. Flat colours or pure noise would let a network find the person by colour statistics
alone, so every image mixes structured surfaces (tiles, planks, marble, wood, stripes), often a
floor/wall split with a perspective floor, and clutter with its own textures, shading, drop
shadows and depth-of-field blur, under a lighting gradient, vignette and sensor noise.

Everything is vectorised numpy on planar (3, H, W) float32 images in [0, 1]. Noise lattices are
enlarged by separable gathers, and whatever depends only on the image size (pixel grids,
interpolation taps, the noise tile) is cached, so 256x256 costs about 3 ms on one core
(scripts/bench_background.py). The output depends only on the state of ``rng``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TypeVar

import numpy as np

_TAU = np.float32(2.0 * np.pi)
_T = TypeVar("_T")


def _pick(rng: np.random.Generator, options: tuple[_T, ...]) -> _T:
    """A uniformly random option (repeat an option to weight it)."""
    return options[int(rng.integers(len(options)))]


@dataclass(frozen=True)
class _Canvas:
    """Pixel-centre coordinates in units of the longer image side, so looks don't depend on size."""

    h: int
    w: int
    x: np.ndarray  # (1, W) float32
    y: np.ndarray  # (H, 1) float32
    vignette: np.ndarray  # (H, W) float32 squared distance to the centre, 1 at the corners


@lru_cache(maxsize=8)
def _canvas(h: int, w: int) -> _Canvas:
    s = float(max(h, w))
    x = ((np.arange(w, dtype=np.float32) + 0.5) / s)[None, :]
    y = ((np.arange(h, dtype=np.float32) + 0.5) / s)[:, None]
    r2 = (x - w / (2 * s)) ** 2 + (y - h / (2 * s)) ** 2
    for a in (x, y, r2):
        a.flags.writeable = False
    return _Canvas(h, w, x, y, r2 / max(float(r2.max()), 1e-12))


@lru_cache(maxsize=128)
def _taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left index, right index and right weight to resize n_in cell-centred samples to n_out."""
    t = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0, n_in - 1)
    left = np.minimum(np.floor(t).astype(np.intp), max(n_in - 2, 0))
    return left, np.minimum(left + 1, n_in - 1), (t - left).astype(np.float32)


def _resize(a: np.ndarray, h: int, w: int) -> np.ndarray:
    """Linearly resize the last two axes of ``a`` to (h, w), separably, with gathers.

    Gathers, not matrix products: for these sizes BLAS starts threads, which crawl when the
    cores are busy with other render workers.
    """
    left, right, f = _taps(a.shape[-2], h)
    lo = a.take(left, axis=-2)  # take, unlike fancy indexing, keeps the result C-ordered
    a = lo + (a.take(right, axis=-2) - lo) * f[:, None]
    left, right, f = _taps(a.shape[-1], w)
    lo = a.take(left, axis=-1)
    return lo + (a.take(right, axis=-1) - lo) * f


def _upsample(a: np.ndarray, h: int, w: int) -> np.ndarray:
    """Enlarge the last two axes of ``a`` to (h, w) by repeated linear doubling.

    Chained linear steps converge to a smooth spline, so coarse lattices come out without the
    visible kinks of a single interpolation step.
    """
    while 2 * a.shape[-2] <= h or 2 * a.shape[-1] <= w:
        a = _resize(a, min(2 * a.shape[-2], h), min(2 * a.shape[-1], w))
    return a if a.shape[-2:] == (h, w) else _resize(a, h, w)


@lru_cache(maxsize=4)
def _sensor_noise_tile(h: int, w: int) -> np.ndarray:
    """Fixed Gaussian noise (int8, sigma 32) twice the image size; a random crop is the grain."""
    tile = np.random.default_rng(0).normal(0.0, 32.0, (3, 2 * h, 2 * w))
    tile = np.clip(tile, -127, 127).astype(np.int8)
    tile.flags.writeable = False
    return tile


def _fbm(rng: np.random.Generator, cv: _Canvas, cells: float, octaves: int,
         gain: float = 0.5, stretch: float = 1.0) -> np.ndarray:
    """Fractal value noise in [0, 1], (H, W); ``stretch`` > 1 elongates it along x (grain).

    Built like a pyramid: each octave's lattice is the previous one doubled plus new random
    values, and the finest one is doubled on up to full resolution.
    """
    s = max(cv.h, cv.w)
    gy, gx = max(1, round(cells * cv.h / s)), max(1, round(cells * cv.w / s / stretch))
    grid = rng.random((gy, gx), dtype=np.float32)
    amp = np.float32(1.0)
    for _ in range(1, octaves):
        gy, gx, amp = 2 * gy, 2 * gx, amp * np.float32(gain)
        grid = _resize(grid, gy, gx) + amp * rng.random((gy, gx), dtype=np.float32)
    out = _upsample(grid, cv.h, cv.w)
    lo, hi = out.min(), out.max()
    out -= lo
    out *= np.float32(1.0 / max(hi - lo, 1e-6))
    return out


def _colors(rng: np.random.Generator, n: int, hue: float | None = None) -> np.ndarray:
    """(n, 3) related sRGB colours in [0, 1]: mostly muted like real interiors, sometimes vivid."""
    r = rng.random((n + 1, 3), dtype=np.float32)  # row 0: the palette's hue and saturation
    h = ((r[0, 0] if hue is None else hue) + 0.25 * (r[1:, 0] - 0.5)) % 1.0
    sat = np.clip(r[0, 1] ** 1.7 + 0.2 * (r[1:, 1] - 0.5), 0.0, 1.0)
    val = 0.15 + 0.8 * r[1:, 2]
    k = (np.array([5.0, 3.0, 1.0], np.float32) + 6.0 * h[:, None]) % 6.0  # HSV -> RGB per column
    return val[:, None] * (1.0 - sat[:, None] * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0))


def _colorize(field: np.ndarray, c0: np.ndarray, c1: np.ndarray) -> np.ndarray:
    """Map a scalar field in [0, 1] to colours on the segment c0 -> c1, planar (3, ...).

    Images are planar (channels first) throughout: broadcasting a colour over a trailing axis
    of length 3 is several times slower in numpy than over whole rows.
    """
    return c0[:, None, None] + field * (c1 - c0)[:, None, None]


def _cells(rng: np.random.Generator, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Checker, tiles, bricks or planks: per-cell shade in [0, 1] and distance to the grout."""
    kind = int(rng.integers(4))
    aspect = (1.0, 1.0, rng.uniform(1.8, 3.0), rng.uniform(4.0, 9.0))[kind]
    row_f = np.floor(v)
    row = row_f.astype(np.int32)
    if kind == 2:
        u = u + 0.5 * (row & 1).astype(np.float32)
    elif kind == 3:
        u = u + rng.uniform(0.0, aspect, 32).astype(np.float32)[row & 31]
    gu = u * np.float32(1.0 / aspect)
    col_f = np.floor(gu)
    col = col_f.astype(np.int32)
    if kind == 0:
        return ((row + col) & 1).astype(np.float32), np.ones(np.broadcast(u, v).shape, np.float32)
    lo, hi = 0.5 - 0.4 * rng.random(), 0.5 + 0.4 * rng.random()
    shade = rng.uniform(lo, hi, 64).astype(np.float32)[(row * 31 + col * 17) & 63]
    fu, fv = gu - col_f, v - row_f
    edge = np.minimum(np.minimum(fu, 1.0 - fu) * np.float32(aspect), np.minimum(fv, 1.0 - fv))
    return shade, edge


def _surface(rng: np.random.Generator, cv: _Canvas, u: np.ndarray, v: np.ndarray,
             fade: np.ndarray | None = None) -> np.ndarray:
    """One textured material over the whole canvas, (3, H, W).

    ``u, v`` are the material's coordinates per pixel (a plane seen straight on or in
    perspective); ``fade`` in [0, 1] pulls the pattern to its mean where it would alias.
    """
    kind = _pick(rng, ("noise", "marble", "wood", "stripes", "cells", "cells", "paint"))
    c = _colors(rng, 3, hue=float(rng.uniform(0.03, 0.12)) if kind == "wood" else None)
    freq = np.float32(rng.uniform(2.0, 10.0))
    if kind == "noise":
        field = _fbm(rng, cv, rng.uniform(2.0, 8.0), 4, gain=rng.uniform(0.4, 0.7))
    elif kind == "marble":
        turb = _fbm(rng, cv, rng.uniform(2.0, 5.0), 5, gain=0.55)
        field = 0.5 + 0.5 * np.sin(_TAU * (freq * 0.3 * u + rng.uniform(1.0, 4.0) * turb))
        field **= rng.uniform(0.3, 6.0)
    elif kind == "wood":
        turb = _fbm(rng, cv, rng.uniform(2.0, 6.0), 3, stretch=rng.uniform(4.0, 12.0))
        field = freq * 2.0 * v + rng.uniform(2.0, 8.0) * turb
        field -= np.floor(field)
        field **= rng.uniform(1.0, 4.0)
    elif kind == "stripes":
        duty = rng.uniform(0.2, 0.8)
        field = ((freq * u) % 1.0 < duty).astype(np.float32)
    elif kind == "cells":
        field, edge = _cells(rng, freq * u, freq * v)
    else:
        field = _fbm(rng, cv, rng.uniform(1.0, 3.0), 2) * np.float32(rng.uniform(0.05, 0.3))
    if fade is not None:
        field = field.mean() + fade * (field - field.mean())
    img = _colorize(field, c[0], c[1])
    if kind == "cells":
        grout = np.clip(edge * (freq * 8.0) - rng.uniform(0.05, 0.4), 0.0, 1.0)
        if fade is not None:
            grout = 1.0 - fade * (1.0 - grout)
        img = c[2][:, None, None] + grout * (img - c[2][:, None, None])
    return img


def _perspective_floor(cv: _Canvas, depth: np.ndarray, cx: float, height: float,
                       yaw: float, freq_hint: float = 6.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ground-plane coordinates (u, v) below a horizon, and the anti-aliasing fade.

    ``depth`` is the pixel's distance below the horizon (normalised units, > 0 on the floor); a
    camera ``height`` above the plane sees the point at distance height / depth. ``fade`` drops
    where a pattern of ``freq_hint`` cycles per unit would be under ~4 pixels per cycle.
    """
    d = np.maximum(depth, 1e-3)
    z = height / d
    x = (cv.x - cx) * z
    cos, sin = np.float32(np.cos(yaw)), np.float32(np.sin(yaw))
    u, v = cos * x - sin * z, sin * x + cos * z
    px = 1.0 / max(cv.h, cv.w)
    cycles = freq_hint * z * px * np.maximum(1.0, (np.abs(cv.x - cx) + px) / d) / d
    fade = np.clip(2.0 - 4.0 * cycles, 0.0, 1.0)
    return u, v, fade


def _backdrop(rng: np.random.Generator, cv: _Canvas) -> tuple[np.ndarray, float | None]:
    """The scene behind the clutter: a room (wall over a floor), a receding ground, or a surface.

    Returns the image and the horizon height (normalised y) when there is a floor.
    """
    layout = _pick(rng, ("room", "room", "ground", "flat"))
    ang = rng.uniform(-0.3, 0.3) if rng.random() < 0.3 else 0.0
    cos, sin = np.float32(np.cos(ang)), np.float32(np.sin(ang))
    u, v = cos * cv.x - sin * cv.y, sin * cv.x + cos * cv.y
    if layout == "flat":
        return _surface(rng, cv, u, v), None
    cx = float(cv.w / max(cv.h, cv.w) * rng.uniform(0.2, 0.8))
    horizon = float(rng.uniform(0.25, 0.75) if layout == "room" else rng.uniform(-0.6, 0.1))
    slope = float(rng.normal(0.0, 0.05))
    depth = cv.y - (horizon + slope * (cv.x - cx))
    fu, fv, fade = _perspective_floor(cv, depth, cx, rng.uniform(0.1, 0.6), rng.uniform(0, np.pi))
    img = _surface(rng, cv, fu, fv, fade)
    if layout == "ground":
        return img, horizon
    wall = _surface(rng, cv, u, v)
    if rng.random() < 0.5:  # a room corner: the other wall is lit differently
        side = cv.x > rng.uniform(0.1, 0.9) * cv.w / max(cv.h, cv.w)
        wall *= np.where(side, np.float32(rng.uniform(0.65, 0.9)), np.float32(1.0))
    if rng.random() < 0.6:  # a skirting board along the floor line
        board = (depth > -rng.uniform(0.01, 0.04)) & (depth <= 0)
        wall[:, board] = _colors(rng, 1)[0][:, None]
    floor = np.clip(depth * max(cv.h, cv.w) + 0.5, 0.0, 1.0)
    return wall + floor * (img - wall), horizon


@dataclass(frozen=True)
class _Shape:
    """A clutter item: its bounding box and a signed-distance function (pixels, > 0 inside)."""

    y0: int
    y1: int
    x0: int
    x1: int
    distance: np.ndarray  # (y1 - y0, x1 - x0) float32


def _random_shape(rng: np.random.Generator, cv: _Canvas, horizon: float | None,
                  margin: float) -> _Shape | None:
    """A rectangle, ellipse or convex polygon somewhere in the frame; furniture stands on the floor.

    The bounding box is tight around the shape plus ``margin`` pixels for soft edges and shadow;
    None when it falls outside the frame.
    """
    s = max(cv.h, cv.w)
    size = s * float(np.exp(rng.uniform(np.log(0.04), np.log(0.45))))
    a, b = size * rng.uniform(0.3, 1.0), size * rng.uniform(0.3, 1.0)
    cy, cx = rng.uniform(-0.05, 1.05) * cv.h, rng.uniform(-0.05, 1.05) * cv.w
    kind = _pick(rng, ("box", "box", "ellipse", "polygon"))
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
            edge = ((pv - np.float32(vy[i])) * np.float32(ex * inv)
                    - (pu - np.float32(vx[i])) * np.float32(ey * inv))
            dist = edge if dist is None else np.minimum(dist, edge)
    return _Shape(y0, y1, x0, x1, dist)


def _shape_texture(rng: np.random.Generator, cv: _Canvas, shape: _Shape,
                   bank: tuple[np.ndarray, ...]) -> np.ndarray:
    """Colours for a clutter item, (3, h, w): a noise field from the bank or a cell pattern
    (shelves, tiles, books) in its own palette, shaded by a linear light gradient."""
    gx = cv.x[:, shape.x0:shape.x1] - cv.x[0, shape.x0]
    gy = cv.y[shape.y0:shape.y1] - cv.y[shape.y0, 0]
    scale = np.float32(max(cv.h, cv.w) / max(shape.distance.shape))  # 1 / item size
    if rng.random() < 0.3:
        field, _ = _cells(rng, gx * (scale * np.float32(rng.uniform(1.0, 8.0))),
                          gy * (scale * np.float32(rng.uniform(1.0, 8.0))))
    else:
        field = _pick(rng, bank)[shape.y0:shape.y1, shape.x0:shape.x1]
    c = _colors(rng, 2)
    tex = _colorize(field * np.float32(rng.uniform(0.1, 1.0)), c[0], c[1])
    light = (1.0 + (scale * np.float32(rng.normal(0, 0.4))) * (gx - 0.5 / scale)
             + (scale * np.float32(rng.normal(-0.3, 0.3))) * (gy - 0.5 / scale))
    return tex * light


def _composite(rng: np.random.Generator, cv: _Canvas, img: np.ndarray, shape: _Shape,
               bank: tuple[np.ndarray, ...], soft: np.float32, shadow: bool) -> None:
    """Alpha-blend one textured item into ``img`` in place, optionally over a drop shadow."""
    region = img[:, shape.y0:shape.y1, shape.x0:shape.x1]
    hh, ww = shape.distance.shape
    dy, dx = int(rng.integers(1, 6)), int(rng.integers(-4, 5))
    if shadow and dy < hh and abs(dx) < ww:
        penumbra = np.clip(shape.distance * (soft * 0.5) + 0.5, 0.0, 1.0)
        sub = region[:, dy:, max(dx, 0):ww + min(dx, 0)]
        darkness = np.float32(rng.uniform(0.2, 0.5))
        sub *= 1.0 - darkness * penumbra[:hh - dy, max(-dx, 0):ww - max(dx, 0)]
    alpha = np.clip(shape.distance * soft + 0.5, 0.0, 1.0)
    region += alpha * (_shape_texture(rng, cv, shape, bank) - region)


def _draw_clutter(rng: np.random.Generator, cv: _Canvas, img: np.ndarray, count: int,
                  horizon: float | None, bank: tuple[np.ndarray, ...], blur: tuple[float, float]) -> None:
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


def _finish(rng: np.random.Generator, cv: _Canvas, img: np.ndarray) -> np.ndarray:
    """Camera look: lighting gradient, white balance, vignette, sensor noise; to (H, W, 3) uint8."""
    light = (1.0 + np.float32(rng.normal(0, 0.25)) * (cv.x - 0.5)
             + np.float32(rng.normal(0, 0.25)) * (cv.y - 0.5))
    light = light * (1.0 - np.float32(rng.uniform(0.0, 0.5)) * cv.vignette)
    uneven = rng.uniform(0.0, 0.6, 2).astype(np.float32)  # smooth random brightness along x, y
    along_x = _upsample(rng.random((1, 3), dtype=np.float32), 1, cv.w) - 0.5
    along_y = _upsample(rng.random((3, 1), dtype=np.float32), cv.h, 1) - 0.5
    light = light * ((1.0 + uneven[0] * along_x) * (1.0 + uneven[1] * along_y))
    gain = np.float32(rng.uniform(0.8, 1.2)) * rng.normal(1.0, 0.05, 3).astype(np.float32) * 255.0
    img *= light
    img *= gain[:, None, None]
    oy, ox = int(rng.integers(cv.h)), int(rng.integers(cv.w))
    grain = _sensor_noise_tile(cv.h, cv.w)[:, oy:oy + cv.h, ox:ox + cv.w]
    img += grain * np.float32(rng.uniform(0.0, 4.0) / 32.0)
    img += 0.5  # round, not truncate, below
    np.clip(img, 0.0, 255.0, out=img)
    out = np.empty((cv.h, cv.w, 3), np.uint8)
    for c in range(3):
        out[..., c] = img[c]
    return out


def _smooth(img: np.ndarray) -> np.ndarray:
    """[1, 2, 1] / 4 blur along both image axes (edges repeated)."""
    for axis in (1, 2):
        pad = [(0, 0)] * 3
        pad[axis] = (1, 1)
        p = np.pad(img, pad, mode="edge")
        n = img.shape[axis]
        img = 0.5 * img + 0.25 * (p.take(range(0, n), axis) + p.take(range(2, n + 2), axis))
    return img


def _noise_bank(rng: np.random.Generator, cv: _Canvas) -> tuple[np.ndarray, ...]:
    """Noise fields that clutter items take their textures from (one field, four flips)."""
    noise = _fbm(rng, cv, rng.uniform(3.0, 10.0), 3)
    return noise, noise[::-1], noise[:, ::-1], noise[::-1, ::-1]


def procedural_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A random cluttered background, (height, width, 3) uint8 sRGB; deterministic given ``rng``.

    The room and the far clutter form one layer; when it is out of focus it is drawn at low
    resolution (32-80 px across) and smoothly enlarged, which blurs it and costs less. Near
    clutter is drawn sharp on top.
    """
    cv = far_cv = _canvas(height, width)
    if rng.random() < 0.4:
        scale = _pick(rng, (32, 48, 80)) / max(height, width)
        if scale < 1.0:
            far_cv = _canvas(max(1, round(height * scale)), max(1, round(width * scale)))
    img, horizon = _backdrop(rng, far_cv)
    img = np.ascontiguousarray(img, dtype=np.float32)  # owned and writable: clutter goes in place
    bank = _noise_bank(rng, far_cv)
    _draw_clutter(rng, far_cv, img, int(rng.integers(4, 14)), horizon, bank, blur=(1.0, 4.0))
    if far_cv is not cv:  # smoothing first hides the low resolution's jagged pattern edges
        img = _upsample(_smooth(img), height, width)
        bank = _noise_bank(rng, cv)
    _draw_clutter(rng, cv, img, int(rng.integers(1, 7)), horizon, bank, blur=(0.7, 1.2))
    return _finish(rng, cv, img)


class ProceduralBackgrounds:
    """Background source drawing :func:`procedural_background` images (stateless)."""

    def sample(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        return procedural_background(rng, height, width)

    def __repr__(self) -> str:
        return "ProceduralBackgrounds()"
