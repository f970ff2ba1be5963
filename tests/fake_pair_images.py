"""Fixture kit for the pair-reader tests: flat images whose colour encodes where they sit, and pair checks.

Every fixture image is one flat colour that encodes where it sits (camera or track, frame, sequence),
so a test can tell from the pixels alone which files a pair was read from.
"""

from __future__ import annotations

import io
import pickle
import struct
from collections import Counter
from pathlib import Path
from typing import ClassVar

import numpy as np
from PIL import Image

from crocohuman.model.pairs.types import RawPair

W, H = 48, 32


def put_image(path: Path, who: int, frame: int, seq: int, size: tuple[int, int] = (W, H)) -> None:
    """A flat image whose colour encodes (who = camera or track, frame position, sequence)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = (20 + 60 * who, 20 + 35 * frame, 20 + 60 * seq)
    Image.new("RGB", size, colour).save(path, quality=95)


def decode(image: np.ndarray) -> tuple[int, int, int]:
    r, g, b = image.reshape(-1, 3).mean(axis=0)
    return round((r - 20) / 60), round((g - 20) / 35), round((b - 20) / 60)


def check_pair(pair: RawPair) -> None:
    for image, box, mask in ((pair.img1, pair.box1, pair.mask1), (pair.img2, pair.box2, pair.mask2)):
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        height, width = image.shape[:2]
        if box is not None:
            x0, y0, x1, y1 = box
            assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, box
        if mask is not None:
            assert mask.shape == (height, width) and mask.dtype == bool


def draw_all(reader, seeds: int = 12) -> list[RawPair]:
    pairs = [reader.get(i, np.random.default_rng(s)) for i in range(len(reader)) for s in range(seeds)]
    for pair in pairs:
        check_pair(pair)
    return pairs


def check_kinds(pairs: list[RawPair]) -> Counter:
    """cross_view: same sequence and frame, two cameras; cross_pose: same camera/track, two frames."""
    for pair in pairs:
        (who1, frame1, seq1), (who2, frame2, seq2) = decode(pair.img1), decode(pair.img2)
        assert seq1 == seq2, pair.source
        if pair.kind == "cross_view":
            assert frame1 == frame2 and who1 != who2, pair.source
        else:
            assert pair.kind == "cross_pose" and who1 == who2 and frame1 != frame2, pair.source
    return Counter(pair.kind for pair in pairs)


class Py2Pickler(pickle._Pickler):
    """Writes what Python 2's cPickle wrote: ``str`` as BINSTRING, numpy under ``numpy.core``."""

    dispatch: ClassVar[dict] = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str

    def save_global(self, obj, name=None) -> None:
        name = name or obj.__qualname__
        module = getattr(obj, "__module__", None) or pickle.whichmodule(obj, name)
        module = module.replace("numpy._core", "numpy.core")
        self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode())
        self.memoize(obj)


def py2_pickle(obj, path: Path) -> None:
    buffer = io.BytesIO()
    Py2Pickler(buffer, protocol=2).dump(obj)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
