"""Read and write CroCo weights: official checkpoints, ours, and safetensors exports.

Layouts understood by `load_croco_checkpoint` (all hold the state dict under 'model'); the config
is taken from the first that applies:
1. ours: 'croco_config', our CroCoConfig as a dict;
2. released CroCo v2: 'croco_kwargs', the official constructor kwargs;
3. official pretraining (checkpoint-*.pth): 'args', an argparse.Namespace whose .model is the
   constructor string "CroCoNet(enc_embed_dim=1024, ..., pos_embed='RoPE100')", parsed with `ast`
   (keyword arguments with literal values only, never evaluated);
4. released CroCo v1 (CroCo.pth): nothing, i.e. the official defaults (the croco-v1 preset).
Official kwargs apply on top of the official defaults; keys that are not CroCoConfig fields are
ignored with a warning, and a non-square `img_size` (a downstream crop) is ignored too.

Files are opened with `torch.load(weights_only=True)`, with argparse.Namespace as the only extra
allowed class; anything else pickled is refused with an error that names it.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import os
import warnings
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor

from .croco import PRESETS, CroCoConfig, CroCoNet

ENCODER_PREFIXES = ("patch_embed.", "enc_blocks.", "enc_norm.", "enc_pos_embed")


def _read(path: Path, map_location) -> object:
    if not path.is_file():
        raise FileNotFoundError(f"no CroCo checkpoint at {path}")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several types for a file that is not a checkpoint
        try:
            unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        except Exception:
            unsafe = []
        unsafe = [g for g in unsafe if g != "argparse.Namespace"]
        if unsafe:
            raise ValueError(
                f"{path}: refusing to unpickle {', '.join(unsafe)} (only tensors, plain containers and "
                "argparse.Namespace are allowed). If you trust the file, load it yourself and re-save "
                "{'model': ckpt['model'], 'croco_kwargs': {...}}."
            ) from err
        raise ValueError(f"{path} is not a PyTorch checkpoint (torch.load: {type(err).__name__})") from err


def _constructor_kwargs(src: str, path: Path) -> dict:
    """The keyword arguments of "Name(k=literal, ...)", read with ast; anything else is refused."""
    try:
        call = ast.parse(src.strip(), mode="eval").body
    except SyntaxError as err:
        raise ValueError(f"{path}: args.model {src!r} is not a constructor call") from err
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
        raise ValueError(f"{path}: args.model {src!r} is not a constructor call")
    if call.func.id != "CroCoNet":  # e.g. a DUSt3R model: the key check will say what differs
        warnings.warn(f"{path}: args.model builds {call.func.id}, not CroCoNet", stacklevel=3)
    if call.args or any(kw.arg is None for kw in call.keywords):
        raise ValueError(f"{path}: args.model {src!r} must use keyword arguments only")
    kwargs = {}
    for kw in call.keywords:
        try:
            kwargs[kw.arg] = ast.literal_eval(kw.value)
        except ValueError as err:
            raise ValueError(f"{path}: args.model {src!r}: {kw.arg} is not a literal value; refusing to evaluate it") from err
    return kwargs


def _config_from_kwargs(kwargs: dict, base: dict, path: Path) -> CroCoConfig:
    fields = {f.name for f in dataclasses.fields(CroCoConfig)}
    kwargs = dict(kwargs)
    size = kwargs.get("img_size")
    if isinstance(size, (tuple, list)):
        if len(size) == 2 and size[0] == size[1]:
            kwargs["img_size"] = size[0]
        else:
            del kwargs["img_size"]  # a downstream crop, not the pretraining size
            warnings.warn(f"{path}: ignoring non-square img_size={tuple(size)}", stacklevel=3)
    unknown = sorted(set(kwargs) - fields)
    if unknown:
        warnings.warn(f"{path}: ignoring config keys that CroCoConfig does not have: {unknown}", stacklevel=3)
    try:
        return CroCoConfig(**{**base, **{k: v for k, v in kwargs.items() if k in fields}})
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: invalid CroCo config {kwargs}: {err}") from err


def config_from_checkpoint(ckpt: dict, path: Path | str = "<checkpoint>") -> CroCoConfig:
    """The CroCoConfig a checkpoint dict was made with (see the module docstring for the order)."""
    path = Path(path)
    if isinstance(ckpt.get("croco_config"), dict):
        return _config_from_kwargs(ckpt["croco_config"], {}, path)
    official = PRESETS["croco-v1"]
    if isinstance(ckpt.get("croco_kwargs"), dict):
        return _config_from_kwargs(ckpt["croco_kwargs"], official, path)
    model_src = getattr(ckpt.get("args"), "model", None)
    if isinstance(model_src, str):
        return _config_from_kwargs(_constructor_kwargs(model_src, path), official, path)
    return _config_from_kwargs({}, official, path)


def _check_keys(model: CroCoNet, sd: dict[str, Tensor], path: Path, keys: set[str] | None = None) -> None:
    """Raise a ValueError naming the file and a few offending keys unless sd fits the model exactly."""
    expected = {k: v.shape for k, v in model.state_dict().items() if keys is None or k in keys}
    missing = sorted(set(expected) - set(sd))
    unexpected = sorted(set(sd) - set(expected))
    wrong = [f"{k} {tuple(sd[k].shape)} != {tuple(s)}" for k, s in expected.items() if k in sd and sd[k].shape != s]
    def few(xs: list[str]) -> str:
        return f"{len(xs)} {xs[:5]}{' ...' if len(xs) > 5 else ''}"

    if missing or unexpected or wrong:
        raise ValueError(
            f"{path} does not hold CroCoNet weights for {model.config}: missing {few(missing)}, "
            f"unexpected {few(unexpected)}, wrong shapes {few(wrong)}"
        )


def _build(config: CroCoConfig, sd: dict[str, Tensor], path: Path, keys: set[str] | None = None) -> CroCoNet:
    """A CroCoNet holding sd (float32), built on the meta device so no time goes into a random init."""
    with torch.device("meta"):
        model = CroCoNet(config)
    _check_keys(model, sd, path, keys)
    if keys is not None:  # a partial file: the rest gets a real initialisation
        model = CroCoNet(config)
    sd = {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}
    model.load_state_dict(sd, strict=keys is None, assign=keys is None)
    return model


def load_croco_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> CroCoNet:
    """A CroCoNet from an official CroCo v1/v2 checkpoint or one of ours, keys matched strictly."""
    path = Path(path)
    ckpt = _read(path, map_location)
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("model"), dict):
        if isinstance(ckpt, dict) and ckpt and all(isinstance(v, Tensor) for v in ckpt.values()):
            raise ValueError(f"{path} is a bare state dict (first keys {sorted(ckpt)[:5]}); a CroCo checkpoint is a dict with 'model'")
        raise ValueError(f"{path} is not a CroCo checkpoint: expected a dict with a 'model' state dict")
    return _build(config_from_checkpoint(ckpt, path), ckpt["model"], path)


def encoder_state_dict(model: CroCoNet) -> dict[str, Tensor]:
    """The encoder's entries (patch embedding, blocks, final norm, cosine table), for fine-tuning."""
    return {k: v for k, v in model.state_dict().items() if k.startswith(ENCODER_PREFIXES)}


