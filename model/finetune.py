"""Fine-tuning a pretrained CroCo on a downstream task (paper Sec. 3.4), with the same loop.

The tasks (``hmr``, ``hmr-free``, ``hand-mesh``, ``hand-mesh-free``, ``hand-joints``, ``densepose``,
``gesture``, ``grasp``) are registered in ``task_catalog``; each one's head, loss, predictions and baseline is
its ``TaskSpec`` in ``model/tasks/``. Joints are root-relative, camera frame, metres; what each
benchmark provides is in ``finetune_data``. Monocular uses the encoder; binocular (paper Table 6)
encoder + decoder.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import torch

from crocohuman.model.croco import CroCoConfig, preset_config
from crocohuman.model.downstream import CroCoDownstream
from crocohuman.model.finetune_data import FinetuneDataset
from crocohuman.model.pairs.transforms import denormalize
from crocohuman.model.task_catalog import task_reader_options, task_spec
from crocohuman.model.train_config import FinetuneConfig, TrainConfig
from crocohuman.model.training_loop import run


def run_model(model: CroCoDownstream, spec: FinetuneConfig, batch: dict, device: torch.device):
    """The model on a batch: the crop, its twin in binocular mode, the top crop when there is one."""
    img = batch["img"].to(device, non_blocking=True)
    top = batch["img_top"].to(device, non_blocking=True) if "img_top" in batch else None
    return model(img, img if spec.mode == "binocular" else None, top=top)


class FinetuneTask:
    """A task head on a benchmark's training split, trained by ``training_loop.run``."""

    find_unused_parameters = False

    def __init__(self, config: TrainConfig):
        if config.finetune is None:
            raise ValueError("a fine-tuning config needs a 'finetune' section (task, benchmark, root)")
        self.config, self.spec = config, config.finetune
        self.task = task_spec(self.spec.task)
        self.name = self.spec.task
        self._benchmark = None

    @property
    def benchmark(self):
        """The training split; with ``shots``, only k samples per class (paper: HaGRID 16/32/64-shot)."""
        if self._benchmark is None:
            from crocohuman.datasets import open_benchmark
            from crocohuman.datasets.few_shot import few_shot_indices

            options = task_reader_options(self.spec.task, self.spec.benchmark, self.spec.options)
            benchmark = open_benchmark(self.spec.benchmark, self.spec.root, **options)
            if self.spec.shots:
                benchmark = torch.utils.data.Subset(
                    benchmark, few_shot_indices(benchmark, self.spec.shots, self.spec.shot_seed)
                )
            self._benchmark = benchmark
        return self._benchmark

    def build_model(self, backbone_config: CroCoConfig | None = None) -> CroCoDownstream:
        """From ``config.init``; with ``backbone_config``, a fresh model of that shape (to load weights into)."""
        spec = self.spec
        head = functools.partial(self.task.make_head, spec)
        if backbone_config is not None:
            return CroCoDownstream.from_init("random", head, spec.mode, backbone_config)
        config = (
            preset_config(self.config.model, **self.config.model_overrides) if self.config.init == "random" else None
        )
        model = CroCoDownstream.from_init(self.config.init, head, spec.mode, config)
        if model.backbone.config.img_size != self.config.image_size:
            raise ValueError(
                f"the backbone takes {model.backbone.config.img_size}px images, image_size is {self.config.image_size}"
            )
        return model

    def configure_optimizer(self, model: CroCoDownstream) -> torch.optim.Optimizer:
        optim = self.config.optim
        return model.configure_optimizers(
            optim.base_lr, optim.weight_decay, self.spec.backbone_lr_scale, betas=optim.betas
        )

    def dataset(self) -> FinetuneDataset:
        return FinetuneDataset(
            self.benchmark,
            self.config.image_size,
            self.config.seed,
            train=True,
            mirror=self.spec.mirror,
            top_crop=self.spec.top_crop,
        )

    def loss(self, model, core, batch: dict, generator: torch.Generator, device: torch.device):
        output = run_model(model, self.spec, batch, device)
        return self.task.loss(output, batch, device), {"img": batch["img"][:4]}

    def pictures(self, core, outputs: dict) -> list[np.ndarray]:
        return [np.concatenate(list(denormalize(outputs["img"])), 1)]

    def checkpoint_meta(self, core: CroCoDownstream) -> dict:
        return {"croco_config": dataclasses.asdict(core.backbone.config), "baseline": self.baseline}

    @functools.cached_property
    def baseline(self) -> dict:
        """The trivial predictor the report compares against, from the training split (the task's
        ``baseline``: the mean root-relative pose and mesh, the most frequent class, or none)."""
        dataset = FinetuneDataset(self.benchmark, self.config.image_size, self.config.seed, train=True)
        samples = [dataset[i] for i in range(min(256, 4 * len(self.benchmark)))]
        return self.task.baseline(samples)

    def flops_per_sample(self, core) -> None:
        return None


def finetune(config: TrainConfig) -> dict:
    """Fine-tune until ``optim.max_steps``, resuming from the run folder's last checkpoint."""
    return run(FinetuneTask(config), config)
