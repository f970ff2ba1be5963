"""Pretraining CroCo-Body/Hand (cross-view and cross-pose completion) or the MAE baseline.

The loop itself is ``training_loop.run``; this module says what pretraining trains: the network,
the pair mixture, the masks (human-centric or uniform) and the masked-MSE loss.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from crocohuman.model.criterion import masked_mse
from crocohuman.model.croco import CroCoNet, preset_config
from crocohuman.model.croco_weights import load_croco_checkpoint, load_croco_weights
from crocohuman.model.masking import human_centric_mask, person_patches, uniform_mask
from crocohuman.model.recon_grid import reconstruction_rows
from crocohuman.model.train_config import TrainConfig
from crocohuman.model.training_loop import run


def build_model(config: TrainConfig) -> CroCoNet:
    """A random network of the configured size, or one initialised from ``config.init``."""
    kind, _, path = config.init.partition(":")
    if kind == "croco":
        model = load_croco_checkpoint(path)
    elif kind == "weights":
        model = load_croco_weights(path)
    elif kind == "random":
        model = CroCoNet(preset_config(config.model, **config.model_overrides))
    else:
        raise ValueError(f"init must be 'random', 'croco:PATH' or 'weights:PATH', not {config.init!r}")
    if model.config.img_size != config.image_size:
        raise ValueError(f"the model takes {model.config.img_size}px images but image_size is {config.image_size}")
    return model


def draw_mask(config: TrainConfig, model: CroCoNet, batch: dict, generator: torch.Generator) -> torch.Tensor:
    """The hidden patches of img1 for this batch: human-centric (Sec. 3.1) or uniform."""
    size = batch["img1"].shape[0]
    if config.masking == "uniform":
        return uniform_mask(size, model.config.num_patches, config.mask_ratio, generator)
    person = person_patches(batch["mask1"], model.config.patch_size)
    return human_centric_mask(person, config.mask_ratio, batch["has_mask1"], generator, pad_to=config.pad_to)


class PretrainTask:
    """Masked completion of img1 from its visible patches and img2 (CroCo) or alone (MAE)."""

    def __init__(self, config: TrainConfig):
        self.config = config
        self.name = config.objective
        self.find_unused_parameters = config.objective == "mae"  # MAE leaves cross-attention unused

    def build_model(self) -> CroCoNet:
        return build_model(self.config)

    def configure_optimizer(self, model: CroCoNet) -> torch.optim.Optimizer:
        optim = self.config.optim
        return model.configure_optimizers(optim.weight_decay, optim.base_lr, optim.betas)

    def dataset(self):
        from crocohuman.model.pairs.mixture import PairMixture
        from crocohuman.model.pairs.transforms import PairTransform

        return PairMixture.from_configs(
            self.config.data,
            transform=PairTransform(size=self.config.image_size),
            objective=self.config.objective,
            seed=self.config.seed,
        )

    def loss(self, model, core: CroCoNet, batch: dict, generator: torch.Generator, device: torch.device):
        mask = draw_mask(self.config, core, batch, generator).to(device)
        img1 = batch["img1"].to(device, non_blocking=True)
        img2 = batch["img2"].to(device, non_blocking=True) if self.config.objective == "croco" else None
        pred, mask, target = model(img1, img2, mask=mask)
        loss = masked_mse(pred.float(), target.float(), mask, norm_pix=self.config.norm_pix)
        return loss, {"img1": img1[:4], "img2": batch["img2"][:4], "pred": pred[:4], "mask": mask[:4]}

    def pictures(self, core: CroCoNet, outputs: dict) -> list[np.ndarray]:
        return reconstruction_rows(
            core, outputs["img1"], outputs["img2"], outputs["pred"], outputs["mask"], self.config.norm_pix
        )

    def checkpoint_meta(self, core: CroCoNet) -> dict:
        return {"croco_config": dataclasses.asdict(core.config)}

    def flops_per_sample(self, core: CroCoNet) -> float:
        return core.estimate_flops_per_pair()


def pretrain(config: TrainConfig) -> dict:
    """Pretrain until ``optim.max_steps``, resuming from the run folder's last checkpoint."""
    return run(PretrainTask(config), config)
