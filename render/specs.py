"""The short spec strings of ``--motion`` and ``--background``, parsed and checked without loading anything.

They live apart from the motion and background packages so that a typed config can refuse a bad
spec (wrong syntax, missing folder or file) in a fraction of a second, before scipy, trimesh,
anny or OpenGL are imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

BACKGROUND_FORMS = '"procedural", "images:DIR" or "scene:FILE"'
MOTION_FORMS = "'sampler', 'sampler:KIND' or 'amass:DIR'"
# Scene file formats and the up axis each uses by default (glTF's spec and Habitat/Replica .obj
# exports are Y-up, PLY scans Z-up).
SCENE_UP_AXIS: dict[str, Literal["y", "z"]] = {".glb": "y", ".gltf": "y", ".obj": "y", ".ply": "z"}
_SpecT = TypeVar("_SpecT")


@dataclass(frozen=True)
class BackgroundSpec:
    """A parsed background spec: the kind and, for images/scene, the path it names."""

    kind: Literal["procedural", "images", "scene"]
    path: Path | None = None


@dataclass(frozen=True)
class MotionSpec:
    """A parsed motion spec: the built-in sampler (maybe one kind of motion) or an AMASS folder."""

    kind: Literal["sampler", "amass"]
    sampler_kind: str | None = None
    path: Path | None = None


def parse_background_spec(spec: str) -> BackgroundSpec:
    """Parse "procedural" (also the empty string), "images:DIR" or "scene:FILE" (syntax only)."""
    kind, sep, path = spec.strip().partition(":")
    kind = kind.strip().lower() or "procedural"
    if kind == "procedural" and not sep:
        return BackgroundSpec("procedural")
    if kind in ("images", "scene") and path.strip():
        return BackgroundSpec(kind, Path(path.strip()).expanduser())
    raise ValueError(f"invalid background spec {spec!r}: expected {BACKGROUND_FORMS}")


def parse_motion_spec(spec: str) -> MotionSpec:
    """Parse "sampler", "sampler:KIND" or "amass:DIR" (syntax only; KIND is checked by the sampler)."""
    kind, _sep, arg = spec.strip().partition(":")
    if kind == "sampler":
        return MotionSpec("sampler", sampler_kind=arg.strip() or None)
    if kind == "amass" and arg.strip():
        return MotionSpec("amass", path=Path(arg.strip()).expanduser())
    raise ValueError(f"unknown motion source {spec!r}; expected {MOTION_FORMS}")


def _parse_option(option: str, parse: Callable[[str], _SpecT], spec: str) -> _SpecT:
    """``parse(spec)``, its syntax error prefixed with the command-line option that carried the spec."""
    try:
        return parse(spec)
    except ValueError as error:
        raise ValueError(f"{option}: {error}") from None


def check_background_spec(spec: str) -> BackgroundSpec:
    """The parsed spec, once its folder or file is known to exist (and a scene's format to be known)."""
    parsed = _parse_option("--background", parse_background_spec, spec)
    if parsed.kind == "images" and not parsed.path.is_dir():
        raise ValueError(f"--background {spec}: no such folder {parsed.path}")
    if parsed.kind == "scene":
        if not parsed.path.is_file():
            raise ValueError(f"--background {spec}: no such file {parsed.path}")
        if parsed.path.suffix.lower() not in SCENE_UP_AXIS:
            raise ValueError(
                f"--background {spec}: unsupported scene format {parsed.path.suffix!r}; "
                f"expected one of {', '.join(SCENE_UP_AXIS)}"
            )
    return parsed


def check_motion_spec(spec: str) -> MotionSpec:
    """The parsed spec, once an AMASS folder is known to exist or a sampler kind to be known."""
    parsed = _parse_option("--motion", parse_motion_spec, spec)
    if parsed.kind == "amass" and not parsed.path.is_dir():
        raise ValueError(f"--motion {spec}: no such folder {parsed.path}")
    if parsed.sampler_kind is not None:
        from crocohuman.render.motion.primitives import MOTION_KINDS  # only for this rare form

        if parsed.sampler_kind not in MOTION_KINDS:
            raise ValueError(
                f"--motion {spec}: unknown sampler motion kind {parsed.sampler_kind!r}; "
                f"expected one of {', '.join(MOTION_KINDS)}"
            )
    return parsed
