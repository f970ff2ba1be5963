"""The typed configuration of a pretraining run, read from a YAML preset plus overrides.

Presets live in ``assets/configs/`` (croco-body, croco-hand, mae-body, mae-hand, tiny-cpu). A
command-line override is ``key=value`` with a dotted key (``optim.base_lr=3e-4``,
``batch_size=32``); values are parsed as YAML scalars.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from crocohuman.model.pairs.mixture import SourceConfig

CONFIG_DIR = Path(__file__).resolve().parent.parent / "assets" / "configs"


class ConfigLoader(yaml.SafeLoader):
    """YAML with YAML 1.2's numbers: PyYAML follows YAML 1.1, where ``1e-4`` (no dot) is a string."""


ConfigLoader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
                                   list("-+.0123456789"))


def coerce_numbers(config) -> None:
    """Make the dataclass's float and int fields numbers (``max_steps=4e3`` is 4000), so that a typo
    in a preset or an override fails here, naming the key, not deep inside the optimiser."""
    for spec in dataclasses.fields(config):
        kind = {"float": float, "int": int}.get(spec.type)
        value = getattr(config, spec.name)
        if kind is None or isinstance(value, bool) or isinstance(value, kind):
            continue
        try:
            number = kind(float(value)) if kind is int else float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{type(config).__name__}.{spec.name} must be a number, got {value!r}") from None
        if kind is int and number != float(value):
            raise ValueError(f"{type(config).__name__}.{spec.name} must be a whole number, got {value!r}")
        setattr(config, spec.name, number)


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
        coerce_numbers(self)


@dataclass
class FinetuneConfig:
    """What fine-tuning trains: a task head on a benchmark's training split (``croco-train finetune``)."""

    task: str = "hmr-free"  # hmr | hmr-free | hand-mesh | densepose | gesture | grasp
    benchmark: str = "synthetic"  # a name of crocohuman.eval.datasets.BENCHMARKS
    root: str = ""
    options: dict[str, Any] = field(default_factory=dict)  # benchmark reader options (split, ...)
    mode: str = "monocular"  # monocular (encoder) | binocular (encoder + decoder, two images)
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
        coerce_numbers(self)
        if self.top_crop < 0:
            raise ValueError(f"FinetuneConfig.top_crop is a fraction of the box height, got {self.top_crop}")
        if self.top_crop and (self.mode != "monocular" or self.task == "densepose"):
            raise ValueError("finetune.top_crop feeds image-level heads of monocular models; "
                             f"task {self.task!r} in {self.mode} mode cannot use it")


@dataclass
class TrainConfig:
    out_dir: str = "runs/croco"
    model: str = "croco-v2-base-small"  # a preset of crocohuman.model.croco
    model_overrides: dict[str, Any] = field(default_factory=dict)
    objective: str = "croco"  # croco (pairs) | mae (single images, the paper's baseline)
    init: str = "random"  # random | croco:PATH (official or our checkpoint) | weights:PATH (safetensors)
    data: list[SourceConfig] = field(default_factory=list)  # kind, root, weight, options
    image_size: int = 224
    masking: str = "human"  # human (paper, Sec. 3.1) | uniform
    mask_ratio: float = 0.75
    pad_to: str = "max_human"  # human-centric visible length rule, see masking.human_centric_mask
    norm_pix: bool = True
    batch_size: int = 64  # per process
    accum_steps: int = 1
    optim: OptimConfig = field(default_factory=OptimConfig)
    dtype: str = "bf16"  # bf16 autocast on CUDA; CPU always runs fp32
    compile: bool = False
    num_workers: int = 4
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    log_every: int = 10
    grid_every: int = 200
    ckpt_every: int = 500
    keep_every: int = 0  # also keep checkpoint-<step>.pt every N steps (0: only the last)
    finetune: FinetuneConfig | None = None  # set for fine-tuning runs; pretraining otherwise

    def __post_init__(self) -> None:
        coerce_numbers(self)
        self.data = [s if isinstance(s, SourceConfig) else SourceConfig(**s) for s in self.data]
        if isinstance(self.optim, dict):
            self.optim = OptimConfig(**self.optim)
        if isinstance(self.finetune, dict):
            self.finetune = FinetuneConfig(**self.finetune)
        self.optim.betas = tuple(self.optim.betas)
        if self.objective not in ("croco", "mae"):
            raise ValueError(f"objective must be 'croco' or 'mae', not {self.objective!r}")
        if self.masking not in ("human", "uniform"):
            raise ValueError(f"masking must be 'human' or 'uniform', not {self.masking!r}")
        if not self.data and self.finetune is None:
            raise ValueError("the config lists no data sources (data: [{kind: rendered, root: DIR}, ...])")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _set_dotted(tree: dict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        tree = tree.setdefault(key, {})
    tree[leaf] = value


def load_config(preset: str, overrides: list[str] = ()) -> TrainConfig:
    """A preset name (``tiny-cpu``) or a YAML file path, with ``key=value`` overrides applied."""
    path = Path(preset)
    if not path.suffix:
        path = CONFIG_DIR / f"{preset}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
        raise FileNotFoundError(f"{path}: no such config (presets: {known})")
    tree = yaml.load(path.read_text(), Loader=ConfigLoader) or {}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r} should be key=value")
        _set_dotted(tree, key.strip(), yaml.load(value, Loader=ConfigLoader))
    unknown = set(tree) - {f.name for f in dataclasses.fields(TrainConfig)}
    if unknown:
        raise ValueError(f"{path}: unknown config keys {sorted(unknown)}")
    return TrainConfig(**tree)
