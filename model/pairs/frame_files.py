"""The frame files of video and multi-view folders: numbered image names, and optional masks next to them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<digits>\d+)(?P<suffix>\.(?:jpe?g|png))$", re.IGNORECASE)


def sibling_mask(image_path: Path) -> Path | None:
    """The optional ``<frame>.mask.png`` next to ``<frame>.jpg|png`` in the generic folder layouts."""
    candidate = image_path.with_name(image_path.stem + ".mask.png")
    return candidate if candidate.is_file() else None


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
            raise ValueError(
                f"{folder}: frame files mix name patterns (e.g. 01.jpg next to 0001.jpg, or "
                f"suffixes {sorted(suffixes)}); expected one pattern such as 000012.jpg"
            )
        numbers = np.array(sorted(int(m["digits"]) for m in matches), dtype=np.int64)
        return cls(folder, numbers, prefix, width, suffixes.pop())


def frame_number(name: str) -> int | None:
    """The frame number a file name ends with (``000012.jpg`` -> 12); None for non-image names."""
    match = _NUMBERED.match(name)
    return int(match["digits"]) if match is not None else None
