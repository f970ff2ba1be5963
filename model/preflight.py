"""What a training run checks before it builds anything: that its inputs exist, that an
initialisation file holds the network the config describes, and whether the run folder already
holds the finished run (then re-running the command is a quick no-op).

Range and type checks of single values live with the config (``train_config``); these need the
file system.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import torch

from crocohuman.model.run_log import LOG, last_logged
from crocohuman.model.train_config import ConfigError, TrainConfig

log = logging.getLogger("crocohuman.train")

# CroCoConfig fields that are choices of a run, not of the weights (the trainer draws its own masks)
NOT_ARCHITECTURE = ("mask_ratio", "attn_impl")
# settings that do not change what a run computes: a finished run re-run with other values is still finished
RUN_PLACE_KEYS = ("out_dir", "num_workers")


def check_paths(config: TrainConfig) -> None:
    """Every folder and file the run reads exists, named by its key."""

    def exists(value: str, key: str, what: str) -> None:
        if not Path(value).expanduser().exists():
            raise ConfigError(f"{key} must be an existing {what}, got {value!r} (no such file or folder)")

    if config.finetune is None:
        for i, source in enumerate(config.data):
            exists(source.root, f"data[{i}].root (--data {source.kind}:ROOT)", "folder")
    else:
        exists(config.finetune.root, "finetune.root (--data BENCHMARK:ROOT)", "folder or file")
        if config.finetune.model_path:
            exists(config.finetune.model_path, "finetune.model_path (--model-path)", "MANO folder or file")
    kind, _, path = config.init.partition(":")
    if kind != "random" and not Path(path).is_file():
        raise ConfigError(f"init must name an existing file, got {config.init!r} (no file {path})")
    if config.device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device must be auto or cpu on this machine (no CUDA device), got {config.device!r}")


def check_init_architecture(config: TrainConfig) -> None:
    """Refuse a ``croco:``/``weights:`` file whose network differs from ``model`` + ``model_overrides``,
    so that the run's config.json always describes the network that was trained."""
    if config.init == "random":
        return
    from crocohuman.model.croco_weights import init_config

    path = config.init.partition(":")[2]
    held, described = dataclasses.asdict(init_config(config.init)), dataclasses.asdict(config.model_config())
    differ = [
        f"{key} {held[key]!r} vs {described[key]!r}"
        for key in held
        if key not in NOT_ARCHITECTURE and held[key] != described[key]
    ]
    if differ:
        raise ConfigError(
            f"init {path} holds another network than the config's model {config.model!r} with "
            f"model_overrides {config.model_overrides}: {', '.join(differ)} (file vs config); set "
            "model/model_overrides to the file's network, or use a preset made for it"
        )


def check_inputs(config: TrainConfig) -> None:
    """All checks that need the file system, before any model or data is built."""
    check_paths(config)
    check_init_architecture(config)


def changed_settings(saved: dict, current: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two config trees."""
    keys = []
    for key in sorted(set(saved) | set(current)):
        old, new = saved.get(key), current.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            keys += changed_settings(old, new, f"{prefix}{key}.")
        elif old != new:
            keys.append(prefix + key)
    return keys


def normalised(saved: dict) -> dict:
    """A stored config as this version writes it (defaults of newer keys filled in); as stored if it
    no longer builds."""
    try:
        return TrainConfig(**saved).to_dict()
    except (TypeError, ValueError):
        return saved


def finished_run(checkpoint: Path, config: TrainConfig) -> dict | None:
    """The last logged values if ``checkpoint`` holds this run at ``optim.max_steps``, None if there is
    still work to do; a finished run with other settings is an error naming the changed keys."""
    if not checkpoint.exists():
        return None
    from crocohuman.model.run_checkpoint import load_training_checkpoint

    state = load_training_checkpoint(checkpoint, mmap=True)
    step = int(state.get("step", 0))
    if step < config.optim.max_steps:
        return None
    changed = [
        key
        for key in changed_settings(normalised(state.get("train_config") or {}), config.to_dict())
        if key not in RUN_PLACE_KEYS
    ]
    if changed:
        raise ConfigError(
            f"{checkpoint}: cannot resume, the run is complete at step {step} with other settings "
            f"({', '.join(changed)} changed); re-run it with its settings, or choose another --out"
        )
    return {**last_logged(checkpoint.parent / LOG), "step": step, "complete": True}
