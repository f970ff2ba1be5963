"""Procedural skin and clothing textures painted on a body's UV atlas from its rest geometry.

No body model we can ship comes with skin or clothes, so each identity gets a texture painted
per texel from where that texel sits on the rest body: its DensePose part, the position along
the part's bone (chart V) and its rest height. Garments are then regions in 3D (sleeve length,
trouser length, hairline) and stay continuous across UV seams. Hands, which fill hand crops, get
nail polish and rings (bands a body provides as ``ring:*`` features, e.g. ``hand_jewellery``) for a
share of identities, drawn after everything else. The canvas (what each texel is)
is baked once per topology, the noise fields once per atlas size (``texture_noise``); painting an
identity is a few vectorised float32 passes, on the texels of each region (a few ms at 512²).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy import ndimage

from crocohuman.render.body.base import BodyTopology
from crocohuman.render.body.texture_noise import SKIN_SIGMA, SMOOTH_SIGMAS, NoiseBank, noise_bank
from crocohuman.render.raster import bake_uv_attributes

TORSO, HEAD = (1, 2), (23, 24)
TORSO_FRONT = 2  # DensePose's torso_front
UPPER_ARM, LOWER_ARM, HANDS = (15, 16, 17, 18), (19, 20, 21, 22), (3, 4)
UPPER_LEG, LOWER_LEG, FEET = (7, 8, 9, 10), (11, 12, 13, 14), (5, 6)

# Skin tones (sRGB) from very light to very dark; identities interpolate between neighbours.
SKIN_TONES = np.array(
    [
        [255, 224, 196],
        [241, 194, 160],
        [224, 172, 131],
        [198, 140, 100],
        [165, 110, 74],
        [128, 82, 54],
        [96, 62, 40],
        [66, 42, 28],
    ],
    dtype=np.float32,
)
HAIR_COLORS = np.array(
    [
        [20, 16, 14],
        [45, 30, 20],
        [80, 55, 35],
        [120, 85, 50],
        [170, 130, 80],
        [200, 170, 120],
        [140, 60, 30],
        [150, 150, 150],
        [230, 225, 215],
    ],
    dtype=np.float32,
)
HAIR_FREQUENCIES = np.array([0.3, 0.25, 0.15, 0.08, 0.05, 0.03, 0.04, 0.06, 0.04])  # mostly dark
SKIN_MOTTLE = 0.012  # standard deviation of the skin's relative brightness (smooth blotches)
IRIS_COLORS = np.array([[60, 40, 25], [90, 120, 160], [80, 110, 60], [40, 30, 20]], dtype=np.float32)
# Nail polishes (sRGB): reds, pinks, nude, dark, vivid; worn by a share of identities.
NAIL_POLISHES = np.array(
    [
        [170, 20, 35],
        [120, 15, 30],
        [230, 110, 150],
        [245, 180, 190],
        [215, 170, 150],
        [190, 140, 120],
        [35, 25, 35],
        [60, 20, 70],
        [40, 80, 200],
        [40, 170, 120],
        [250, 140, 40],
    ],
    dtype=np.float32,
)
POLISH_SHARE = 0.28
# Ring metals (sRGB): gold, silver, rose gold, dark; worn (1 to 3 rings) by a share of identities.
RING_METALS = np.array([[212, 175, 80], [200, 200, 205], [200, 140, 120], [70, 70, 75]], dtype=np.float32)
RING_SHARE = 0.3
RING_PREFIX = "ring:"  # canvas features named so are ring bands (``hand_jewellery``)


@dataclass
class TextureCanvas:
    """What each texel of a body's atlas shows on the rest body (baked once per topology)."""

    part: np.ndarray  # (S, S) int, DensePose part 1..24 (nearest face for uncovered texels)
    chart_v: np.ndarray  # (S, S) position along the part's bone, 0 proximal .. 1 distal
    chart_u: np.ndarray  # (S, S) position around the bone
    height: np.ndarray  # (S, S) rest height, 0 at the feet .. 1 at the top of the head
    position: np.ndarray  # (S, S, 3) rest position in the world (facing -Y), metres
    features: dict[str, np.ndarray] = field(default_factory=dict)  # optional masks (eyes, lips, ...)

    @property
    def size(self) -> int:
        return self.part.shape[0]

    @cached_property
    def regions(self) -> CanvasRegions:
        """What painting an identity reads of this canvas, computed on first use and kept."""
        return CanvasRegions(self)


