"""The typed configuration of a rendering job; the command line only fills it in."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from crocohuman.render.camera_rig import RigConfig


@dataclass
class RenderConfig:
    output: Path
    takes: int = 16  # takes in the whole dataset (over all shards)
    takes_per_shard: int = 8
    frames: int = 4  # time steps per take (cross-pose pairs)
    fps: float = 10.0  # sampling rate of the time steps within a clip
    width: int = 256
    height: int = 256
    body: str = "anny"  # anny | smpl | smplh | smplx | mano
    model_path: Path | None = None  # SMPL-family model files
    gender: str = "any"  # SMPL family: any (every gender whose file exists) | neutral | male | female
    texture_dir: Path | None = None  # SURREAL-style textures in SMPL's UV layout
    uv_obj: Path | None = None  # SMPL UV template .obj for those textures
    motion: str = "sampler"  # sampler | amass:DIR
    background: str = "procedural"  # procedural | images:DIR | scene:FILE
    rig: RigConfig = field(default_factory=RigConfig)
    texture_size: int = 512
    rgb_format: str = "jpg"  # jpg | png
    jpeg_quality: int = 95
    seed: int = 0
    shard_index: int = 0  # this process renders shards s with s % num_shards == shard_index
    num_shards: int = 1
    workers: int = 1
    preview_takes: int = 3

    def __post_init__(self) -> None:
        self.output = Path(self.output)
        if self.takes < 1 or self.takes_per_shard < 1 or self.frames < 1 or self.rig.views < 1:
            raise ValueError("takes, takes_per_shard, frames and views must be at least 1")
        if not 0 <= self.shard_index < self.num_shards:
            raise ValueError(f"--shard-index {self.shard_index} must be in [0, --num-shards {self.num_shards})")
        if self.rgb_format not in ("jpg", "png"):
            raise ValueError(f"rgb format must be jpg or png, not {self.rgb_format!r}")

    @property
    def total_shards(self) -> int:
        return -(-self.takes // self.takes_per_shard)

    def to_json(self) -> dict:
        """A JSON-able dict of the settings that define the dataset's content."""
        data = dataclasses.asdict(self)
        for key in ("output", "shard_index", "num_shards", "workers", "preview_takes"):
            data.pop(key)
        return {key: str(value) if isinstance(value, Path) else value for key, value in data.items()}
