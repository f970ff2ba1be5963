"""The typed configuration of a training run, read from a YAML preset plus overrides, checked up front.

Presets are ``assets/configs/*.yaml`` (croco-body, croco-hand, mae-body, mae-hand, tiny-cpu, ...),
installed as the package data ``crocohuman.presets``. A command-line override is ``key=value``
with a dotted key (``optim.base_lr=3e-4``, ``batch_size=32``) and is converted by that key's
annotation (``core/typed_config.py``): a text or choice field takes the text as it is
(``out_dir=off`` is the folder "off", not False), any other reads it as YAML 1.2 first. Values
that are already typed (the command's ``--out``, ``--data``, ``--init``) are set without any parsing.

Every value is checked where the config is built, so a bad one fails before any model or data
is made, with one message that starts with its key: ``optim.max_steps must be >= 1, got 0``;
an unknown key, at any depth, is refused with the valid ones listed.
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from crocohuman.core.typed_config import (
    ConfigError,
    convert_fields,
    dotted_hint,
    from_mapping,
    override_value,
    read_yaml,
    require,
    set_dotted,
    split_override,
)
from crocohuman.model.masking import PadRule
from crocohuman.model.pairs.mixture import SOURCE_KINDS, Objective, SourceConfig
from crocohuman.model.task_catalog import TASK_INFO, HeadMode, TaskName, task_reader_options

PRESETS_PACKAGE = "crocohuman.presets"  # assets/configs/, shipped as package data
INIT_KINDS = ("random", "croco", "weights")
DEVICES = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


@dataclass
class OptimConfig:
    base_lr: float = 1.5e-4  # lr = base_lr * effective batch / 256
    min_lr: float = 0.0
    weight_decay: float = 0.05
    betas: tuple[float, float] = (0.9, 0.95)
    warmup_steps: int = 1000
    schedule_steps: int = 100_000  # length of the cosine (the official code uses 2x the stop)
    max_steps: int = 50_000  # where training stops

    def __post_init__(self) -> None:
        convert_fields(self, "optim.")
        for name in ("base_lr", "min_lr", "weight_decay"):
            value = getattr(self, name)
            require(math.isfinite(value) and value >= 0, f"optim.{name}", "a finite number >= 0", value)
        require(
            len(self.betas) == 2 and all(isinstance(b, (int, float)) and 0 <= b < 1 for b in self.betas),
            "optim.betas",
            "two numbers in [0, 1)",
            list(self.betas),
        )
        require(self.warmup_steps >= 0, "optim.warmup_steps", ">= 0", self.warmup_steps)
        require(self.schedule_steps >= 1, "optim.schedule_steps", ">= 1", self.schedule_steps)
        require(
            self.warmup_steps <= self.schedule_steps,
            "optim.warmup_steps",
            f"<= optim.schedule_steps ({self.schedule_steps})",
            self.warmup_steps,
        )
        require(self.max_steps >= 1, "optim.max_steps", ">= 1", self.max_steps)


def benchmark_names() -> tuple[str, ...]:
    """The benchmark readers' names (the registry's names only: no reader module is imported)."""
    from crocohuman.datasets import BENCHMARKS

    return tuple(BENCHMARKS)


@dataclass
class FinetuneConfig:
    """What fine-tuning trains: a task head on a benchmark's training split (``croco-train finetune``)."""

    task: TaskName = "hmr-free"  # a task of model/task_catalog.py
    benchmark: str = "synthetic"  # a name of crocohuman.datasets.BENCHMARKS where the task runs
    root: str = ""
    options: dict[str, Any] = field(default_factory=dict)  # benchmark reader options (split, ...)
    mode: HeadMode = "monocular"  # monocular (encoder) | binocular (encoder + decoder, two images)
    num_classes: int = 0  # gesture / grasp
    shots: int = 0  # k-shot fine-tuning: k training samples per class (0: the whole split)
    shot_seed: int = 0  # which k samples (few-shot results are mean +- std over seeds)
    backbone_lr_scale: float = 1.0
    model_path: str = ""  # hand-mesh: your MANO folder or MANO_RIGHT.pkl/.npz (mano.is.tue.mpg.de)
    mirror: bool = True  # left-right flip augmentation where the targets allow it (SMPL-order joints)
    # image-level heads also see the top of the person box, a square of side top_crop x the box
    # height at the same resolution: where the head is, whose face or hair tells front from back
    top_crop: float = 0.0  # 0: off

    def __post_init__(self) -> None:
        convert_fields(self, "finetune.")
        info, benchmarks = TASK_INFO[self.task], benchmark_names()
        require(self.benchmark in benchmarks, "finetune.benchmark", f"one of {', '.join(benchmarks)}", self.benchmark)
        require(
            self.benchmark in info.benchmarks,
            "finetune.benchmark",
            f"one of {', '.join(info.benchmarks)} for task {self.task!r}",
            self.benchmark,
        )
        try:  # a reader option against the task's own (hand-joints reads synthetic takes as hands)
            task_reader_options(self.task, self.benchmark, self.options)
        except ValueError as error:
            raise ConfigError(f"finetune.options: {error}") from None
        for name in ("num_classes", "shots", "shot_seed"):
            require(getattr(self, name) >= 0, f"finetune.{name}", ">= 0", getattr(self, name))
        if info.needs_classes:  # classifiers: how many classes the head outputs
            require(
                self.num_classes >= 2,
                "finetune.num_classes",
                f">= 2 for task {self.task!r} (e.g. 18 HaGRID gestures, 33 GUN-71 grasps)",
                self.num_classes,
            )
        require(
            math.isfinite(self.backbone_lr_scale) and self.backbone_lr_scale >= 0,
            "finetune.backbone_lr_scale",
            "a finite number >= 0",
            self.backbone_lr_scale,
        )
        require(0 <= self.top_crop <= 1, "finetune.top_crop", "a fraction of the box height in [0, 1]", self.top_crop)
        if self.top_crop and (self.mode != "monocular" or not info.image_level):
            raise ConfigError(
                "finetune.top_crop feeds image-level heads of monocular models; "
                f"task {self.task!r} in {self.mode} mode cannot use it"
            )


