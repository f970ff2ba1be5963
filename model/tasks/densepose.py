"""``densepose``: a DPT head on every block's tokens, 25-way part logits and 24 x (U, V) per pixel."""

from __future__ import annotations

import torch

from crocohuman.model.dpt_head import DENSEPOSE_OUTPUTS, DPTHead, densepose_loss, densepose_outputs
from crocohuman.model.tasks.spec import TaskSpec


class DensePose(TaskSpec):
    """Dense correspondences; no trivial baseline."""

    def make_head(self, finetune, backbone) -> torch.nn.Module:
        return DPTHead.for_backbone(backbone, finetune.mode, DENSEPOSE_OUTPUTS)

    def predict(self, output) -> dict[str, torch.Tensor]:
        """Per pixel: the arg-max part and the (U, V) regressed for that part."""
        logits, uv = densepose_outputs(output)
        parts = logits.argmax(1)  # (B, H, W)
        index = (parts - 1).clamp(min=0)[:, None, None].expand(-1, 1, 2, -1, -1)  # (B, 1, 2, H, W)
        return {"parts": parts, "uv": uv.gather(1, index)[:, 0].clamp(0, 1)}

    def loss(self, output, batch: dict, device: torch.device) -> torch.Tensor:
        """Part cross-entropy and UV regression on the labelled pixels."""
        logits, uv = densepose_outputs(output)
        parts = batch["parts"].to(device)
        return densepose_loss(logits, uv, parts.clamp(min=0), batch["uv"].to(device), parts >= 0)