def bake_canvas(
    topology: BodyTopology, rest_vertices: np.ndarray, size: int = 512, features: dict[str, np.ndarray] | None = None
) -> TextureCanvas:
    """Rasterise part, chart and rest height into UV space; fill gaps from the nearest texel."""
    z = rest_vertices[:, 2]
    height = (z - z.min()) / max(z.max() - z.min(), 1e-9)
    corner_height = height[topology.faces]
    corner_part = np.repeat(topology.face_parts[:, None].astype(np.float32), 3, axis=1)
    values = np.stack([corner_part, topology.face_iuv[..., 1], topology.face_iuv[..., 0], corner_height], -1)
    corner_position = np.concatenate([rest_vertices[topology.faces], corner_height[..., None]], -1)
    baked = np.concatenate(
        [
            bake_uv_attributes(topology.face_uvs, values, size),
            bake_uv_attributes(topology.face_uvs, corner_position, size)[..., :3],
        ],
        -1,
    )
    empty = np.isnan(baked[..., 0])
    if empty.all():
        raise ValueError("the body's texture coordinates cover no texel of the atlas")
    nearest = ndimage.distance_transform_edt(empty, return_distances=False, return_indices=True)
    filled = baked[nearest[0], nearest[1]]
    return TextureCanvas(
        part=np.rint(filled[..., 0]).astype(np.int64),
        chart_v=filled[..., 1],
        chart_u=filled[..., 2],
        height=filled[..., 3],
        position=filled[..., 4:7],
        features=features or {},
    )


class Texels:
    """A region of the atlas: its texels' flat (row-major) indices, rows and columns, and the
    canvas's values there."""

    def __init__(self, canvas: TextureCanvas, mask: np.ndarray):
        self.index = np.flatnonzero(mask)
        self.row, self.col = np.divmod(self.index, canvas.size)
        self.part = canvas.part.reshape(-1)[self.index]
        self.v, self.u, self.height = (
            a.reshape(-1)[self.index] for a in (canvas.chart_v, canvas.chart_u, canvas.height)
        )
        self.x, self.y = (canvas.position[..., k].reshape(-1)[self.index] for k in (0, 1))


class CanvasRegions:
    """What ``sample_texture`` reads of a canvas, computed once per canvas: the regions painted per
    identity (clothes, shoes, head, face features) and their constant masks. Painting then only
    touches a region's texels instead of whole-atlas arrays (same bytes: every value is computed by
    the same operations, on the texels that keep it)."""

    def __init__(self, canvas: TextureCanvas):
        part = canvas.part
        self.cloth = cloth = Texels(canvas, np.isin(part, TORSO + UPPER_ARM + LOWER_ARM + UPPER_LEG + LOWER_LEG))
        self.torso = np.isin(cloth.part, TORSO)
        self.torso_front = cloth.part == TORSO_FRONT
        self.arm = np.isin(cloth.part, UPPER_ARM + LOWER_ARM)  # 0..1 upper arm, 1..2 lower arm
        self.arm_position = np.where(np.isin(cloth.part, LOWER_ARM), 1.0 + cloth.v, cloth.v)
        self.leg = np.isin(cloth.part, UPPER_LEG + LOWER_LEG)  # 0..1 thigh, 1..2 shank
        self.leg_position = np.where(np.isin(cloth.part, LOWER_LEG), 1.0 + cloth.v, cloth.v)
        self.shoes = shoes = Texels(canvas, np.isin(part, FEET) | (np.isin(part, LOWER_LEG) & (canvas.chart_v > 0.93)))
        empty = np.zeros(0, bool)
        has_shoes = shoes.index.size > 0
        self.toe = shoes.y < np.quantile(shoes.y, 0.3) if has_shoes else empty  # the rest body faces -Y
        self.sole = shoes.height < np.quantile(shoes.height, 0.15) if has_shoes else empty
        self.head = head = Texels(canvas, np.isin(part, HEAD))
        self.behind = head.y > np.median(head.y) - 0.01 if head.index.size else empty  # the back half (face is -Y)
        self.features: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # name: (texels, alpha (K,) float32)
        for name, mask in canvas.features.items():
            alpha = mask.astype(np.float32).reshape(-1)
            index = np.flatnonzero(alpha)
            self.features[name] = (index, alpha[index])


def _paint(image: np.ndarray, texels: np.ndarray, colors: np.ndarray) -> None:
    """``image[:, texels] = colors`` for a planar image (3, N), one channel at a time (twice as fast)."""
    for channel in range(3):
        image[channel, texels] = colors[channel]