def save_croco_weights(model: CroCoNet, path: str | os.PathLike, encoder_only: bool = False) -> None:
    """Write the weights (all, or the encoder's) as safetensors, the config as JSON metadata."""
    sd = encoder_state_dict(model) if encoder_only else model.state_dict()
    metadata = {
        "format": "pt",
        "croco_config": json.dumps(dataclasses.asdict(model.config)),
        "contents": "encoder" if encoder_only else "full",
    }
    save_file({k: v.detach().contiguous().cpu() for k, v in sd.items()}, str(path), metadata=metadata)


def load_croco_weights(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> CroCoNet:
    """Read back `save_croco_weights`. An encoder-only file gives a CroCoNet whose decoder and
    head are freshly initialised (with a warning): use its encoder."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no CroCo weights at {path}")
    try:
        with safe_open(str(path), framework="pt", device=str(map_location)) as f:
            metadata = f.metadata() or {}
            sd = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as err:
        raise ValueError(f"{path} is not a safetensors file ({err})") from err
    if "croco_config" not in metadata:
        raise ValueError(f"{path} has no 'croco_config' metadata; it was not written by save_croco_weights")
    config = _config_from_kwargs(json.loads(metadata["croco_config"]), {}, path)
    if metadata.get("contents") != "encoder":
        return _build(config, sd, path)
    warnings.warn(f"{path} holds the encoder only: the decoder and prediction head are freshly initialised", stacklevel=2)
    with torch.device("meta"):
        keys = set(encoder_state_dict(CroCoNet(config)))
    return _build(config, sd, path, keys)
