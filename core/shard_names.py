"""The names inside and of a dataset folder of shards: the contract between the shard writer and
every reader (see docs/data-format.md).

One take is one sample; its files share the take's key (``%09d`` take index) and WebDataset
reads everything after the key's first dot as the field name::

    {key}.meta.json                  body, identity, motion, fps, sizes, seed
    {key}.arrays.npz                 joints3d, joints2d, intrinsics, extrinsics, body.* parameters
    {key}.tTT.vVV.rgb.jpg|png        8-bit sRGB
    {key}.tTT.vVV.parts.png          8-bit, DensePose part 0..24 (0 = background; mask = parts > 0)
    {key}.tTT.vVV.iuv.png            8-bit RGB = (I, U*255, V*255), DensePose IUV layout
    {key}.tTT.vVV.depth.png          16-bit, millimetres along the camera z axis, 0 = no person
"""

from __future__ import annotations

import re
from pathlib import Path

IMAGE_KINDS = ("rgb", "parts", "iuv", "depth")
_IMAGE_FIELD = re.compile(r"t(\d+)\.v(\d+)\.(rgb|parts|iuv|depth)\.(jpg|png)")
_SHARD_NAME = re.compile(r"shard-(\d{6})\.tar")


def shard_name(index: int) -> str:
    return f"shard-{index:06d}.tar"


def shard_number(path: str | Path) -> int | None:
    """The index in a shard's file name, None for a name that is not ``shard-NNNNNN.tar``."""
    match = _SHARD_NAME.fullmatch(Path(path).name)
    return int(match[1]) if match else None


def image_field(t: int, v: int, kind: str, rgb_format: str = "jpg") -> str:
    """The field name (after the take's key) of one image: ``tTT.vVV.KIND.jpg|png``."""
    return f"t{t:02d}.v{v:02d}.{kind}.{rgb_format if kind == 'rgb' else 'png'}"


def parse_image_field(field: str) -> tuple[int, int, str] | None:
    """``(t, v, kind)`` of an image field name, None for any other field (``meta.json``, ...)."""
    match = _IMAGE_FIELD.fullmatch(field)
    return (int(match[1]), int(match[2]), match[3]) if match else None


def take_fields(frames: int, views: int, rgb_format: str) -> set[str]:
    """The field names every take holds (after its key), as the writer writes them."""
    images = {image_field(t, v, kind, rgb_format) for t in range(frames) for v in range(views) for kind in IMAGE_KINDS}
    return {"meta.json", "arrays.npz"} | images
