"""The typed configuration of a training run, read from a YAML preset plus overrides, checked up front.

Presets live in ``assets/configs/`` (croco-body, croco-hand, mae-body, mae-hand, tiny-cpu, ...).
A command-line override is ``key=value`` with a dotted key (``optim.base_lr=3e-4``,
``batch_size=32``): the value is parsed as a YAML scalar unless the key is a text field, which
takes the text as it is (``out_dir=off`` is the folder "off", not False). Values that are already
typed (the command's ``--out``, ``--data``, ``--init``) are set without any parsing.

Every value is checked where the config is built, so a bad one fails before any model or data
is made, with one message that starts with its key: ``optim.max_steps must be >= 1, got 0``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from crocohuman.model.pairs.mixture import SOURCE_KINDS, SourceConfig

CONFIG_DIR = Path(__file__).resolve().parent.parent / "assets" / "configs"
INIT_KINDS = ("random", "croco", "weights")
DEVICES = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


class ConfigError(ValueError):
    """A config value of the wrong type or out of its range; the message starts with the key."""


class ConfigLoader(yaml.SafeLoader):
    """YAML with YAML 1.2's numbers: PyYAML follows YAML 1.1, where ``1e-4`` (no dot) is a string."""


ConfigLoader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
                                   list("-+.0123456789"))


def require(ok: bool, key: str, rule: str, value: Any) -> None:
    """Raise ``<key> must be <rule>, got <value>`` unless ``ok``."""
    if not ok:
        raise ConfigError(f"{key} must be {rule}, got {value!r}")


def _field_type(hint: Any) -> Any:
    """``X | None`` -> X; other hints unchanged."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        kinds = [k for k in typing.get_args(hint) if k is not type(None)]
        return kinds[0] if len(kinds) == 1 else hint
    return hint


def _number(value: Any, kind: type, key: str) -> int | float:
    """``4e3`` for an int field is 4000; text, bools and fractions for an int field are refused."""
    if isinstance(value, kind) and not isinstance(value, bool):
        return value
    require(isinstance(value, (int, float)) and not isinstance(value, bool), key, "a number", value)
    if kind is int:
        require(math.isfinite(value) and value == int(value), key, "a whole number", value)
        return int(value)
    return float(value)


def check_types(config: Any, prefix: str) -> None:
    """Make numbers numbers and check that text, flags, tables and lists are what their fields say,
    so a YAML value of the wrong kind (``out_dir: off`` reads False) fails here, naming the key."""
    hints = typing.get_type_hints(type(config))
    for spec in dataclasses.fields(config):
        kind, value, key = _field_type(hints[spec.name]), getattr(config, spec.name), prefix + spec.name
        origin = typing.get_origin(kind) or kind
        if value is None and spec.default is None:
            continue
        if kind in (int, float):
            setattr(config, spec.name, _number(value, kind, key))
        elif kind is str:
            require(isinstance(value, str), key, "text (quote it in YAML)", value)
        elif kind is bool:
            require(isinstance(value, bool), key, "true or false", value)
        elif origin in (dict, list, tuple):
            require(isinstance(value, (list, tuple) if origin is not dict else dict), key,
                    "a mapping" if origin is dict else "a list", value)


def build_section(cls: type, value: Any, key: str) -> Any:
    """A nested dataclass from a mapping, refusing keys it does not have (naming them)."""
    if isinstance(value, cls):
        return value
    require(isinstance(value, dict), key, f"a mapping of {cls.__name__} fields", value)
    known = {spec.name for spec in dataclasses.fields(cls)}
    unknown = sorted(set(value) - known)
    require(not unknown, key, f"a mapping of the keys {sorted(known)}", unknown)
    return cls(**value)


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
        check_types(self, "optim.")
        for name in ("base_lr", "min_lr", "weight_decay"):
            value = getattr(self, name)
            require(math.isfinite(value) and value >= 0, f"optim.{name}", "a finite number >= 0", value)
        self.betas = tuple(self.betas)
        require(len(self.betas) == 2 and all(isinstance(b, (int, float)) and 0 <= b < 1 for b in self.betas),
                "optim.betas", "two numbers in [0, 1)", list(self.betas))
        require(self.warmup_steps >= 0, "optim.warmup_steps", ">= 0", self.warmup_steps)
        require(self.schedule_steps >= 1, "optim.schedule_steps", ">= 1", self.schedule_steps)
        require(self.warmup_steps <= self.schedule_steps, "optim.warmup_steps",
                f"<= optim.schedule_steps ({self.schedule_steps})", self.warmup_steps)
        require(self.max_steps >= 1, "optim.max_steps", ">= 1", self.max_steps)


def finetune_choices() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Task names, head modes and benchmark names, from their registries (imported when asked for)."""
    from crocohuman.datasets import BENCHMARK_NAMES  # names only; no reader module is imported
    from crocohuman.model.finetune import TASKS
    from crocohuman.model.heads import MODES

    return TASKS, MODES, BENCHMARK_NAMES


