"""Materials for procedural backgrounds: related colour palettes and textured surfaces (noise,
marble, wood, stripes, tiles, bricks, planks, paint), on a plane seen straight on or in perspective.
"""

from __future__ import annotations

import numpy as np

from crocohuman.render.background.noise import Canvas, fbm, pick

TAU = np.float32(2.0 * np.pi)


def palette(rng: np.random.Generator, n: int, hue: float | None = None) -> np.ndarray:
    """(n, 3) related sRGB colours in [0, 1]: mostly muted like real interiors, sometimes vivid."""
    return palette_of(rng.random(3 * (n + 1)).tolist(), hue)


def palette_of(draws: list[float], hue: float | None = None) -> np.ndarray:
    """The palette of ``len(draws) // 3 - 1`` colours that uniform ``draws`` in [0, 1) make: the first
    three give the palette's hue and saturation, each next three a colour's offsets and value.

    Scalar Python: numpy spends ~30 µs on these few values, and a background makes ~17 palettes.
    """
    h0, s0 = draws[0] if hue is None else hue, draws[1]
    colours = []
    for i in range(3, len(draws) - 2, 3):
        h = (h0 + 0.25 * (draws[i] - 0.5)) % 1.0
        sat = min(max(s0**1.7 + 0.2 * (draws[i + 1] - 0.5), 0.0), 1.0)
        val = 0.15 + 0.8 * draws[i + 2]
        # HSV -> RGB: channel k is val * (1 - sat * clip(min(k, 4 - k), 0, 1)) with k = (5, 3, 1) + 6h mod 6
        colours.append(
            [
                val * (1.0 - sat * min(max(min(k, 4.0 - k), 0.0), 1.0))
                for k in ((o + 6.0 * h) % 6.0 for o in (5.0, 3.0, 1.0))
            ]
        )
    return np.array(colours, np.float32)


def colorize(field: np.ndarray, c0: np.ndarray, c1: np.ndarray) -> np.ndarray:
    """Map a scalar field in [0, 1] to colours on the segment c0 -> c1, planar (3, ...).

    Images are planar (channels first) throughout: broadcasting a colour over a trailing axis
    of length 3 is several times slower in numpy than over whole rows.
    """
    return c0[:, None, None] + field * (c1 - c0)[:, None, None]


def cell_pattern(rng: np.random.Generator, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def surface(
    rng: np.random.Generator, cv: Canvas, u: np.ndarray, v: np.ndarray, fade: np.ndarray | None = None
) -> np.ndarray:
    """One textured material over the whole canvas, (3, H, W).

    ``u, v`` are the material's coordinates per pixel (a plane seen straight on or in
    perspective); ``fade`` in [0, 1] pulls the pattern to its mean where it would alias.
    """
    kind = pick(rng, ("noise", "marble", "wood", "stripes", "cells", "cells", "paint"))
    c = palette(rng, 3, hue=float(rng.uniform(0.03, 0.12)) if kind == "wood" else None)
    freq = np.float32(rng.uniform(2.0, 10.0))
    if kind == "noise":
        field = fbm(rng, cv, rng.uniform(2.0, 8.0), 4, gain=rng.uniform(0.4, 0.7))
    elif kind == "marble":
        turb = fbm(rng, cv, rng.uniform(2.0, 5.0), 5, gain=0.55)
        field = 0.5 + 0.5 * np.sin(TAU * (freq * 0.3 * u + rng.uniform(1.0, 4.0) * turb))
        field **= rng.uniform(0.3, 6.0)
    elif kind == "wood":
        turb = fbm(rng, cv, rng.uniform(2.0, 6.0), 3, stretch=rng.uniform(4.0, 12.0))
        field = freq * 2.0 * v + rng.uniform(2.0, 8.0) * turb
        field -= np.floor(field)
        field **= rng.uniform(1.0, 4.0)
    elif kind == "stripes":
        duty = rng.uniform(0.2, 0.8)
        field = ((freq * u) % 1.0 < duty).astype(np.float32)
    elif kind == "cells":
        field, edge = cell_pattern(rng, freq * u, freq * v)
    else:
        field = fbm(rng, cv, rng.uniform(1.0, 3.0), 2) * np.float32(rng.uniform(0.05, 0.3))
    if fade is not None:
        field = field.mean() + fade * (field - field.mean())
    img = colorize(field, c[0], c[1])
    if kind == "cells":
        grout = np.clip(edge * (freq * 8.0) - rng.uniform(0.05, 0.4), 0.0, 1.0)
        if fade is not None:
            grout = 1.0 - fade * (1.0 - grout)
        img = c[2][:, None, None] + grout * (img - c[2][:, None, None])
    return img
