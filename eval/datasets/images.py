"""What the benchmark readers share: decoding images, person/hand boxes, layout and annotation
checks, a numpy-only pickle loader, and the few rotations the readers need.

Every failure names the file it comes from: a missing folder or file raises FileNotFoundError with
the layout the reader expected, a malformed annotation raises ValueError with the file and the key,
so a user with a half-downloaded dataset sees what to fix.

Boxes are ``(x0, y0, x1, y1)`` in pixels of the full image (x right, y down). They are not clipped
to the image: a box grown around joints may pass the border, and the crop code pads.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from crocohuman.model.pairs.base import NumpyOnlyUnpickler, UnsafePickleError
from crocohuman.model.pairs.images import box_from_points as box_from_points  # re-exported for the readers
from crocohuman.model.pairs.images import read_rgb as decode_rgb
from crocohuman.model.pairs.types import CorruptSampleError

Box = tuple[float, float, float, float]

BOX_MARGIN = 0.1
"""Fraction of a joint box's larger side added on every side: joints sit inside the outline (head
top, hands, feet, palm edges), and 0.1 per side gives SPIN's ``1.2 * max(w, h)`` crop extent."""


# ------------------------------------------------------------------------------- files and layout

def require_dir(root: str | Path, name: str, layout: str) -> Path:
    """``root`` as a Path if it is a folder; otherwise FileNotFoundError naming it and the layout."""
    path = Path(root)
    if not path.is_dir():
        raise FileNotFoundError(f"{name}: no folder {path}; expected layout:\n{layout}")
    return path


def require_file(path: str | Path, name: str, layout: str) -> Path:
    """``path`` as a Path if it is a file; otherwise FileNotFoundError naming it and the layout."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{name}: no file {path}; expected layout:\n{layout}")
    return path


def load_json(path: str | Path, name: str, layout: str) -> Any:
    """Parse a json annotation file; missing -> FileNotFoundError, unparseable -> ValueError naming it."""
    path = require_file(path, name, layout)
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not valid json ({err})") from err


def need(record: Any, key: str, source: str | Path) -> Any:
    """``record[key]``, or ValueError naming the annotation file (``source``) and the missing key."""
    if not isinstance(record, dict):
        raise ValueError(f"{source}: expected an object with key {key!r}, found {type(record).__name__}")
    if key not in record:
        raise ValueError(f"{source}: missing key {key!r}")
    return record[key]


def as_array(value: Any, shape: tuple[int, ...], source: str | Path, key: str,
             dtype: type = np.float32) -> np.ndarray:
    """An annotation value as an array of ``shape`` (``-1`` = any); ValueError naming file and key."""
    try:
        array = np.asarray(value, dtype=dtype)
        return array.reshape(shape)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{source}: {key!r} is not an array of shape {shape} ({err})") from None


# ----------------------------------------------------------------------------------------- images

def read_rgb(path: str | Path) -> np.ndarray:
    """Decode an image file to (H, W, 3) uint8 sRGB, as stored (no EXIF rotation: annotations
    refer to the stored pixel grid).

    Pillow reads lazily, so a truncated JPEG opens fine and only fails when its pixels are needed:
    the decode is forced here and any failure becomes a ValueError naming the file. A missing file
    is a FileNotFoundError naming it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image")
    try:
        return decode_rgb(path)
    except CorruptSampleError as err:
        raise ValueError(str(err)) from err


# ------------------------------------------------------------------------------------------ boxes

def _grown(x0: float, y0: float, x1: float, y1: float, margin: float) -> Box:
    pad = margin * max(x1 - x0, y1 - y0)
    return (float(x0 - pad), float(y0 - pad), float(x1 + pad), float(y1 + pad))


def box_from_mask(mask: np.ndarray, margin: float) -> Box | None:
    """Box around the mask's pixels (their outer edges), grown like ``box_from_points``; None if empty."""
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return None
    return _grown(cols.min(), rows.min(), cols.max() + 1, rows.max() + 1, margin)


def box_from_xywh(xywh: Any, source: str | Path, key: str = "bbox") -> Box:
    """COCO ``[x, y, w, h]`` to ``(x0, y0, x1, y1)``; ValueError naming the file if malformed."""
    x, y, w, h = (float(v) for v in as_array(xywh, (4,), source, key, np.float64))
    if not (np.isfinite([x, y, w, h]).all() and w > 0 and h > 0):
        raise ValueError(f"{source}: {key!r} {[x, y, w, h]} is not a box with positive size")
    return (x, y, x + w, y + h)


# ------------------------------------------------------------------------------------- geometry

def project(points: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """Pinhole projection of camera-frame points (N, 3) to pixels (N, 2)."""
    uvw = np.asarray(points, dtype=np.float64) @ np.asarray(intrinsics, dtype=np.float64).T
    return uvw[:, :2] / uvw[:, 2:3]


def rotate_axis_angle(rotation: np.ndarray, axis_angle: np.ndarray) -> np.ndarray:
    """Axis-angle of ``rotation @ R(axis_angle)``: a root orientation moved into another frame
    (world -> camera), as SPIN and VIBE do for 3DPW and InterHand's converter for MANO."""
    local = Rotation.from_rotvec(np.asarray(axis_angle, dtype=np.float64)).as_matrix()
    return Rotation.from_matrix(np.asarray(rotation, dtype=np.float64) @ local).as_rotvec().astype(np.float32)


def rotmats_to_axis_angle(rotmats: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices to (..., 3) axis-angle vectors."""
    rotmats = np.asarray(rotmats, dtype=np.float64)
    flat = Rotation.from_matrix(rotmats.reshape(-1, 3, 3)).as_rotvec()
    return flat.reshape(*rotmats.shape[:-2], 3).astype(np.float32)


# ----------------------------------------------------------------------------------------- pickles

def restricted_pickle_load(path: str | Path, encoding: str = "latin1") -> Any:
    """Load an annotation pickle that may build numpy arrays and builtin containers, nothing else.

    Dataset pickles come from the internet and a plain ``pickle.load`` runs whatever callable they
    name. ``latin1`` turns Python 2 ``str`` buffers (3DPW) back into the bytes numpy expects. A
    forbidden class raises UnsafePickleError (a ValueError) naming the file and the class; a
    truncated or garbled file raises ValueError naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such pickle")
    try:
        with open(path, "rb") as handle:
            return NumpyOnlyUnpickler(handle, encoding=encoding).load()
    except UnsafePickleError as err:
        raise UnsafePickleError(f"{path}: {err}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, ImportError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: cannot unpickle ({type(err).__name__}: {err})") from err
