"""Decoding image and mask files, with one error contract for every reader.

Images are decoded as stored: no EXIF rotation, because dataset annotations refer to the stored
pixel grid. A missing file is a FileNotFoundError naming it; a file that cannot be decoded is a
``CorruptSampleError`` naming it (the pair mixture skips and counts those; benchmark readers let
them through as the ValueError they also are).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from crocohuman.core.errors import CorruptSampleError

_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode an image file to (H, W, 3) uint8 sRGB; grey, palette, RGBA and 16-bit inputs included.

    The decode is forced with ``load()`` inside the guard because Pillow reads lazily: a truncated
    JPEG opens fine and only fails when its pixels are needed.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image")
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in _SIXTEEN_BIT_MODES:
                grey = np.asarray(image, dtype=np.float64).clip(0, 65535) / 257.0
                rgb = np.repeat(np.rint(grey).astype(np.uint8)[..., None], 3, axis=2)
            else:
                rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except _DECODE_ERRORS as err:
        raise CorruptSampleError(f"{path}: cannot decode image ({type(err).__name__}: {err})") from err
    return np.ascontiguousarray(rgb)


def read_mask(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """Read a person mask (any non-zero pixel is person) that must match the image's (H, W)."""
    try:
        with Image.open(path) as image:
            image.load()
            mask = np.asarray(image.convert("L")) > 0
    except _DECODE_ERRORS as err:
        raise CorruptSampleError(f"{path}: cannot decode mask ({type(err).__name__}: {err})") from err
    if mask.shape != tuple(shape):
        raise CorruptSampleError(f"{path}: mask is {mask.shape[1]}x{mask.shape[0]}, image is {shape[1]}x{shape[0]}")
    return mask
