"""Procedural backgrounds: textured rooms with clutter, a few milliseconds each, from a seed.

Photos (COCO) are the best backgrounds but need a dataset on disk; these stand in when there is
none. Flat colours or pure noise would let a network find the person by colour statistics
alone, so every image mixes structured surfaces (tiles, planks, marble, wood, stripes), often a
floor/wall split with a perspective floor, and clutter with its own textures, shading, drop
shadows and depth-of-field blur, under a lighting gradient, vignette and sensor noise.

This module lays out the room and gives the camera look; the canvas and noise fields are in
noise.py, palettes and surfaces in materials.py, the items in clutter.py. Everything is
vectorised numpy on planar (3, H, W) float32 images in [0, 1]; 256x256 costs about 5 ms on one
core, 2.2 ms of it per-item Python (scripts/bench_background.py). The output depends only on the
state of ``rng``.
"""

from __future__ import annotations

import numpy as np

from crocohuman.render.background.clutter import draw_clutter
from crocohuman.render.background.materials import palette, surface
from crocohuman.render.background.noise import Canvas, canvas, noise_bank, pick, sensor_noise_tile, upsample


def _perspective_floor(
    cv: Canvas, depth: np.ndarray, cx: float, height: float, yaw: float, freq_hint: float = 6.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def _backdrop(rng: np.random.Generator, cv: Canvas) -> tuple[np.ndarray, float | None]:
    """The scene behind the clutter: a room (wall over a floor), a receding ground, or a surface.

    Returns the image and the horizon height (normalised y) when there is a floor.
    """
    layout = pick(rng, ("room", "room", "ground", "flat"))
    ang = rng.uniform(-0.3, 0.3) if rng.random() < 0.3 else 0.0
    cos, sin = np.float32(np.cos(ang)), np.float32(np.sin(ang))
    u, v = cos * cv.x - sin * cv.y, sin * cv.x + cos * cv.y
    if layout == "flat":
        return surface(rng, cv, u, v), None
    cx = float(cv.w / max(cv.h, cv.w) * rng.uniform(0.2, 0.8))
    horizon = float(rng.uniform(0.25, 0.75) if layout == "room" else rng.uniform(-0.6, 0.1))
    slope = float(rng.normal(0.0, 0.05))
    depth = cv.y - (horizon + slope * (cv.x - cx))
    fu, fv, fade = _perspective_floor(cv, depth, cx, rng.uniform(0.1, 0.6), rng.uniform(0, np.pi))
    img = surface(rng, cv, fu, fv, fade)
    if layout == "ground":
        return img, horizon
    wall = surface(rng, cv, u, v)
    if rng.random() < 0.5:  # a room corner: the other wall is lit differently
        side = cv.x > rng.uniform(0.1, 0.9) * cv.w / max(cv.h, cv.w)
        wall *= np.where(side, np.float32(rng.uniform(0.65, 0.9)), np.float32(1.0))
    if rng.random() < 0.6:  # a skirting board along the floor line
        board = (depth > -rng.uniform(0.01, 0.04)) & (depth <= 0)
        wall[:, board] = palette(rng, 1)[0][:, None]
    floor = np.clip(depth * max(cv.h, cv.w) + 0.5, 0.0, 1.0)
    return wall + floor * (img - wall), horizon


def _finish(rng: np.random.Generator, cv: Canvas, img: np.ndarray) -> np.ndarray:
    """Camera look: lighting gradient, white balance, vignette, sensor noise; to (H, W, 3) uint8."""
    light = 1.0 + np.float32(rng.normal(0, 0.25)) * (cv.x - 0.5) + np.float32(rng.normal(0, 0.25)) * (cv.y - 0.5)
    light = light * (1.0 - np.float32(rng.uniform(0.0, 0.5)) * cv.vignette)
    uneven = rng.uniform(0.0, 0.6, 2).astype(np.float32)  # smooth random brightness along x, y
    along_x = upsample(rng.random((1, 3), dtype=np.float32), 1, cv.w) - 0.5
    along_y = upsample(rng.random((3, 1), dtype=np.float32), cv.h, 1) - 0.5
    light = light * ((1.0 + uneven[0] * along_x) * (1.0 + uneven[1] * along_y))
    gain = np.float32(rng.uniform(0.8, 1.2)) * rng.normal(1.0, 0.05, 3).astype(np.float32) * 255.0
    img *= light
    img *= gain[:, None, None]
    oy, ox = int(rng.integers(cv.h)), int(rng.integers(cv.w))
    grain = sensor_noise_tile(cv.h, cv.w)[:, oy : oy + cv.h, ox : ox + cv.w]
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
        img = 0.5 * img + 0.25 * (p.take(range(n), axis) + p.take(range(2, n + 2), axis))
    return img


def procedural_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A random cluttered background, (height, width, 3) uint8 sRGB; deterministic given ``rng``.

    The room and the far clutter form one layer; when it is out of focus it is drawn at low
    resolution (32-80 px across) and smoothly enlarged, which blurs it and costs less. Near
    clutter is drawn sharp on top.
    """
    cv = far_cv = canvas(height, width)
    if rng.random() < 0.4:
        scale = pick(rng, (32, 48, 80)) / max(height, width)
        if scale < 1.0:
            far_cv = canvas(max(1, round(height * scale)), max(1, round(width * scale)))
    img, horizon = _backdrop(rng, far_cv)
    img = np.ascontiguousarray(img, dtype=np.float32)  # owned and writable: clutter goes in place
    bank = noise_bank(rng, far_cv)
    draw_clutter(rng, far_cv, img, int(rng.integers(4, 14)), horizon, bank, blur=(1.0, 4.0))
    if far_cv is not cv:  # smoothing first hides the low resolution's jagged pattern edges
        img = upsample(_smooth(img), height, width)
        bank = noise_bank(rng, cv)
    draw_clutter(rng, cv, img, int(rng.integers(1, 7)), horizon, bank, blur=(0.7, 1.2))
    return _finish(rng, cv, img)


class ProceduralBackgrounds:
    """Background source drawing :func:`procedural_background` images (stateless)."""

    def sample(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        return procedural_background(rng, height, width)

    def __repr__(self) -> str:
        return "ProceduralBackgrounds()"
