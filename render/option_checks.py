"""Checks of the rendering options, each raising one ValueError that names the option and what it accepts.

The typed configs call them in ``__post_init__`` so a bad value stops a job before any folder,
model or GL context is made, for library users and the command line alike.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path


def check_int(option: str, value, low: int, high: int | None = None, unit: str = "") -> int:
    """``value`` as an int within [low, high]."""
    accepted = f"an integer >= {low}" if high is None else f"an integer from {low} to {high}"
    if (
        not isinstance(value, numbers.Integral)
        or isinstance(value, bool)
        or value < low
        or (high is not None and value > high)
    ):
        raise ValueError(f"{option} must be {accepted}{_unit(unit)}, got {value!r}")
    return int(value)


def check_number(
    option: str, value, low: float | None = None, high: float | None = None, positive: bool = False, unit: str = ""
) -> float:
    """``value`` as a finite float within [low, high] (and > 0 when ``positive``)."""
    if (
        not _is_real(value)
        or (positive and value <= 0)
        or (low is not None and value < low)
        or (high is not None and value > high)
    ):
        raise ValueError(f"{option} must be {_accepted_number(low, high, positive)}{_unit(unit)}, got {value!r}")
    return float(value)


def check_range(
    option: str, pair, low: float | None = None, high: float | None = None, positive: bool = False, unit: str = ""
) -> tuple[float, float]:
    """``pair`` as a (lo, hi) tuple of finite floats with lo <= hi, both within the bounds."""
    lower = "0 < " if positive else (f"{low:g} <= " if low is not None else "")
    upper = f" <= {high:g}" if high is not None else ""
    accepted = f"two numbers {lower}LO <= HI{upper}"
    try:
        lo, hi = pair
    except (TypeError, ValueError):
        raise ValueError(f"{option} must be {accepted}{_unit(unit)}, got {pair!r}") from None
    for value in (lo, hi):
        if (
            not _is_real(value)
            or (positive and value <= 0)
            or (low is not None and value < low)
            or (high is not None and value > high)
        ):
            raise ValueError(f"{option} must be {accepted}{_unit(unit)}, got {lo!r} {hi!r}")
    if lo > hi:
        raise ValueError(f"{option} must be {accepted}{_unit(unit)}, got {lo!r} {hi!r} (LO > HI)")
    return float(lo), float(hi)


def check_choice(option: str, value, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{option} must be one of {', '.join(choices)}, got {value!r}")
    return value


def check_existing(option: str, path: Path | str | None, kind: str) -> Path | None:
    """``path`` (user-expanded) when it names an existing ``kind`` ("folder" or "file"); None stays None."""
    if path is None:
        return None
    path = Path(path).expanduser()
    if not (path.is_dir() if kind == "folder" else path.is_file()):
        raise ValueError(f"{option} {path}: no such {kind}")
    return path


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _accepted_number(low: float | None, high: float | None, positive: bool) -> str:
    if low is not None and high is not None:
        return f"a number from {low:g} to {high:g}"
    if positive:
        return "a number > 0"
    return f"a number >= {low:g}" if low is not None else "a finite number"


def _unit(unit: str) -> str:
    return f" ({unit})" if unit else ""
