"""Reading WebDataset-compatible tar shards of takes (format: ``shard_names``, docs/data-format.md).

Whole takes (``read_shard``) or, for random access over many shards, the tar headers alone
(``index_shard``) and then single files by offset (``read_member``). Reading never loads the
renderer. A truncated or corrupt shard raises ValueError naming it.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from crocohuman.core.shard_names import parse_image_field
from crocohuman.core.take import Take


def decode_record(meta_json: bytes, arrays_npz: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """A take's ``meta.json`` and ``arrays.npz`` files as a dict and a dict of arrays."""
    meta = json.loads(meta_json)
    with np.load(io.BytesIO(arrays_npz), allow_pickle=False) as arrays:
        return meta, {name: arrays[name] for name in arrays.files}


def decode_image(payload: bytes) -> np.ndarray:
    """One image file of a take as stored (RGB, 8-bit parts or IUV, 16-bit depth in mm)."""
    return np.asarray(Image.open(io.BytesIO(payload)))


def _decode_take(path: Path, key: str, files: dict[str, bytes]) -> Take:
    try:
        meta, data = decode_record(files["meta.json"], files["arrays.npz"])
    except KeyError as missing:
        raise ValueError(f"{path}: take {key} lacks its {missing.args[0]} file") from None
    frames, views, height, width = meta["frames"], meta["views"], meta["height"], meta["width"]
    rgb = np.zeros((frames, views, height, width, 3), np.uint8)
    parts = np.zeros((frames, views, height, width), np.uint8)
    iuv = np.zeros((frames, views, height, width, 3), np.uint8)
    depth = np.zeros((frames, views, height, width), np.float32)
    seen = 0
    for name, payload in files.items():
        place = parse_image_field(name)
        if place is None:
            continue
        t, v, kind = place
        image = decode_image(payload)
        if kind == "rgb":
            rgb[t, v] = image[..., :3]
        elif kind == "parts":
            parts[t, v] = image
        elif kind == "iuv":
            iuv[t, v] = image
        else:
            depth[t, v] = image.astype(np.float32) / 1000.0
        seen += 1
    if seen != 4 * frames * views:
        raise ValueError(f"{path}: take {key} has {seen} of its {4 * frames * views} image files")
    body = {name[5:]: value for name, value in data.items() if name.startswith("body.")}
    return Take(
        rgb=rgb,
        parts=parts,
        iuv=iuv,
        depth=depth,
        joints3d=data["joints3d"],
        joints2d=data["joints2d"],
        intrinsics=data["intrinsics"],
        extrinsics=data["extrinsics"],
        body_params=body,
        meta=meta,
        hand_joints3d=data.get("hand_joints3d"),  # absent in shards written before hands were labelled
        hand_joints2d=data.get("hand_joints2d"),
    )


def _check_end_marker(path: Path, end: int) -> None:
    """tarfile stops quietly at a cut header or member: a whole tar has its end-of-archive marker."""
    with open(path, "rb") as handle:
        handle.seek(end)
        if handle.read(1024) != bytes(1024):
            raise EOFError(f"no end-of-archive marker after byte {end}")


def read_shard(path: str | Path) -> Iterator[Take]:
    """The takes of one shard, in order. A truncated or corrupt shard raises ValueError naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such shard")
    key, files = None, {}
    try:
        with tarfile.open(path, mode="r:") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                member_key, _, field = member.name.partition(".")
                if key is not None and member_key != key:
                    yield _decode_take(path, key, files)
                    files = {}
                key = member_key
                files[field] = tar.extractfile(member).read()
                if len(files[field]) != member.size:
                    raise EOFError(f"{member.name} is cut short")
            end = tar.offset
        _check_end_marker(path, end)
    except (tarfile.TarError, OSError, EOFError) as error:
        raise ValueError(f"{path}: truncated or corrupt shard ({error})") from error
    if key is not None:
        yield _decode_take(path, key, files)


def list_shards(root: str | Path) -> list[Path]:
    """The finished shards of a dataset folder, sorted."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such dataset folder")
    return sorted(root.glob("shard-*.tar"))


def index_shard(path: str | Path) -> dict[str, dict[str, tuple[int, int]]]:
    """Where every file of a shard lies, ``{key: {field: (offset, size)}}``, from the tar headers alone.

    Lets a reader fetch the few images it needs by offset instead of unpacking whole takes. A
    truncated or corrupt shard raises ValueError naming it, as ``read_shard`` does.
    """
    path = Path(path)
    index: dict[str, dict[str, tuple[int, int]]] = {}
    try:
        with tarfile.open(path, mode="r:") as tar:
            for member in tar:
                if member.isfile():
                    key, _, field = member.name.partition(".")
                    index.setdefault(key, {})[field] = (member.offset_data, member.size)
            end = tar.offset
        _check_end_marker(path, end)
    except (tarfile.TarError, OSError, EOFError) as error:
        raise ValueError(f"{path}: truncated or corrupt shard ({error})") from error
    return index


def read_member(path: str | Path, offset: int, size: int) -> bytes:
    """``size`` bytes of a shard at ``offset`` (from ``index_shard``); ValueError naming the shard if cut short."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read(size)
    if len(data) != size:
        raise ValueError(f"{path}: truncated shard ({len(data)} of {size} bytes at offset {offset})")
    return data
