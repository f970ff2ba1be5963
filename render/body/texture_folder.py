"""A folder of SURREAL-style texture images in a body model's UV layout, sampled per identity."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


class TextureFolder:
    """SURREAL-style texture images; unreadable ones are skipped with a warning."""

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise FileNotFoundError(f"texture folder does not exist: {self.root}")
        self.images = sorted(p for p in self.root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.images:
            raise ValueError(f"no {'/'.join(IMAGE_SUFFIXES)} images in texture folder {self.root}")
        self._unreadable: set[Path] = set()

    def pool(self, gender: str) -> list[Path]:
        """Images under ``<root>/<gender>/`` when there are any (SURREAL sorts by gender), else all."""
        gendered = [p for p in self.images if p.relative_to(self.root).parts[0].lower() == gender]
        return gendered or self.images

    def sample(self, rng: np.random.Generator, gender: str) -> tuple[np.ndarray, str]:
        from PIL import Image

        pool = self.pool(gender)
        for index in rng.permutation(len(pool)):
            path = pool[index]
            if path in self._unreadable:
                continue
            try:
                with Image.open(path) as image:
                    return np.asarray(image.convert("RGB"), np.uint8), str(path.relative_to(self.root))
            except (OSError, ValueError) as error:
                self._unreadable.add(path)
                warnings.warn(f"skipping unreadable texture {path}: {error}", stacklevel=2)
        raise ValueError(f"no readable texture image for {gender} bodies in {self.root}")
