"""The typed configuration of a rendering job; the command line only fills it in."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from crocohuman.core.bodymodel.files import MODEL_SPECS
from crocohuman.core.conventions import GENDERS as BODY_GENDERS
from crocohuman.render.camera_rig import RigConfig
from crocohuman.render.option_checks import check_choice, check_existing, check_int, check_number
from crocohuman.render.specs import check_background_spec, check_motion_spec

BodyName = Literal["anny", "smpl", "smplh", "smplx", "mano"]
Gender = Literal["any", "neutral", "male", "female"]  # SMPL family: any = every gender whose file exists
RgbFormat = Literal["jpg", "png"]
Focus = Literal["body", "hands"]  # what the cameras frame: the whole person, or one or both hands close up
BODIES, GENDERS, RGB_FORMATS = typing.get_args(BodyName), typing.get_args(Gender), typing.get_args(RgbFormat)
FOCI = typing.get_args(Focus)
# the Literals spell out what the body-model registry and the conventions define; they must agree
assert set(BODIES) == {"anny", *MODEL_SPECS} and set(GENDERS) == {"any", *BODY_GENDERS}
# settings of where and how a job runs, not of what it renders: left out of ``to_json``
JOB_PLACE_KEYS = ("output", "shard_index", "num_shards", "workers", "preview_takes")
MIN_SIZE, MAX_SIZE = 16, 8192  # image side in pixels: below 16 the framing breaks, above 8192 GL may refuse


def atlas_side(width: int, height: int) -> int:
    """The body texture's side for images of ``width`` x ``height``: the longer image side, within
    256..512. A person spans at most the image, so a larger atlas is only minified (at 256 px, 256²
    and 512² atlases render alike), while painting and uploading it is a per-take cost: at 512², about
    as much as rendering two 128-px views (issue 12)."""
    return min(max(width, height, 256), 512)


@dataclass
class RenderConfig:
    """Everything that defines a rendering job; ``to_json`` is the part that defines the dataset."""

    output: Path
    takes: int = 16  # takes in the whole dataset (over all shards)
    takes_per_shard: int = 8
    frames: int = 4  # time steps per take (cross-pose pairs)
    fps: float = 10.0  # sampling rate of the time steps within a clip
    width: int = 256
    height: int = 256
    body: BodyName = "anny"
    model_path: Path | None = None  # SMPL-family model files
    gender: Gender = "any"
    texture_dir: Path | None = None  # SURREAL-style textures in SMPL's UV layout
    uv_obj: Path | None = None  # SMPL UV template .obj for those textures
    motion: str = "sampler"  # sampler | amass:DIR
    background: str = "procedural"  # procedural | images:DIR | scene:FILE
    rig: RigConfig = field(default_factory=RigConfig)
    focus: Focus = "body"
    texture_size: int | None = None  # body atlas side; None: follows the image (see atlas_side)
    rgb_format: RgbFormat = "jpg"
    jpeg_quality: int = 95
    seed: int = 0
    shard_index: int = 0  # this process renders shards s with s % num_shards == shard_index
    num_shards: int = 1
    workers: int = 1
    preview_takes: int = 3

    def __post_init__(self) -> None:
        """Check every option before anything is created, loaded or rendered; ValueError names the option."""
        self.output = Path(self.output)
        self.takes = check_int("--takes", self.takes, 1)
        self.takes_per_shard = check_int("--takes-per-shard", self.takes_per_shard, 1)
        self.frames = check_int("--frames", self.frames, 1)
        self.fps = check_number("--fps", self.fps, positive=True, unit="time steps per second")
        self.width = check_int("--size", self.width, MIN_SIZE, MAX_SIZE, unit="pixels")
        self.height = check_int("--size", self.height, MIN_SIZE, MAX_SIZE, unit="pixels")
        self._check_body()
        check_motion_spec(self.motion)
        self._check_focus(check_background_spec(self.background).kind)
        if self.texture_size is None:
            self.texture_size = atlas_side(self.width, self.height)
        self.texture_size = check_int("texture_size", self.texture_size, MIN_SIZE, MAX_SIZE, unit="pixels")
        self.rgb_format = check_choice("--rgb-format", self.rgb_format, RGB_FORMATS)
        self.jpeg_quality = check_int("jpeg_quality", self.jpeg_quality, 1, 100)
        self.seed = check_int("--seed", self.seed, 0)
        self.num_shards = check_int("--num-shards", self.num_shards, 1)
        self.shard_index = check_int(
            "--shard-index", self.shard_index, 0, self.num_shards - 1, unit=f"--num-shards is {self.num_shards}"
        )
        self.workers = check_int("--workers", self.workers, 1)
        self.preview_takes = check_int("preview_takes", self.preview_takes, 1)

    def _check_body(self) -> None:
        """The body and the model files it needs; texture options only where they are used."""
        self.body = check_choice("--body", self.body, BODIES)
        self.gender = check_choice("--gender", self.gender, GENDERS)
        self.model_path = check_existing("--model-path", self.model_path, "folder")
        self.texture_dir = check_existing("--texture-dir", self.texture_dir, "folder")
        self.uv_obj = check_existing("--uv-obj", self.uv_obj, "file")
        if self.body == "anny":
            given = [
                name
                for name, value in (
                    ("--model-path", self.model_path),
                    ("--texture-dir", self.texture_dir),
                    ("--uv-obj", self.uv_obj),
                )
                if value is not None
            ]
            if given:
                raise ValueError(
                    f"{', '.join(given)}: only for SMPL-family bodies (--body "
                    f"{'|'.join(BODIES[1:])}); --body anny ships its own model"
                )
        elif self.model_path is None:
            raise ValueError(
                f"--body {self.body} needs --model-path, the folder of your {self.body.upper()} model files"
            )
        if self.texture_dir is not None and self.uv_obj is None:
            raise ValueError("--texture-dir needs --uv-obj, the model's UV template .obj the images are laid out for")

    def _check_focus(self, background_kind: str) -> None:
        """Hand close-ups need hand keypoints (anny's) and open space around the hand (no scene mesh)."""
        self.focus = check_choice("--focus", self.focus, FOCI)
        if self.focus == "hands" and self.body != "anny":
            raise ValueError(f"--focus hands needs --body anny (--body {self.body} writes no hand keypoints yet)")
        if self.focus == "hands" and background_kind == "scene":
            raise ValueError(
                "--focus hands: not with --background scene:FILE yet (close-up cameras may stand in furniture)"
            )

    @property
    def total_shards(self) -> int:
        return -(-self.takes // self.takes_per_shard)

    def to_json(self) -> dict:
        """A JSON-able dict of the settings that define the dataset's content."""
        data = dataclasses.asdict(self)
        for key in JOB_PLACE_KEYS:
            data.pop(key)
        return {key: str(value) if isinstance(value, Path) else value for key, value in data.items()}


# Settings added after datasets were written: a job.json without one was rendered with this value.
LATER_SETTINGS = {"focus": RenderConfig.focus}
