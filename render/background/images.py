"""Backgrounds cropped from a folder of photos (COCO train2017 or any image folder).

Real photos are the most realistic backgrounds; a random crop at a random scale with a random
flip makes each photo yield many. Large datasets always hold a few broken files, so one bad file
is skipped with a single warning instead of killing a long render. No file handle outlives a
call, so the sampler can be shared by forked workers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from crocohuman.render.unreadable_inputs import UnreadableInputs

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
MIN_CROP, MAX_CROP = 0.3, 1.0  # crop size as a fraction of the largest crop of the target aspect
_READ_ERRORS = (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)


class BackgroundImageWarning(UserWarning):
    """An image in a background folder could not be read and is skipped from now on (one warning per file)."""


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
            raise FileNotFoundError(f"background image directory not found (or not a directory): {self.directory}")
        self.paths = sorted(
            p for p in self.directory.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
        )
        if not self.paths:
            raise FileNotFoundError(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) under {self.directory}")
        self.unreadable = UnreadableInputs()

    @property
    def skipped(self) -> list[Path]:
        """Unreadable files met by this process so far, in the order found."""
        return self.unreadable.known

    @property
    def num_skipped(self) -> int:
        return len(self.unreadable)

    def drain_skipped(self) -> list[Path]:
        """The unreadable files drawn since the last call (see ``UnreadableInputs``)."""
        return self.unreadable.drain()

    def __len__(self) -> int:
        return len(self.paths)

    def __repr__(self) -> str:
        return f"ImageFolderBackgrounds({str(self.directory)!r}, {len(self.paths)} images)"

    def sample(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        """A (height, width, 3) uint8 crop of a random readable image.

        Every attempt draws the same numbers (a file, then its crop) whether the file is already
        known to be unreadable or not, so the crop depends on the rng and the folder alone, never
        on which bad files this process met before.
        """
        if height < 1 or width < 1:  # checked here, or every file would look unreadable
            raise ValueError(f"background size must be positive, got {height}x{width}")
        while len(self.unreadable) < len(self.paths):
            path = self.paths[int(rng.integers(len(self.paths)))]
            crop = CropDraw.sample(rng)
            if path in self.unreadable:
                self.unreadable.drawn(path)
                continue
            try:
                return _crop(path, crop, height, width)
            except _READ_ERRORS as err:
                self.unreadable.drawn(path)
                warnings.warn(
                    f"skipping unreadable background image {path}: {type(err).__name__}: {err}",
                    BackgroundImageWarning,
                    stacklevel=2,
                )
        raise RuntimeError(f"none of the {len(self.paths)} images under {self.directory} is readable")


@dataclass(frozen=True)
class CropDraw:
    """A random crop as unit numbers, drawn before the file is opened (a fixed amount of randomness)."""

    scale: float  # in [0, 1): from MIN_CROP to MAX_CROP of the largest crop of the target aspect
    x: float  # in [0, 1): where the crop starts within the room the image leaves, horizontally
    y: float  # the same, vertically
    flip: bool

    @classmethod
    def sample(cls, rng: np.random.Generator) -> CropDraw:
        scale, x, y, flip = rng.random(4)
        return cls(float(scale), float(x), float(y), bool(flip < 0.5))


def _crop(path: Path, crop: CropDraw, height: int, width: int) -> np.ndarray:
    """Cut ``crop`` out of ``path`` with the target aspect, resize, maybe flip.

    The crop is placed from the header's size before decoding so JPEGs can be decoded at a
    reduced scale (``draft``) when the crop is much larger than the output.
    """
    with Image.open(path) as im:
        iw, ih = im.size
        aspect = width / height
        full_w, full_h = (ih * aspect, ih) if iw / ih > aspect else (iw, iw / aspect)
        scale = MIN_CROP + (MAX_CROP - MIN_CROP) * crop.scale
        cw, ch = full_w * scale, full_h * scale
        x0, y0 = crop.x * (iw - cw), crop.y * (ih - ch)
        reduce = min(cw / width, ch / height)
        if reduce >= 2.0:
            im.draft("RGB", (int(iw / reduce) + 1, int(ih / reduce) + 1))
        sx, sy = im.size[0] / iw, im.size[1] / ih
        box = (x0 * sx, y0 * sy, (x0 + cw) * sx, (y0 + ch) * sy)
        image = _to_rgb(im).resize((width, height), Image.Resampling.BILINEAR, box=box)
    out = np.asarray(image)
    return np.ascontiguousarray(out[:, ::-1]) if crop.flip else out
