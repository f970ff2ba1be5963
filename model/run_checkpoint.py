"""Training checkpoints: written atomically, read back to resume exactly where a run stopped.

A checkpoint holds the model, the optimizer, the training config and the step. Nothing else is
needed to resume bit-for-bit: masks and data are drawn from generators seeded by (seed, step)
and (seed, sample index), so the step fixes every random choice still to come.
"""

from __future__ import annotations

from pathlib import Path

import torch

from crocohuman.core.atomic_files import write_atomic_with

LAST = "checkpoint-last.pt"


def save_training_checkpoint(
    path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, config: dict, step: int, meta: dict
) -> None:
    """``torch.save`` to a temporary file, fsync, then rename: a kill never leaves half a file.

    ``meta`` holds what rebuilds the model (e.g. ``croco_config``, which makes a pretraining
    checkpoint loadable by ``load_croco_checkpoint``).
    """
    path = Path(path)
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "train_config": config,
        "step": step,
        **meta,
    }
    write_atomic_with(path, lambda handle: torch.save(state, handle))


def load_training_checkpoint(path: Path, mmap: bool = False) -> dict:
    """Our own checkpoint (plain tensors, dicts, numbers and strings only); ``mmap`` maps the tensors
    instead of reading them, for a look at the step and config."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as error:  # any unpickling failure means the same to the user
        raise ValueError(f"{path}: not a readable croco-human training checkpoint ({error})") from error