def _fabric(rng: np.random.Generator, cloth: Texels, where: np.ndarray, noise: NoiseBank) -> np.ndarray:
    """A garment pattern (3, K) float32 in [0, 255] on the K ``cloth`` texels ``where`` is true:
    solid, stripes, checks, dots or mottled, with a grain."""
    hue_colors = rng.uniform(0, 255, (2, 3))
    if rng.random() < 0.4:  # muted, everyday colours
        grey = rng.uniform(20, 230)
        hue_colors = grey + (hue_colors - grey) * rng.uniform(0.0, 0.5)
    a, b = hue_colors.astype(np.float32)[..., None]
    h, u, row, col = cloth.height[where], cloth.u[where], cloth.row[where], cloth.col[where]
    kind = rng.choice(["solid", "stripes", "checks", "dots", "mottled"], p=[0.35, 0.2, 0.15, 0.1, 0.2])
    if kind == "solid":
        weight = np.zeros_like(h)
    elif kind == "stripes":
        weight = (np.sin(h * rng.uniform(60, 250) + rng.uniform(0, 6.3)) > rng.uniform(-0.5, 0.5)).astype(np.float32)
    elif kind == "checks":
        f = rng.uniform(40, 160)
        weight = ((np.sin(h * f) > 0) ^ (np.sin(u * f / 8 * np.pi) > 0)).astype(np.float32) * 0.7
    elif kind == "dots":
        f = rng.uniform(80, 200)
        weight = ((np.sin(h * f) * np.sin(u * f / 6 * np.pi)) > 0.6).astype(np.float32)
    else:
        blotches = noise.smooth[SMOOTH_SIGMAS[rng.integers(len(SMOOTH_SIGMAS))]].at(rng, row, col)
        weight = np.clip(0.5 + 0.35 * blotches, 0, 1)
    grain = 1.0 + 0.06 * noise.white.at(rng, row, col)
    return (a + (b - a) * weight) * grain


def _front_details(
    rng: np.random.Generator, cloth: Texels, front: np.ndarray, image: np.ndarray, skin: np.ndarray
) -> None:
    """What makes a top's front differ from its back, as on real clothes: a neckline showing skin
    and often a chest print or a contrasting placket. Without them, front and back views of a
    body differ only by the face, and the heading of a person is needlessly ambiguous.

    ``front``: which ``cloth`` texels are the top's front; ``image`` (3, S * S) is painted in place."""
    if not front.any():
        return
    x, height = cloth.x, cloth.height
    collar = height[front].max()
    depth, slope = rng.uniform(0.015, 0.07), rng.uniform(0.0, 0.6)  # scoop (slope 0) to V neck
    _paint(image, cloth.index[front & (height > collar - depth + slope * np.abs(x))], skin[:, None])
    detail = rng.choice(["print", "placket", "none"], p=[0.45, 0.25, 0.3])
    if detail == "print":
        centre, half_width, half_height = (
            collar - rng.uniform(0.07, 0.1),
            rng.uniform(0.04, 0.08),
            rng.uniform(0.02, 0.05),
        )
        patch = front & (np.abs(x) < half_width) & (np.abs(height - centre) < half_height)
        _paint(image, cloth.index[patch], rng.uniform(0, 255, (3, 1)))
    elif detail == "placket":
        strip = front & (np.abs(x) < rng.uniform(0.008, 0.02)) & (height < collar - depth)
        _paint(image, cloth.index[strip], rng.uniform(0, 255, (3, 1)))


def _shoe(rng: np.random.Generator, regions: CanvasRegions) -> np.ndarray:
    """Shoe colours (3, K) of the shoe texels: an upper, a sole of another colour and a toe cap at the front."""
    upper = rng.uniform(10, 240, (3, 1)) * (0.4 if rng.random() < 0.5 else 1.0)
    sole = np.full((3, 1), 235.0) if rng.random() < 0.6 else np.full((3, 1), 35.0)
    color = np.where(regions.toe, upper * rng.uniform(0.5, 0.8) + sole * 0.3, upper)
    return np.where(regions.sole, sole, color)


def _blend(image: np.ndarray, index: np.ndarray, alpha: np.ndarray, color: np.ndarray) -> None:
    """Lay ``color`` (3,) over the texels ``index`` by ``alpha``: texels at alpha 0 keep their colour."""
    _paint(image, index, image[:, index] * (1 - alpha) + color[:, None] * alpha)


