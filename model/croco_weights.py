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
allowed class; anything else pickled (a whole nn.Module, a plain pickle of objects) is refused with
an error that names the classes it would import (found without importing them) and how to re-save.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import os
import pickle
import warnings
import zipfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor

from .croco import PRESETS, CroCoConfig, CroCoNet

ENCODER_PREFIXES = ("patch_embed.", "enc_blocks.", "enc_norm.", "enc_pos_embed")


class _Stub:
    """Stands in for every class a recorded pickle names: built, filled, never run."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __setstate__(self, state) -> None:
        pass


class _GlobalRecorder(pickle.Unpickler):
    """Walks a pickle without importing anything, recording the globals it would import."""

    def __init__(self, handle) -> None:
        super().__init__(handle, encoding="latin1")
        self.names: list[str] = []

    def find_class(self, module: str, name: str) -> type:
        self.names.append(f"{module}.{name}")
        return _Stub

    def persistent_load(self, pid) -> None:  # torch's tensor storages
        return None


LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # the first pickle of torch's pre-1.6 format


def pickled_globals(path: Path) -> tuple[str, list[str]]:
    """What ``path`` is ("torch zip", "torch legacy", "pickle" or "not a pickle") and the globals loading
    it would import. Nothing is ever imported; an unreadable part ends the list."""
    if zipfile.is_zipfile(path):
        try:
            return "torch zip", sorted(torch.serialization.get_unsafe_globals_in_checkpoint(path))
        except Exception:  # noqa: BLE001 - a damaged archive: torch.load's own error says so
            return "torch zip", []
    names: list[str] = []
    kind = "not a pickle"
    with open(path, "rb") as handle:
        while True:  # the legacy format is several pickles in a row, a plain pickle one
            recorder = _GlobalRecorder(handle)
            try:
                value = recorder.load()
            except Exception:  # noqa: BLE001 - the end of the pickles, or not a pickle at all
                return kind, sorted(set(names + recorder.names))
            if kind == "not a pickle":
                kind = "torch legacy" if value == LEGACY_MAGIC else "pickle"
            names += recorder.names


def _torch_reason(error: Exception) -> str:
    """The informative sentence of torch.load's error (its weights-only text is mostly advice)."""
    text = str(error)
    if "WeightsUnpickler error:" not in text:
        return f"{type(error).__name__}: {(text.strip().splitlines() or [''])[0]}"
    return text.split("WeightsUnpickler error:", 1)[1].strip().split("\n\n")[0].split(" Please use")[0].strip()


def _refusal(path: Path, error: Exception) -> str:
    """Why torch.load(weights_only=True) refused a file, and how to fix it."""
    kind, names = pickled_globals(path)
    unsafe = [name for name in names if name != "argparse.Namespace"]
    resave = "torch.save({'model': model.state_dict(), 'croco_kwargs': {...}}, PATH)"
    if unsafe:
        return (
            f"{path}: a pickled checkpoint that needs code execution to load; refusing to unpickle "
            f"{', '.join(unsafe[:8])}{' ...' if len(unsafe) > 8 else ''} (torch.load weights_only refused: "
            f"{_torch_reason(error)}). Only tensors, plain containers and argparse.Namespace are allowed; if you "
            f"trust the file, load it with torch.load(weights_only=False) and re-save its weights with {resave}"
        )
    what = "a plain Python pickle, not a torch.save file" if kind == "pickle" else f"not a PyTorch checkpoint ({kind})"
    return f"{path}: {what} (torch.load: {_torch_reason(error)}); re-save its weights with {resave}"


def _read(path: Path, map_location, mmap: bool = False) -> object:
    """``torch.load(weights_only=True)`` with argparse.Namespace allowed; ``mmap`` maps zip-format files
    instead of reading them (for reading a config only)."""
    if not path.is_file():
        raise FileNotFoundError(f"no CroCo checkpoint at {path}")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(
                path, map_location=map_location, weights_only=True, mmap=mmap and zipfile.is_zipfile(path)
            )
    except Exception as err:  # torch raises several types for a file that is not a checkpoint
        raise ValueError(_refusal(path, err)) from err


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
            raise ValueError(
                f"{path}: args.model {src!r}: {kw.arg} is not a literal value; refusing to evaluate it"
            ) from err
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


def _checkpoint_dict(path: Path, map_location, mmap: bool = False) -> dict:
    """The file's dict, refused with the reason unless it holds a 'model' state dict."""
    ckpt = _read(path, map_location, mmap)
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("model"), dict):
        if isinstance(ckpt, dict) and ckpt and all(isinstance(v, Tensor) for v in ckpt.values()):
            raise ValueError(
                f"{path} is a bare state dict (first keys {sorted(ckpt)[:5]}); "
                "a CroCo checkpoint is a dict with 'model'"
            )
        raise ValueError(f"{path} is not a CroCo checkpoint: expected a dict with a 'model' state dict")
    return ckpt


def load_croco_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> CroCoNet:
    """A CroCoNet from an official CroCo v1/v2 checkpoint or one of ours, keys matched strictly."""
    path = Path(path)
    ckpt = _checkpoint_dict(path, map_location)
    return _build(config_from_checkpoint(ckpt, path), ckpt["model"], path)


def weights_config(path: Path) -> tuple[CroCoConfig, dict]:
    """The config and metadata of a `save_croco_weights` file, read without its tensors."""
    if not path.is_file():
        raise FileNotFoundError(f"no CroCo weights at {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
    except Exception as err:
        raise ValueError(f"{path} is not a safetensors file ({err})") from err
    if "croco_config" not in metadata:
        raise ValueError(f"{path} has no 'croco_config' metadata; it was not written by save_croco_weights")
    return _config_from_kwargs(json.loads(metadata["croco_config"]), {}, path), metadata


def init_config(init: str) -> CroCoConfig:
    """The network a ``croco:PATH`` or ``weights:PATH`` initialisation holds, read without building it
    (a zip checkpoint is memory-mapped, a safetensors file gives its metadata only)."""
    kind, _, path = init.partition(":")
    if kind == "weights":
        return weights_config(Path(path))[0]
    ckpt = _checkpoint_dict(Path(path), "cpu", mmap=True)
    return config_from_checkpoint(ckpt, Path(path))


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
    config, metadata = weights_config(path)
    try:
        with safe_open(str(path), framework="pt", device=str(map_location)) as f:
            sd = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has keys() but is not iterable
    except Exception as err:
        raise ValueError(f"{path} is not a safetensors file ({err})") from err
    if metadata.get("contents") != "encoder":
        return _build(config, sd, path)
    warnings.warn(
        f"{path} holds the encoder only: the decoder and prediction head are freshly initialised", stacklevel=2
    )
    with torch.device("meta"):
        keys = set(encoder_state_dict(CroCoNet(config)))
    return _build(config, sd, path, keys)
