"""``TaskSpec``: the trainable side of a fine-tuning task (head, loss, predictions, baseline).

One subclass per head family; one instance per task, made by ``task_catalog.task_spec`` from the
task's ``TaskInfo``, so the training loop and ``croco-eval`` never ask which task they run.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch

from crocohuman.model.croco import CroCoConfig
from crocohuman.model.downstream import CroCoDownstream
from crocohuman.model.task_catalog import TaskInfo
from crocohuman.model.tasks.losses import prediction_loss
from crocohuman.model.train_config import FinetuneConfig


class TaskSpec(ABC):
    """A task's head, its predictions in the targets' units (``finetune_data``), its loss and its
    trivial baseline. Subclasses give ``make_head`` and ``predict``; the loss defaults to
    ``prediction_loss`` on the predictions, the baseline to none."""

    def __init__(self, info: TaskInfo):
        self.info = info

    @property
    def name(self) -> str:
        return self.info.name

    def head_width(self, finetune: FinetuneConfig, backbone: CroCoConfig) -> int:
        """Width an image-level head takes: the tokens', doubled when the top crop's tokens are appended."""
        return CroCoDownstream.token_dim(backbone, finetune.mode) * (2 if finetune.top_crop else 1)

    @abstractmethod
    def make_head(self, finetune: FinetuneConfig, backbone: CroCoConfig) -> torch.nn.Module:
        """The head for a backbone of shape ``backbone`` in ``finetune.mode``."""

    @abstractmethod
    def predict(self, output) -> dict[str, torch.Tensor]:
        """The head's raw output as predictions in the targets' units."""

    def loss(self, output, batch: dict, device: torch.device) -> torch.Tensor:
        """Supervision on the task's targets that the batch has, summed."""
        return prediction_loss(self.predict(output), batch, device, self.info.targets)

    def baseline(self, samples: list[dict]) -> dict:
        """The trivial predictor of the report, from training samples; none by default."""
        return {}