@dataclass
class TrainConfig:
    out_dir: str = "runs/croco"
    model: str = "croco-v2-base-small"  # a preset of crocohuman.model.croco
    model_overrides: dict[str, Any] = field(default_factory=dict)
    objective: Objective = "croco"  # croco (pairs) | mae (single images, the paper's baseline)
    init: str = "random"  # random | croco:PATH (official or our checkpoint) | weights:PATH (safetensors)
    data: list[SourceConfig] = field(default_factory=list)  # kind, root, weight, options
    image_size: int = 224
    masking: Literal["human", "uniform"] = "human"  # human (paper, Sec. 3.1) | uniform
    mask_ratio: float = 0.75
    pad_to: PadRule = "max_human"  # human-centric visible length rule, see masking.human_centric_mask
    norm_pix: bool = True
    batch_size: int = 64  # per process
    accum_steps: int = 1
    optim: OptimConfig = field(default_factory=OptimConfig)
    dtype: Literal["bf16", "fp32"] = "bf16"  # bf16 autocast on CUDA | fp32; CPU always runs fp32
    compile: bool = False
    num_workers: int = 4
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    log_every: int = 10
    grid_every: int = 200  # 0: no grids
    ckpt_every: int = 500
    keep_every: int = 0  # also keep checkpoint-<step>.pt every N steps (0: only the last)
    max_bad_steps: int = 20  # stop after this many steps in a row with a non-finite loss or gradient
    finetune: FinetuneConfig | None = None  # set for fine-tuning runs; pretraining otherwise

    def __post_init__(self) -> None:
        convert_fields(self)
        for i, source in enumerate(self.data):
            check_source(source, f"data[{i}].")
        if not self.data and self.finetune is None:
            raise ConfigError(
                "data must list at least one source for pretraining "
                "(--data KIND:ROOT, or data: [{kind: rendered, root: DIR}, ...]), got []"
            )
        self._check_choices()
        self._check_counts()
        self._check_model()

    def _check_choices(self) -> None:
        require(self.out_dir.strip() != "", "out_dir", "a folder name", self.out_dir)
        require(bool(DEVICES.match(self.device)), "device", "auto, cpu, cuda or cuda:N", self.device)
        kind, colon, path = self.init.partition(":")
        require(
            kind in INIT_KINDS and (kind == "random") == (not colon) and (kind == "random" or path != ""),
            "init",
            "random, croco:PATH or weights:PATH",
            self.init,
        )

    def _check_counts(self) -> None:
        require(0 <= self.mask_ratio < 1, "mask_ratio", "in [0, 1)", self.mask_ratio)
        for name, low in (
            ("batch_size", 1),
            ("accum_steps", 1),
            ("num_workers", 0),
            ("seed", 0),
            ("log_every", 1),
            ("grid_every", 0),
            ("ckpt_every", 1),
            ("keep_every", 0),
            ("max_bad_steps", 1),
        ):
            require(getattr(self, name) >= low, name, f">= {low}", getattr(self, name))

    def _check_model(self) -> None:
        """The model preset and overrides make a network, whose input size is ``image_size``."""
        config = self.model_config()
        require(
            self.image_size >= config.patch_size and self.image_size % config.patch_size == 0,
            "image_size",
            f"a multiple of the patch size {config.patch_size}",
            self.image_size,
        )
        if self.init == "random":
            require(
                self.image_size == config.img_size,
                "image_size",
                f"the model's img_size ({config.img_size}, model_overrides.img_size)",
                self.image_size,
            )

    def model_config(self):
        """The CroCoConfig that ``model`` and ``model_overrides`` describe (what a random init builds)."""
        from crocohuman.model.croco import PRESETS, CroCoConfig

        require(self.model in PRESETS, "model", f"one of {', '.join(PRESETS)}", self.model)
        known = {spec.name for spec in dataclasses.fields(CroCoConfig)}
        unknown = sorted(set(self.model_overrides) - known)
        require(not unknown, "model_overrides", f"a mapping of CroCoConfig keys {sorted(known)}", unknown)
        try:
            return CroCoConfig(**{**PRESETS[self.model], **self.model_overrides})
        except (TypeError, ValueError) as error:
            raise ConfigError(
                f"model_overrides must make a valid network, got {self.model_overrides!r}: {error}"
            ) from None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def check_source(source: SourceConfig, prefix: str) -> None:
    """A pair source: a known reader kind, a folder, a positive weight, reader options."""
    convert_fields(source, prefix)
    require(source.kind in SOURCE_KINDS, prefix + "kind", f"one of {', '.join(SOURCE_KINDS)}", source.kind)
    require(source.root.strip() != "", prefix + "root", "a folder", source.root)
    require(math.isfinite(source.weight) and source.weight > 0, prefix + "weight", "a finite number > 0", source.weight)


