"""Backgrounds cropped from a folder of photos (COCO train2017 or any image folder).

Real photos are the most realistic backgrounds; a random crop at a random scale with a random
flip makes each photo yield many. Large datasets always hold a few broken files, so one bad file
is skipped with a single warning instead of killing a long render. No file handle outlives a
call, so the sampler can be shared by forked workers.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
MIN_CROP, MAX_CROP = 0.3, 1.0  # crop size as a fraction of the largest crop of the target aspect
_READ_ERRORS = (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)


class BackgroundImageWarning(UserWarning):
    """An image in a background folder could not be read and is skipped from now on."""


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode as 8-bit RGB: 16-bit and float images are rescaled, not clipped, and
    transparent pixels are composited over mid grey."""
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        a = np.asarray(im, dtype=np.float32)
        peak = 255.0 if a.max() <= 255.0 else (65535.0 if a.max() <= 65535.0 else float(a.max()))
        im = Image.fromarray(np.clip(a * (255.0 / peak), 0, 255).astype(np.uint8), "L")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        grey = Image.new("RGBA", rgba.size, (128, 128, 128, 255))
        return Image.alpha_composite(grey, rgba).convert("RGB")
    return im.convert("RGB") if im.mode != "RGB" else im


class ImageFolderBackgrounds:
    """Random crops of the images under a directory (recursive, sorted for determinism)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise FileNotFoundError(f"background image directory not found (or not a directory): "
                                    f"{self.directory}")
        self.paths = sorted(p for p in self.directory.rglob("*")
                            if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
        if not self.paths:
            raise FileNotFoundError(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) "
                                    f"under {self.directory}")
        self._bad: set[int] = set()
        self.skipped: list[Path] = []

    @property
    def num_skipped(self) -> int:
        return len(self.skipped)

    def __len__(self) -> int:
        return len(self.paths)

    def __repr__(self) -> str:
        return f"ImageFolderBackgrounds({str(self.directory)!r}, {len(self.paths)} images)"

    def sample(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        """A (height, width, 3) uint8 crop of a random readable image."""
        if height < 1 or width < 1:  # checked here, or every file would look unreadable
            raise ValueError(f"background size must be positive, got {height}x{width}")
        while len(self._bad) < len(self.paths):
            index = int(rng.integers(len(self.paths)))
            if index in self._bad:
                continue
            try:
                return _random_crop(self.paths[index], rng, height, width)
            except _READ_ERRORS as err:
                self._bad.add(index)
                self.skipped.append(self.paths[index])
                warnings.warn(f"skipping unreadable background image {self.paths[index]}: "
                              f"{type(err).__name__}: {err}", BackgroundImageWarning, stacklevel=2)
        raise RuntimeError(f"none of the {len(self.paths)} images under {self.directory} is readable")


def _random_crop(path: Path, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Crop ``path`` at a random position and scale with the target aspect, resize, maybe flip.

    The crop is chosen from the header's size before decoding so JPEGs can be decoded at a
    reduced scale (``draft``) when the crop is much larger than the output.
    """
    with Image.open(path) as im:
        iw, ih = im.size
        aspect = width / height
        full_w, full_h = (ih * aspect, ih) if iw / ih > aspect else (iw, iw / aspect)
        scale = rng.uniform(MIN_CROP, MAX_CROP)
        cw, ch = full_w * scale, full_h * scale
        x0, y0 = rng.uniform(0.0, iw - cw), rng.uniform(0.0, ih - ch)
        flip = rng.random() < 0.5
        reduce = min(cw / width, ch / height)
        if reduce >= 2.0:
            im.draft("RGB", (int(iw / reduce) + 1, int(ih / reduce) + 1))
        sx, sy = im.size[0] / iw, im.size[1] / ih
        box = (x0 * sx, y0 * sy, (x0 + cw) * sx, (y0 + ch) * sy)
        crop = _to_rgb(im).resize((width, height), Image.Resampling.BILINEAR, box=box)
    out = np.asarray(crop)
    return np.ascontiguousarray(out[:, ::-1]) if flip else out
