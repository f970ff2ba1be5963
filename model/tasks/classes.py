"""Image classification (``gesture`` on HaGRID, ``grasp`` on GUN-71): a pooled MLP over the classes."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from crocohuman.model.heads import PooledMLP
from crocohuman.model.tasks.losses import majority_class
from crocohuman.model.tasks.spec import TaskSpec


class Classify(TaskSpec):
    """Logits over ``finetune.num_classes``, cross-entropy, the majority class as baseline."""

    def make_head(self, finetune, backbone) -> torch.nn.Module:
        return PooledMLP(self.head_width(finetune, backbone), finetune.num_classes)

    def predict(self, output) -> dict[str, torch.Tensor]:
        return {"logits": output}

    def loss(self, output, batch: dict, device: torch.device) -> torch.Tensor:
        return F.cross_entropy(output, batch["label"].to(device))

    def baseline(self, samples: list[dict]) -> dict:
        return majority_class(samples)
