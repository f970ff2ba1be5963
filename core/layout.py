"""Checks of a dataset folder and its annotation files that fail early, naming what is wrong.

A missing folder or file raises FileNotFoundError with the layout the reader expected, a malformed
annotation raises ``BadInputError`` (a ValueError) with the file and the key, so a user with a
half-downloaded dataset sees what to fix instead of an empty dataset.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from crocohuman.core.errors import BadInputError


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
    """Parse a json annotation file; missing -> FileNotFoundError, unparseable -> BadInputError naming it."""
    path = require_file(path, name, layout)
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BadInputError(f"{path}: not valid json ({err})") from err


def need(record: Any, key: str, source: str | Path) -> Any:
    """``record[key]``, or BadInputError naming the annotation file (``source``) and the missing key."""
    if not isinstance(record, dict):
        raise BadInputError(f"{source}: expected an object with key {key!r}, found {type(record).__name__}")
    if key not in record:
        raise BadInputError(f"{source}: missing key {key!r}")
    return record[key]


def as_array(value: Any, shape: tuple[int, ...], source: str | Path, key: str, dtype: type = np.float32) -> np.ndarray:
    """An annotation value as an array of ``shape`` (``-1`` = any); BadInputError naming file and key."""
    try:
        array = np.asarray(value, dtype=dtype)
        return array.reshape(shape)
    except (TypeError, ValueError) as err:
        raise BadInputError(f"{source}: {key!r} is not an array of shape {shape} ({err})") from None
