"""``predictions.npz``: per-sample predictions of any method, in the form ``croco-eval`` scores.

``croco-eval --checkpoint`` writes one next to ``results.json``; ``croco-eval --predictions FILE``
scores a file of this form (ours or another method's) through the same protocol code. The scorer
only ever sees the stored form (``stored_predictions``), so scoring the written file reproduces
``results.json`` exactly. docs/predictions.md describes every entry; in short:

    task        0-d str: hmr, hmr-free, hand-mesh, hand-mesh-free, densepose, gesture, grasp
    keys        (N,) str: the benchmark's sample ids (``BenchmarkSample.key``), in the benchmark's order
    benchmark   0-d str, optional: checked against the benchmark being scored
    crop        (N, 4) float32, optional: the square crop (x0, y0, x1, y1) in image pixels
    image_size  0-d int, optional: the side in pixels the crop was resized to
    <arrays of the task>  first dimension N (``TaskInfo.predictions``, model/task_catalog.py)
    baseline_<name>  optional: a trivial predictor's row (mean_joints, mean_vertices, majority_class)
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from crocohuman.core.atomic_files import write_atomic_with
from crocohuman.model.task_catalog import TASK_INFO, TASK_NAMES

SMPL_ARRAYS = {
    "global_orient": (3, 3),
    "body_pose": (21, 3, 3),
    "betas": (10,),
}  # tasks with smpl_params, for --smpl-model
BASELINE_PREFIX = "baseline_"
_META = ("task", "keys", "benchmark", "crop", "image_size")


@dataclass
class Predictions:
    """A predictions file in memory: what the scorer needs, in the stored dtypes."""

    task: str
    keys: list[str]
    arrays: dict[str, np.ndarray]
    baseline: dict = field(default_factory=dict)
    benchmark: str | None = None
    crop: np.ndarray | None = None
    image_size: int | None = None

    def __len__(self) -> int:
        return len(self.keys)


def _stored_parts(parts) -> np.ndarray:
    """DensePose parts as uint8 (0..24, 0 background)."""
    parts = np.asarray(parts)
    if parts.dtype.kind not in "iu" or parts.min(initial=0) < 0 or parts.max(initial=0) > 24:
        raise ValueError(
            f"DensePose 'parts' must be integers 0..24 (0 background), got {parts.dtype} "
            f"{parts.min(initial=0)}..{parts.max(initial=0)}"
        )
    return parts.astype(np.uint8)


def _stored_uv(uv) -> np.ndarray:
    """DensePose (U, V) as 8-bit, as its protocol reads a prediction (``uint8 / 255``)."""
    uv = np.asarray(uv)
    return uv if uv.dtype == np.uint8 else np.rint(np.clip(uv, 0, 1) * 255).astype(np.uint8)


STORED_FORMS = {"parts": _stored_parts, "uv": _stored_uv}  # array name -> its stored form; others as given


def stored_predictions(predictions: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Predictions as the file stores them: dense parts and (U, V) as 8-bit (``STORED_FORMS``),
    everything else as given (float32)."""
    return {name: STORED_FORMS[name](value) if name in STORED_FORMS else value for name, value in predictions.items()}


def normalised_baseline(baseline: dict) -> dict:
    """The checkpoint's baseline (lists, an int) as the file stores it: float64 arrays, an int."""
    return {
        key: int(value) if key == "majority_class" else np.asarray(value, np.float64) for key, value in baseline.items()
    }


def write_predictions(path: Path, predictions: Predictions) -> None:
    """Write ``predictions`` (already in the stored form) to ``path``, atomically."""
    arrays = {"task": np.array(predictions.task), "keys": np.array(predictions.keys, dtype=str), **predictions.arrays}
    for name, value in (
        ("benchmark", predictions.benchmark),
        ("crop", predictions.crop),
        ("image_size", predictions.image_size),
    ):
        if value is not None:
            arrays[name] = np.asarray(value)
    arrays.update({BASELINE_PREFIX + key: np.asarray(value) for key, value in predictions.baseline.items()})
    write_atomic_with(path, lambda handle: np.savez(handle, **arrays))


