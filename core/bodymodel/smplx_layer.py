"""The user's body-model files as ``smplx`` layers: the skinning both the renderer and the heads use.

SMPL, SMPL-H and MANO get the checked arrays directly (``data_struct``); SMPL-X can only read a
file, so it gets a checked copy cached as ``$XDG_CACHE_HOME/crocohuman/smpl/<sha1>/``. Layers use
full axis-angle, flat-mean hands (as AMASS). ``smplx`` and torch are imported only when a layer is
built.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from pathlib import Path

import numpy as np

from crocohuman.core.atomic_files import write_atomic_with
from crocohuman.core.bodymodel.files import MODEL_SPECS, ModelSpec, find_model_files
from crocohuman.core.bodymodel.reader import read_model_file
from crocohuman.core.conventions import GENDERS


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "crocohuman" / "smpl"


def _cached_npz(source: Path, name: str, arrays: dict[str, np.ndarray]) -> Path:
    """``arrays`` saved (once, atomically) as ``<cache>/<sha1 of source>/<name>``."""
    digest = hashlib.sha1()
    with open(source, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    target = _cache_root() / digest.hexdigest() / name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic_with(target, lambda handle: np.savez(handle, **arrays))
    return target


def load_smplx_layer(spec: ModelSpec, arrays: dict[str, np.ndarray], source: Path, gender: str, num_betas: int):
    """An smplx module built from checked arrays, with full axis-angle, flat-mean hands (as AMASS)."""
    import smplx
    import torch
    from smplx.utils import Struct

    kwargs = dict(
        model_type=spec.model_type, gender=gender, num_betas=num_betas, use_pca=False, flat_hand_mean=True, ext="npz"
    )
    if spec.model_type == "smplx":  # SMPL-X reads only files, whose name must say SMPLX
        model_path = _cached_npz(source, f"SMPLX_{gender.upper()}.npz", arrays)
    else:  # a folder: smplx then trusts model_type and reads nothing from it
        model_path, kwargs["data_struct"] = source.parent, Struct(**arrays)
    with contextlib.redirect_stdout(io.StringIO()):  # smplx prints a warning for 10-beta files
        model = smplx.create(str(model_path), **kwargs)
    # smplx appends landmark joints at vertex ids of the official meshes; we use only the
    # kinematic joints, so none are taken (the MANO tips are added in ``_forward``).
    model.vertex_joint_selector.extra_joints_idxs = torch.zeros(0, dtype=torch.long)
    return model.eval()


def check_model_choice(model_type: str, genders: tuple[str, ...] | None) -> None:
    """ValueError for an unknown model type or gender, listing the known ones."""
    if model_type not in MODEL_SPECS:
        raise ValueError(f"unknown SMPL-family model type {model_type!r}; expected one of {', '.join(MODEL_SPECS)}")
    if genders is not None and (unknown := set(genders) - set(GENDERS)):
        raise ValueError(f"unknown gender(s) {sorted(unknown)}; expected some of {GENDERS}")


class BodyModelLayers:
    """The files of one model type under ``model_path`` (``files.find_model_files``) and their smplx
    layers, one per gender, each built on first use; all genders must share one mesh."""

    def __init__(
        self, model_type: str, model_path: str | Path, *, genders: tuple[str, ...] | None = None, num_betas: int = 10
    ) -> None:
        check_model_choice(model_type, genders)
        self.spec = MODEL_SPECS[model_type]
        self.num_betas = num_betas
        self.files = find_model_files(model_type, model_path, genders)
        self.genders = tuple(self.files)
        self._arrays = {self.genders[0]: read_model_file(self.files[self.genders[0]], self.spec)}
        self._faces = self._arrays[self.genders[0]]["f"]
        self._models: dict[str, object] = {}

    def arrays(self, gender: str) -> dict[str, np.ndarray]:
        """The checked arrays of one gender's file (kept until its layer is built)."""
        if gender not in self._arrays:
            self._arrays[gender] = read_model_file(self.files[gender], self.spec)
        return self._arrays[gender]

    def model(self, gender: str):
        """The smplx module of one gender, loaded on first use."""
        if gender not in self._models:
            if gender not in self.files:
                raise ValueError(f"no {self.spec.label} model for gender {gender!r}; have {', '.join(self.genders)}")
            path = self.files[gender]
            arrays = self._arrays.pop(gender, None) or read_model_file(path, self.spec)
            if not np.array_equal(arrays["f"], self._faces):
                raise ValueError(f"{path}: its faces differ from those of {self.files[self.genders[0]]}")
            self._models[gender] = load_smplx_layer(self.spec, arrays, path, gender, self.num_betas)
        return self._models[gender]