@dataclass
class FinetuneConfig:
    """What fine-tuning trains: a task head on a benchmark's training split (``croco-train finetune``)."""

    task: str = "hmr-free"  # hmr | hmr-free | hand-mesh | densepose | gesture | grasp
    benchmark: str = "synthetic"  # one of crocohuman.datasets.BENCHMARK_NAMES
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
        check_types(self, "finetune.")
        tasks, modes, benchmarks = finetune_choices()
        require(self.task in tasks, "finetune.task", f"one of {', '.join(tasks)}", self.task)
        require(self.mode in modes, "finetune.mode", f"one of {', '.join(modes)}", self.mode)
        require(self.benchmark in benchmarks, "finetune.benchmark", f"one of {', '.join(benchmarks)}", self.benchmark)
        for name in ("num_classes", "shots", "shot_seed"):
            require(getattr(self, name) >= 0, f"finetune.{name}", ">= 0", getattr(self, name))
        if self.task in ("gesture", "grasp"):  # classifiers: how many classes the head outputs
            require(self.num_classes >= 2, "finetune.num_classes", f">= 2 for task {self.task!r} (e.g. 18 HaGRID "
                    "gestures, 33 GUN-71 grasps)", self.num_classes)
        require(math.isfinite(self.backbone_lr_scale) and self.backbone_lr_scale >= 0, "finetune.backbone_lr_scale",
                "a finite number >= 0", self.backbone_lr_scale)
        require(0 <= self.top_crop <= 1, "finetune.top_crop", "a fraction of the box height in [0, 1]", self.top_crop)
        if self.top_crop and (self.mode != "monocular" or self.task == "densepose"):
            raise ConfigError("finetune.top_crop feeds image-level heads of monocular models; "
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
    dtype: str = "bf16"  # bf16 autocast on CUDA | fp32; CPU always runs fp32
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
        self.optim = build_section(OptimConfig, self.optim, "optim")
        if self.finetune is not None:
            self.finetune = build_section(FinetuneConfig, self.finetune, "finetune")
        check_types(self, "")
        self.data = [build_section(SourceConfig, s, f"data[{i}]") for i, s in enumerate(self.data)]
        for i, source in enumerate(self.data):
            check_source(source, f"data[{i}].")
        if not self.data and self.finetune is None:
            raise ConfigError("data must list at least one source for pretraining "
                              "(--data KIND:ROOT, or data: [{kind: rendered, root: DIR}, ...]), got []")
        self._check_choices()
        self._check_counts()
        self._check_model()

    def _check_choices(self) -> None:
        require(self.out_dir.strip() != "", "out_dir", "a folder name", self.out_dir)
        require(self.objective in ("croco", "mae"), "objective", "'croco' or 'mae'", self.objective)
        require(self.masking in ("human", "uniform"), "masking", "'human' or 'uniform'", self.masking)
        require(self.pad_to in ("max_human", "max_visible"), "pad_to", "'max_human' or 'max_visible'", self.pad_to)
        require(self.dtype in ("bf16", "fp32"), "dtype", "'bf16' or 'fp32'", self.dtype)
        require(bool(DEVICES.match(self.device)), "device", "auto, cpu, cuda or cuda:N", self.device)
        kind, colon, path = self.init.partition(":")
        require(kind in INIT_KINDS and (kind == "random") == (not colon) and (kind == "random" or path != ""),
                "init", "random, croco:PATH or weights:PATH", self.init)

    def _check_counts(self) -> None:
        require(0 <= self.mask_ratio < 1, "mask_ratio", "in [0, 1)", self.mask_ratio)
        for name, low in (("batch_size", 1), ("accum_steps", 1), ("num_workers", 0), ("seed", 0), ("log_every", 1),
                          ("grid_every", 0), ("ckpt_every", 1), ("keep_every", 0), ("max_bad_steps", 1)):
            require(getattr(self, name) >= low, name, f">= {low}", getattr(self, name))

    def _check_model(self) -> None:
        """The model preset and overrides make a network, whose input size is ``image_size``."""
        config = self.model_config()
        require(self.image_size >= config.patch_size and self.image_size % config.patch_size == 0, "image_size",
                f"a multiple of the patch size {config.patch_size}", self.image_size)
        if self.init == "random":
            require(self.image_size == config.img_size, "image_size",
                    f"the model's img_size ({config.img_size}, model_overrides.img_size)", self.image_size)

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
            raise ConfigError(f"model_overrides must make a valid network, got {self.model_overrides!r}: {error}") from None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def check_source(source: SourceConfig, prefix: str) -> None:
    """A pair source: a known reader kind, a folder, a positive weight, reader options."""
    check_types(source, prefix)
    require(source.kind in SOURCE_KINDS, prefix + "kind", f"one of {', '.join(SOURCE_KINDS)}", source.kind)
    require(source.root.strip() != "", prefix + "root", "a folder", source.root)
    require(math.isfinite(source.weight) and source.weight > 0, prefix + "weight", "a finite number > 0", source.weight)


def field_type(dotted: str) -> Any:
    """The declared type of a dotted config key (``optim.max_steps`` -> int); None for keys inside
    a free-form table (``model_overrides.img_size``) or unknown keys."""
    cls: Any = TrainConfig
    for part in dotted.split("."):
        if not dataclasses.is_dataclass(cls):
            return None
        cls = _field_type(typing.get_type_hints(cls).get(part))
    return cls


def _set_dotted(tree: dict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        child = tree.setdefault(key, {})
        require(isinstance(child, dict), dotted, f"inside a mapping, but {key} is", child)
        tree = child
    tree[leaf] = value


def parse_override(item: str) -> tuple[str, Any]:
    """``key=value``: a text field takes the text as it is, any other the YAML scalar or collection."""
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"an override must be key=value, got {item!r}")
    if field_type(key) is str:
        return key, text
    try:
        return key, yaml.load(text, Loader=ConfigLoader)
    except yaml.YAMLError as error:
        raise ConfigError(f"{key} must be a YAML value, got {text!r} ({str(error).splitlines()[0]})") from None


def load_config(preset: str, overrides: typing.Sequence[str] = (), values: dict[str, Any] | None = None) -> TrainConfig:
    """A preset name (``tiny-cpu``) or a YAML file path, then ``key=value`` ``overrides`` (text, parsed),
    then ``values`` (dotted key -> typed value, set as they are)."""
    path = Path(preset)
    if not path.suffix:
        path = CONFIG_DIR / f"{preset}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
        raise FileNotFoundError(f"--config must be a preset ({known}) or a YAML file, got {preset!r} (no {path})")
    try:
        tree = yaml.load(path.read_text(), Loader=ConfigLoader) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error})") from None
    for key, value in [parse_override(item) for item in overrides] + list((values or {}).items()):
        _set_dotted(tree, key, value)
    unknown = set(tree) - {f.name for f in dataclasses.fields(TrainConfig)}
    if unknown:
        raise ConfigError(f"{path}: unknown config keys {sorted(unknown)}")
    return TrainConfig(**tree)
