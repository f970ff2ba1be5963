"""WebDataset-compatible tar shards of takes: the on-disk format, its writer and its reader.

One take is one sample; its files share the take's key (``%09d`` take index) and WebDataset
reads everything after the key's first dot as the field name. See docs/data-format.md.

    {key}.meta.json                  body, identity, motion, fps, sizes, seed
    {key}.arrays.npz                 joints3d, joints2d, intrinsics, extrinsics, body.* parameters
    {key}.tTT.vVV.rgb.jpg|png        8-bit sRGB
    {key}.tTT.vVV.parts.png          8-bit, DensePose part 0..24 (0 = background; mask = parts > 0)
    {key}.tTT.vVV.iuv.png            8-bit RGB = (I, U*255, V*255), DensePose IUV layout
    {key}.tTT.vVV.depth.png          16-bit, millimetres along the camera z axis, 0 = no person

Shards are written to a temporary name unique to their writer and renamed when complete, with fixed tar and zip
metadata, so an interrupted job never leaves a shard that looks whole and a seed always gives
the same bytes.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from crocohuman.render.atomic_files import temporary_path
from crocohuman.render.take import Take

_IMAGE_NAME = re.compile(r"t(\d+)\.v(\d+)\.(rgb|parts|iuv|depth)\.(jpg|png)")
_SHARD_NAME = re.compile(r"shard-(\d{6})\.tar")
IMAGE_KINDS = ("rgb", "parts", "iuv", "depth")
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def shard_name(index: int) -> str:
    return f"shard-{index:06d}.tar"


def shard_number(path: str | Path) -> int | None:
    """The index in a shard's file name, None for a name that is not ``shard-NNNNNN.tar``."""
    match = _SHARD_NAME.fullmatch(Path(path).name)
    return int(match[1]) if match else None


def image_field(t: int, v: int, kind: str, rgb_format: str = "jpg") -> str:
    """The field name (after the take's key) of one image: ``tTT.vVV.KIND.jpg|png``."""
    return f"t{t:02d}.v{v:02d}.{kind}.{rgb_format if kind == 'rgb' else 'png'}"


def take_fields(frames: int, views: int, rgb_format: str) -> set[str]:
    """The field names every take holds (after its key), as ``encode_take`` writes them."""
    images = {image_field(t, v, kind, rgb_format) for t in range(frames) for v in range(views) for kind in IMAGE_KINDS}
    return {"meta.json", "arrays.npz"} | images


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _jpg(array: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz archive with fixed timestamps (numpy's own savez is not byte-reproducible)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, value in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(value), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def encode_take(key: str, take: Take, seed: list[int], rgb_format: str = "jpg", jpeg_quality: int = 95) -> list[tuple[str, bytes]]:
    """The (file name, bytes) members of one take."""
    meta = {**take.meta, "key": key, "seed": seed}
    arrays = {"joints3d": take.joints3d, "joints2d": take.joints2d, "intrinsics": take.intrinsics,
              "extrinsics": take.extrinsics, **{f"body.{k}": v for k, v in take.body_params.items()}}
    members = [(f"{key}.meta.json", json.dumps(meta, sort_keys=True).encode()),
               (f"{key}.arrays.npz", npz_bytes(arrays))]
    depth_mm = np.clip(np.rint(take.depth * 1000.0), 0, 65535).astype(np.uint16)
    frames, views = take.parts.shape[:2]
    for t in range(frames):
        for v in range(views):
            rgb = _jpg(take.rgb[t, v], jpeg_quality) if rgb_format == "jpg" else _png(take.rgb[t, v])
            images = {"rgb": rgb, "parts": _png(take.parts[t, v]), "iuv": _png(take.iuv[t, v]),
                      "depth": _png(depth_mm[t, v])}
            members += [(f"{key}.{image_field(t, v, kind, rgb_format)}", images[kind]) for kind in IMAGE_KINDS]
    return members


def write_shard(path: Path, members: list[tuple[str, bytes]]) -> None:
    """Write a tar atomically: this writer's temporary file, fsync, then rename over ``path``."""
    path = Path(path)
    temporary = temporary_path(path)
    try:
        with open(temporary, "wb") as handle:
            with tarfile.open(fileobj=handle, mode="w", format=tarfile.USTAR_FORMAT) as tar:
                for name, data in members:
                    info = tarfile.TarInfo(name)
                    info.size, info.mtime, info.mode = len(data), 0, 0o644
                    tar.addfile(info, io.BytesIO(data))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _decode_take(path: Path, key: str, files: dict[str, bytes]) -> Take:
    try:
        meta = json.loads(files["meta.json"])
        with np.load(io.BytesIO(files["arrays.npz"]), allow_pickle=False) as arrays:
            data = {name: arrays[name] for name in arrays.files}
    except KeyError as missing:
        raise ValueError(f"{path}: take {key} lacks its {missing.args[0]} file") from None
    frames, views, height, width = meta["frames"], meta["views"], meta["height"], meta["width"]
    rgb = np.zeros((frames, views, height, width, 3), np.uint8)
    parts = np.zeros((frames, views, height, width), np.uint8)
    iuv = np.zeros((frames, views, height, width, 3), np.uint8)
    depth = np.zeros((frames, views, height, width), np.float32)
    seen = 0
    for name, payload in files.items():
        match = _IMAGE_NAME.fullmatch(name)
        if not match:
            continue
        t, v, kind = int(match[1]), int(match[2]), match[3]
        image = np.asarray(Image.open(io.BytesIO(payload)))
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
    return Take(rgb=rgb, parts=parts, iuv=iuv, depth=depth, joints3d=data["joints3d"],
                joints2d=data["joints2d"], intrinsics=data["intrinsics"], extrinsics=data["extrinsics"],
                body_params=body, meta=meta)


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
        with open(path, "rb") as handle:  # tarfile stops quietly at a cut header: check the end marker
            handle.seek(end)
            if handle.read(1024) != bytes(1024):
                raise EOFError(f"no end-of-archive marker after byte {end}")
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
        with open(path, "rb") as handle:  # a cut member or header leaves no end-of-archive marker
            handle.seek(end)
            if handle.read(1024) != bytes(1024):
                raise EOFError(f"no end-of-archive marker after byte {end}")
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
