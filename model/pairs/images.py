"""Image-file helpers shared by the pair readers: decode to RGB, list numbered frames, person boxes.

Boxes are ``(x0, y0, x1, y1)`` in pixels of the full image, x right, y down, as in ``RawPair``.
Images are decoded as stored: no EXIF rotation, because dataset annotations refer to the stored
pixel grid.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .types import CorruptSampleError

Box = tuple[float, float, float, float]

KEYPOINT_BOX_MARGIN = 0.1
"""Fraction of the larger side added around a box made from joints: joints sit inside the body
outline, so the tight joint box cuts the head top, hands and feet (SPIN's ``1.2 * max(w, h)``)."""

_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})
_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<digits>\d+)(?P<suffix>\.(?:jpe?g|png))$", re.IGNORECASE)


def read_rgb(path: Path) -> np.ndarray:
    """Decode an image file to (H, W, 3) uint8 sRGB; grey, palette, RGBA and 16-bit inputs included.

    The decode is forced with ``load()`` inside the guard because Pillow reads lazily: a truncated
    JPEG opens fine and only fails when its pixels are needed. Any failure becomes a
    ``CorruptSampleError`` naming the file, so the pair mixture can skip and count it.
    """
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in _SIXTEEN_BIT_MODES:
                grey = np.asarray(image, dtype=np.float64).clip(0, 65535) / 257.0
                rgb = np.repeat(np.rint(grey).astype(np.uint8)[..., None], 3, axis=2)
            else:
                rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise CorruptSampleError(f"{path}: cannot decode image ({type(err).__name__}: {err})") from err
    return np.ascontiguousarray(rgb)


def read_mask(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """Read a person mask (any non-zero pixel is person) that must match the image's (H, W)."""
    try:
        with Image.open(path) as image:
            image.load()
            mask = np.asarray(image.convert("L")) > 0
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise CorruptSampleError(f"{path}: cannot decode mask ({type(err).__name__}: {err})") from err
    if mask.shape != tuple(shape):
        raise CorruptSampleError(f"{path}: mask is {mask.shape[1]}x{mask.shape[0]}, image is {shape[1]}x{shape[0]}")
    return mask


def sibling_mask(image_path: Path) -> Path | None:
    """The optional ``<frame>.mask.png`` next to ``<frame>.jpg|png`` in the generic folder layouts."""
    candidate = image_path.with_name(image_path.stem + ".mask.png")
    return candidate if candidate.is_file() else None


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
    side = max(x1 - x0, y1 - y0)
    if side <= 0:
        return None
    pad = margin * side
    return (float(x0 - pad), float(y0 - pad), float(x1 + pad), float(y1 + pad))


def box_from_xywh(xywh: object) -> Box | None:
    """COCO-style ``[x, y, w, h]`` to a box; None when missing, malformed or empty."""
    values = np.asarray(xywh if xywh is not None else [], dtype=np.float64).reshape(-1)
    if values.size != 4 or not np.isfinite(values).all() or values[2] <= 0 or values[3] <= 0:
        return None
    x, y, w, h = values
    return (float(x), float(y), float(x + w), float(y + h))


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


@dataclass(frozen=True)
class NumberedImages:
    """The numbered image files of one folder (``000012.jpg``, ``image_00012.jpg``, ``image0000004.jpg``).

    Kept as sorted numbers plus one name pattern rather than a list of names, so a reader can index
    millions of video frames cheaply.
    """

    folder: Path
    numbers: np.ndarray  # (N,) int64, strictly increasing
    prefix: str
    width: int  # zero-padding width of the digits; 0 when the names are not padded
    suffix: str

    def path(self, number: int) -> Path:
        return self.folder / f"{self.prefix}{int(number):0{self.width}d}{self.suffix}"

    @classmethod
    def scan(cls, folder: Path, prefix: str = "") -> NumberedImages:
        """List the ``<prefix><digits>.{jpg,jpeg,png}`` files of a folder (``*.mask.png`` never match)."""
        return cls.from_names(folder, [entry.name for entry in folder.iterdir()], prefix)

    @classmethod
    def from_names(cls, folder: Path, names: Iterable[str], prefix: str = "") -> NumberedImages:
        """The pattern of known file names in ``folder`` (an annotation file's list, a listing).

        All frames must share one pattern: a stray ``01.jpg`` next to ``000001.jpg`` would make two
        files for one frame, so mixed patterns raise ``ValueError``.
        """
        matches = [m for m in map(_NUMBERED.match, sorted(names)) if m is not None and m["prefix"] == prefix]
        if not matches:
            return cls(folder, np.zeros(0, dtype=np.int64), prefix, 0, ".jpg")
        suffixes = {m["suffix"] for m in matches}
        padded = any(m["digits"].startswith("0") and len(m["digits"]) > 1 for m in matches)
        width = min(len(m["digits"]) for m in matches) if padded else 0
        if len(suffixes) > 1 or any(f"{int(m['digits']):0{width}d}" != m["digits"] for m in matches):
            raise ValueError(f"{folder}: frame files mix name patterns (e.g. 01.jpg next to 0001.jpg, or "
                             f"suffixes {sorted(suffixes)}); expected one pattern such as 000012.jpg")
        numbers = np.array(sorted(int(m["digits"]) for m in matches), dtype=np.int64)
        return cls(folder, numbers, prefix, width, suffixes.pop())


def frame_number(name: str) -> int | None:
    """The frame number a file name ends with (``000012.jpg`` -> 12); None for non-image names."""
    match = _NUMBERED.match(name)
    return int(match["digits"]) if match is not None else None