def preset_names() -> list[str]:
    """The shipped presets (``assets/configs/*.yaml``, the package data ``crocohuman.presets``)."""
    return sorted(
        entry.name[:-5] for entry in resources.files(PRESETS_PACKAGE).iterdir() if entry.name.endswith(".yaml")
    )


def read_preset(preset: str) -> tuple[str, str]:
    """(where, YAML text) of a preset name (``tiny-cpu``) or a YAML file path."""
    if Path(preset).suffix:
        path = Path(preset)
        if not path.is_file():
            raise FileNotFoundError(
                f"--config must be a preset ({', '.join(preset_names())}) or a YAML file, got {preset!r} (no such file)"
            )
        return str(path), path.read_text()
    resource = resources.files(PRESETS_PACKAGE) / f"{preset}.yaml"
    if not resource.is_file():
        raise FileNotFoundError(
            f"--config must be a preset ({', '.join(preset_names())}) or a YAML file, got {preset!r}"
        )
    return f"preset {preset}", resource.read_text()


def load_config(preset: str, overrides: typing.Sequence[str] = (), values: dict[str, Any] | None = None) -> TrainConfig:
    """A preset name (``tiny-cpu``) or a YAML file path, then ``key=value`` ``overrides`` (text, converted
    by each key's type), then ``values`` (dotted key -> typed value, checked as they are)."""
    where, text = read_preset(preset)
    tree = read_yaml(text, where) or {}
    require(isinstance(tree, dict), where, "a mapping of config keys", tree)
    for key, value in [split_override(item) for item in overrides]:
        set_dotted(tree, key, override_value(TrainConfig, key, value))
    for key, value in (values or {}).items():
        dotted_hint(TrainConfig, key)  # a known key
        set_dotted(tree, key, value)
    return from_mapping(TrainConfig, tree)