def _rings(rng: np.random.Generator, regions: CanvasRegions, image: np.ndarray) -> None:
    """1 to 3 rings of one metal, each a little brighter or darker, for ``RING_SHARE`` of identities
    (none on a canvas without ring bands). Drawn last: the rest of the atlas keeps its bytes."""
    bands = [name for name in regions.features if name.startswith(RING_PREFIX)]
    if not bands or rng.random() >= RING_SHARE:
        return
    metal = RING_METALS[rng.integers(len(RING_METALS))]
    for band in rng.permutation(len(bands))[: rng.integers(1, 4)]:
        _blend(image, *regions.features[bands[band]], metal * np.float32(rng.uniform(0.85, 1.1)))


def sample_texture(rng: np.random.Generator, canvas: TextureCanvas) -> np.ndarray:
    """A random identity's atlas (S, S, 3) uint8: skin, hair, a top, trousers, shoes.

    Painted planar, (3, S * S): channel rows keep every pass a long contiguous loop."""
    regions, noise = canvas.regions, noise_bank(canvas.size)
    tone = rng.uniform(0, len(SKIN_TONES) - 1)
    low = int(tone)
    skin = SKIN_TONES[low] + (SKIN_TONES[min(low + 1, len(SKIN_TONES) - 1)] - SKIN_TONES[low]) * (tone - low)
    brightness = 1 + SKIN_MOTTLE * noise.smooth[SKIN_SIGMA].window(rng).reshape(-1)
    image = skin.astype(np.float32)[:, None] * brightness

    # Top: torso and upper arms, sleeves of random length; trousers: legs to a random length.
    cloth = regions.cloth
    sleeve = rng.choice([0.3, 1.0, 1.6, 2.0], p=[0.2, 0.35, 0.15, 0.3])  # 0..1 upper arm, 1..2 lower arm
    top = regions.torso | (regions.arm & (regions.arm_position < sleeve))
    trouser = rng.choice([0.7, 1.5, 1.9, 2.0], p=[0.2, 0.1, 0.2, 0.5])  # 0..1 thigh, 1..2 shank
    legs = regions.leg & (regions.leg_position < trouser)
    waist = rng.uniform(0.5, 0.58)  # rest height of the waistband
    bottom = legs | (regions.torso & (cloth.height < waist))
    shown_top = top & ~bottom  # trousers go over the top's hem
    if rng.random() < 0.15:  # a dress or overall: one fabric for both
        dressed = top | bottom
        _paint(image, cloth.index[dressed], _fabric(rng, cloth, dressed, noise))
    else:
        _paint(image, cloth.index[shown_top], _fabric(rng, cloth, shown_top, noise))
        _paint(image, cloth.index[bottom], _fabric(rng, cloth, bottom, noise))
    _front_details(rng, cloth, shown_top & regions.torso_front, image, skin)

    if rng.random() < 0.9:
        _paint(image, regions.shoes.index, _shoe(rng, regions))

    head = regions.head
    hair_length = rng.choice([0.0, 0.3, 0.6, 1.0], p=[0.1, 0.4, 0.2, 0.3])
    if hair_length > 0 and head.index.size:
        height = head.height
        top, chin = height.max(), height.min()
        hairline = top - (top - chin) * rng.uniform(0.12, 0.22)  # forehead top
        nape = top - (top - chin) * (0.45 + 0.6 * hair_length)  # how far down the back it falls
        hair = (height > hairline) | (regions.behind & (height > nape))
        hair_color = HAIR_COLORS[rng.choice(len(HAIR_COLORS), p=HAIR_FREQUENCIES)] * rng.uniform(0.8, 1.2)
        strands = 1 + 0.15 * np.sin(head.u[hair] * 400 + rng.uniform(0, 6))
        _paint(image, head.index[hair], hair_color[:, None] * strands)

    iris = rng.choice(IRIS_COLORS)
    nails = NAIL_POLISHES[rng.integers(len(NAIL_POLISHES))] if rng.random() < POLISH_SHARE else skin * 1.1
    for name, color in (
        ("lips", skin * np.array([0.8, 0.55, 0.55])),
        ("eye_white", np.full(3, 235.0)),
        ("iris", iris),
        ("mouth", np.array([90.0, 30.0, 35.0])),
        ("nails", nails),
    ):
        if name in regions.features:
            _blend(image, *regions.features[name], np.asarray(color, np.float32))
    _rings(rng, regions, image)
    np.clip(image, 0, 255, out=image)
    atlas = np.empty((canvas.size, canvas.size, 3), np.uint8)
    for channel in range(3):
        atlas[..., channel] = image[channel].reshape(canvas.size, canvas.size)
    return atlas
