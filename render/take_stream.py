"""Takes rendered in memory on demand, by index, for consumers that never write shards: the
``render:SETTINGS`` pair source of ``croco-train pretrain`` renders inside its DataLoader workers.

Take ``i`` is the take ``croco-render`` with the same settings writes as take ``i`` of its shards
(same random stream, ``take_rng(seed, i)``), before any image encoding: with ``rgb_format: png``
the pixels are equal. Settings come from a YAML file of ``RenderConfig`` keys, a ``job.json``, or
a dataset folder holding one (to render live what that folder holds on disk); ``takes`` is the
number of distinct takes (bodies x motions x cameras) the stream cycles through.
"""

from __future__ import annotations

import json
import logging
import typing
from pathlib import Path

from crocohuman.core.take import Take
from crocohuman.core.typed_config import read_yaml
from crocohuman.render.camera_rig import RigConfig
from crocohuman.render.config import JOB_PLACE_KEYS, RenderConfig
from crocohuman.render.job_folder import JOB, read_job
from crocohuman.render.pipeline import drain_skipped, renderer_for, take_rng

log = logging.getLogger(__name__)


def read_settings(path: str | Path) -> RenderConfig:
    """The render settings at ``path``; ValueError naming the file and the problem."""
    path = Path(path)
    if path.is_dir():
        job = read_job(path)
        if job is None:
            raise ValueError(f"{path}: no {JOB} (not a croco-render output folder); give a settings YAML file")
        data = job["config"]
    elif path.is_file():
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else read_yaml(text, str(path))
        if isinstance(data, dict) and "config" in data and "code_version" in data:
            data = data["config"]  # a job.json
    else:
        raise FileNotFoundError(f"{path}: no such render settings file or dataset folder")
    if not isinstance(data, dict):
        raise ValueError(f"{path}: render settings must be a mapping of RenderConfig keys, got {type(data).__name__}")
    known = set(typing.get_type_hints(RenderConfig)) - set(JOB_PLACE_KEYS)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{path}: unknown render settings {unknown}; known: {', '.join(sorted(known))}")
    settings = dict(data)
    try:
        rig = RigConfig(**settings.pop("rig", {}))
        return RenderConfig(output=path, rig=rig, **settings)  # output: never written to
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: {error}") from error


class TakeStream:
    """Take ``i`` of a settings file, rendered in this process when first asked for; the last one
    is kept, so that several pairs drawn from one take render it once."""

    def __init__(self, settings: str | Path):
        self.settings_path = Path(settings)
        self.config = read_settings(settings)
        self._last: tuple[int, Take] | None = None

    def __len__(self) -> int:
        return self.config.takes

    @property
    def images_per_take(self) -> int:
        return self.config.frames * self.config.rig.views

    def take(self, index: int) -> Take:
        if not 0 <= index < len(self):
            raise IndexError(f"take {index} of {self.settings_path}, which has {len(self)}")
        if self._last is None or self._last[0] != index:
            renderer = renderer_for(self.config)  # the body model and GL context, once per process
            take = renderer.render(take_rng(self.config.seed, index))
            for path in drain_skipped(renderer):
                log.warning("take %d of %s: skipped the unreadable input %s", index, self.settings_path, path)
            self._last = (index, take)
        return self._last[1]

    def __getstate__(self) -> dict:
        """Pickled (to spawned workers) without the cached take."""
        return {**self.__dict__, "_last": None}