def _scalar_string(data, name: str, path: Path) -> str:
    value = data[name]
    if value.ndim != 0 or value.dtype.kind != "U":
        raise ValueError(
            f"{path}: '{name}' must be a 0-d string array (np.array('...')), got {value.dtype} of shape {value.shape}"
        )
    return str(value)


def _check_shape(path: Path, name: str, array: np.ndarray, count: int, shape: tuple) -> None:
    expected = (count, *shape)
    if array.ndim != len(expected) or any(e is not None and e != s for e, s in zip(expected, array.shape)):
        text = ", ".join("*" if e is None else str(e) for e in expected)
        raise ValueError(f"{path}: '{name}' has shape {array.shape}, expected ({text})")


def _read(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise ValueError(f"{path}: not a readable .npz predictions file ({error})") from error


def load_predictions(path: Path) -> Predictions:
    """A predictions file, checked: a known task, sample keys, the task's arrays with N rows each;
    ValueError naming the file and the entry otherwise."""
    path = Path(path)
    data = _read(path)
    for name in ("task", "keys"):
        if name not in data:
            raise ValueError(f"{path}: no '{name}' entry (docs/predictions.md lists the entries)")
    task = _scalar_string(data, "task", path)
    if task not in TASK_INFO:
        raise ValueError(f"{path}: unknown task {task!r}; tasks: {', '.join(TASK_NAMES)}")
    keys = data["keys"]
    if keys.ndim != 1 or keys.dtype.kind != "U":
        raise ValueError(f"{path}: 'keys' must be a 1-d string array of sample ids, got {keys.dtype} {keys.shape}")
    count, arrays = len(keys), {}
    info = TASK_INFO[task]
    required = info.predictions
    for name, array in data.items():
        if name in _META or name.startswith(BASELINE_PREFIX):
            continue
        shape = required.get(name) or (SMPL_ARRAYS.get(name) if info.smpl_params else None)
        _check_shape(path, name, array, count, shape if shape is not None else (None,) * (array.ndim - 1))
        arrays[name] = array
    missing = [name for name in required if name not in arrays]
    if missing:
        raise ValueError(f"{path}: task {task} needs {', '.join(required)}; missing {', '.join(missing)}")
    if "parts" in required and not (
        arrays["parts"].shape[1] == arrays["parts"].shape[2] and arrays["uv"].shape[2:] == arrays["parts"].shape[1:]
    ):
        raise ValueError(
            f"{path}: 'parts' (N, S, S) and 'uv' (N, 2, S, S) must share one square crop grid, "
            f"got {arrays['parts'].shape} and {arrays['uv'].shape}"
        )
    baseline = {name[len(BASELINE_PREFIX) :]: value for name, value in data.items() if name.startswith(BASELINE_PREFIX)}
    try:
        arrays = stored_predictions(arrays)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error
    return Predictions(
        task,
        keys.tolist(),
        arrays,
        normalised_baseline(baseline),
        _scalar_string(data, "benchmark", path) if "benchmark" in data else None,
        data.get("crop"),
        int(data["image_size"]) if "image_size" in data else None,
    )


def check_sample_count(path: Path, predicted: int, truth: int, what: str) -> None:
    """As many predictions as samples to score (checked before the targets are read)."""
    if predicted != truth:
        raise ValueError(
            f"{path}: holds {predicted} samples, {what} has {truth} to score (--limit N scores the first N)"
        )


def check_sample_keys(path: Path, predicted: list[str], truth: list[str], what: str) -> None:
    """The predictions must be the ground truth's samples in its order: counts first, then keys."""
    check_sample_count(path, len(predicted), len(truth), what)
    for index, (mine, theirs) in enumerate(zip(predicted, truth)):
        if mine != theirs:
            order = " (the same samples in another order)" if sorted(predicted) == sorted(truth) else ""
            raise ValueError(
                f"{path}: sample {index} is {mine!r}, but {what}'s sample {index} is {theirs!r}"
                f"{order}; predictions must follow the benchmark's order"
            )


__all__ = [
    "SMPL_ARRAYS",
    "Predictions",
    "check_sample_count",
    "check_sample_keys",
    "load_predictions",
    "normalised_baseline",
    "stored_predictions",
    "write_predictions",
]
