"""Fine-tuning a pretrained CroCo on a downstream task (paper Sec. 3.4), with the same loop.

Tasks and their heads:
    hmr        iterative regressor (HMR-style, 6D rotations) of the SMPL-tree pose and a body
               scale; joints by forward kinematics of the SMPL kinematic tree
    hmr-free   model-free: a pooled MLP regresses the 24 joints directly
    hand-mesh  iterative regressor of MANO parameters posed by the user's MANO file into 21 joints
               (FreiHAND order) and the 778-vertex mesh (``mano_head``); trained on FreiHAND
    hand-mesh-free  model-free (METRO-style): 195 coarse vertices upsampled to MANO's 778, joints
               regressed from the mesh (``mano_head``); trained on FreiHAND
    densepose  DPT head: 25-way part logits + 24 x (U, V)
    gesture, grasp   pooled MLP classifier
Joints are root-relative, camera frame, metres; what each benchmark provides is in
``finetune_data``. Monocular uses the encoder; binocular (paper Table 6) encoder + decoder.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import torch
import torch.nn.functional as F

from crocohuman.core.conventions import ANNY_PHENOTYPES, SMPL_TPOSE_JOINTS
from crocohuman.core.rotations import axis_angle_to_matrix
from crocohuman.model.croco import CroCoConfig, preset_config
from crocohuman.model.downstream import CroCoDownstream
from crocohuman.model.finetune_data import FinetuneDataset
from crocohuman.model.heads import (
    DENSEPOSE_OUTPUTS,
    DPTHead,
    IterativeRegressor,
    PooledMLP,
    densepose_loss,
    densepose_outputs,
)
from crocohuman.model.mano_head import HandMeshHead, model_free_hand_head
from crocohuman.model.pairs.transforms import denormalize
from crocohuman.model.rotation6d import rot6d_to_matrix, smpl_kinematics
from crocohuman.model.train_config import FinetuneConfig, TrainConfig
from crocohuman.model.training_loop import run

TASKS = ("hmr", "hmr-free", "hand-mesh", "hand-mesh-free", "densepose", "gesture", "grasp")
HAND_MESH_TASKS = ("hand-mesh", "hand-mesh-free")  # scored by croco-eval freihand
POINT_TASKS = ("hmr", "hmr-free", *HAND_MESH_TASKS)  # 3D joints (and vertices): mean-pose baseline
# betas: SMPL shape, phenotypes: anny's (our renders); each supervised when the data has it
# cam: HMR's weak-perspective camera (s, tx, ty), crop coordinates in [-1, 1]
HMR_SPEC = {"global_orient": 6, "body_pose": 21 * 6, "betas": 10, "phenotypes": len(ANNY_PHENOTYPES), "log_scale": 1,
            "cam": 3}
SHAPE_WEIGHTS = {"betas": 0.01, "phenotypes": 1.0}  # SMPL betas are ~N(0, 1), phenotypes in [0, 1]
NUM_JOINTS = 24
TEMPLATE = torch.tensor(SMPL_TPOSE_JOINTS, dtype=torch.float32)


def make_head(spec: FinetuneConfig, config: CroCoConfig) -> torch.nn.Module:
    """The head of ``spec.task`` for a backbone of shape ``config``."""
    task, width = spec.task, CroCoDownstream.token_dim(config, spec.mode) * (2 if spec.top_crop else 1)
    if task == "hmr":
        return IterativeRegressor(width, HMR_SPEC)
    if task == "hmr-free":
        return PooledMLP(width, NUM_JOINTS * 3)
    if task == "hand-mesh":
        return HandMeshHead(width, spec.model_path)
    if task == "hand-mesh-free":
        return model_free_hand_head(width, spec.model_path)
    if task == "densepose":
        return DPTHead.for_backbone(config, spec.mode, DENSEPOSE_OUTPUTS)
    if task in ("gesture", "grasp"):
        if spec.num_classes < 2:
            raise ValueError(f"--task {task} needs finetune.num_classes (e.g. 18 for HaGRID gestures)")
        return PooledMLP(width, spec.num_classes)
    raise ValueError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")


def hmr_outputs(params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """One iterate of the hmr head as predictions: the root-relative joints [B, 24, 3] of the SMPL
    tree posed by the regressed rotations and scale, their weak-perspective projection into the
    crop ``s * (x, y) + (tx, ty)``, the rotation matrices, the shape parameters."""
    orient = rot6d_to_matrix(params["global_orient"])  # (B, 3, 3)
    body = rot6d_to_matrix(params["body_pose"].view(-1, 21, 6))  # (B, 21, 3, 3)
    joints = smpl_kinematics(orient, body, TEMPLATE.to(orient))
    joints = (joints - joints[:, :1]) * params["log_scale"].exp()[:, :, None]
    scale, shift = params["cam"][:, None, :1], params["cam"][:, None, 1:]
    return {"joints": joints, "joints2d": scale * joints[..., :2] + shift, "global_orient": orient,
            "body_pose": body, "betas": params["betas"], "phenotypes": params["phenotypes"]}


def predict(task: str, output) -> dict[str, torch.Tensor]:
    """The head's raw output as predictions in the targets' units (see finetune_data)."""
    if task == "hmr":
        return hmr_outputs(output[0])
    if task == "hand-mesh":  # the head poses its own iterates
        return output[0]
    if task == "hmr-free":
        joints = output.view(-1, NUM_JOINTS, 3)
        return {"joints": joints - joints[:, :1]}
    if task == "hand-mesh-free":  # relative to the predicted wrist, as the targets are to theirs
        root = output["joints"][:, :1]
        return {"joints": output["joints"] - root, "vertices": output["vertices"] - root}
    if task == "densepose":  # per pixel: the arg-max part and the (U, V) regressed for that part
        logits, uv = densepose_outputs(output)
        parts = logits.argmax(1)  # (B, H, W)
        index = (parts - 1).clamp(min=0)[:, None, None].expand(-1, 1, 2, -1, -1)  # (B, 1, 2, H, W)
        return {"parts": parts, "uv": uv.gather(1, index)[:, 0].clamp(0, 1)}
    return {"logits": output}


def run_model(model: CroCoDownstream, spec: FinetuneConfig, batch: dict, device: torch.device):
    """The model on a batch: the crop, its twin in binocular mode, the top crop when there is one."""
    img = batch["img"].to(device, non_blocking=True)
    top = batch["img_top"].to(device, non_blocking=True) if "img_top" in batch else None
    return model(img, img if spec.mode == "binocular" else None, top=top)


def task_loss(task: str, output, batch: dict, device: torch.device) -> torch.Tensor:
    """Supervision available in the batch, summed: joints and vertices (L1, m), pose (rotation MSE),
    parts, labels."""
    if task == "densepose":
        logits, uv = densepose_outputs(output)
        parts = batch["parts"].to(device)
        return densepose_loss(logits, uv, parts.clamp(min=0), batch["uv"].to(device), parts >= 0)
    if task in ("gesture", "grasp"):
        return F.cross_entropy(output, batch["label"].to(device))
    if task in ("hmr", "hand-mesh"):  # deep supervision of every refinement, as HMR does
        _, steps = output
        steps = [hmr_outputs(step) for step in steps] if task == "hmr" else steps
        return sum(_prediction_loss(step, batch, device) for step in steps) / len(steps)
    return _prediction_loss(predict(task, output), batch, device)


POINT_TARGETS = ("joints", "vertices")  # root-relative, metres
ROTATION_TARGETS = ("global_orient", "body_pose", "hand_pose")  # axis-angle in the batch, matrices predicted


def _prediction_loss(pred: dict, batch: dict, device: torch.device) -> torch.Tensor:
    """L1 on root-relative points and on the 2D reprojection, rotation-matrix MSE on rotations and
    shape terms (SMPL betas, anny phenotypes), each where both the prediction and the batch have it."""
    loss = torch.zeros((), device=device)
    for name in POINT_TARGETS:
        if name in pred and name in batch:
            loss = loss + (pred[name] - batch[name].to(device)).abs().mean()
    for name in ROTATION_TARGETS:
        if name in pred and name in batch:
            target = axis_angle_to_matrix(batch[name].to(device).float())
            loss = loss + (pred[name] - target.view_as(pred[name])).square().mean()
    if "joints2d" in pred and "joints2d" in batch:  # reprojection, on visible joints
        target = batch["joints2d"].to(device)
        visible = target[..., 2:]
        loss = loss + ((pred["joints2d"] - target[..., :2]).abs() * visible).sum() / (2 * visible.sum()).clamp(min=1)
    for name, weight in SHAPE_WEIGHTS.items():
        if name in pred and name in batch:
            loss = loss + weight * (pred[name] - batch[name].to(device)).square().mean()
    return loss


class FinetuneTask:
    """A task head on a benchmark's training split, trained by ``training_loop.run``."""

    find_unused_parameters = False

    def __init__(self, config: TrainConfig):
        if config.finetune is None:
            raise ValueError("a fine-tuning config needs a 'finetune' section (task, benchmark, root)")
        self.config, self.spec = config, config.finetune
        self.name = self.spec.task
        self._benchmark = None

    @property
    def benchmark(self):
        """The training split; with ``shots``, only k samples per class (paper: HaGRID 16/32/64-shot)."""
        if self._benchmark is None:
            from crocohuman.datasets import open_benchmark
            from crocohuman.datasets.few_shot import few_shot_indices

            benchmark = open_benchmark(self.spec.benchmark, self.spec.root, **self.spec.options)
            if self.spec.shots:
                benchmark = torch.utils.data.Subset(benchmark, few_shot_indices(benchmark, self.spec.shots,
                                                                                 self.spec.shot_seed))
            self._benchmark = benchmark
        return self._benchmark

    def build_model(self, backbone_config: CroCoConfig | None = None) -> CroCoDownstream:
        """From ``config.init``; with ``backbone_config``, a fresh model of that shape (to load weights into)."""
        spec = self.spec
        head = lambda c: make_head(spec, c)  # noqa: E731
        if backbone_config is not None:
            return CroCoDownstream.from_init("random", head, spec.mode, backbone_config)
        config = preset_config(self.config.model, **self.config.model_overrides) if self.config.init == "random" else None
        model = CroCoDownstream.from_init(self.config.init, head, spec.mode, config)
        if model.backbone.config.img_size != self.config.image_size:
            raise ValueError(f"the backbone takes {model.backbone.config.img_size}px images, "
                             f"image_size is {self.config.image_size}")
        return model

    def configure_optimizer(self, model: CroCoDownstream) -> torch.optim.Optimizer:
        optim = self.config.optim
        return model.configure_optimizers(optim.base_lr, optim.weight_decay, self.spec.backbone_lr_scale,
                                          betas=optim.betas)

    def dataset(self) -> FinetuneDataset:
        return FinetuneDataset(self.benchmark, self.config.image_size, self.config.seed, train=True,
                               mirror=self.spec.mirror, top_crop=self.spec.top_crop)

    def loss(self, model, core, batch: dict, generator: torch.Generator, device: torch.device):
        output = run_model(model, self.spec, batch, device)
        return task_loss(self.name, output, batch, device), {"img": batch["img"][:4]}

    def pictures(self, core, outputs: dict) -> list[np.ndarray]:
        return [np.concatenate(list(denormalize(outputs["img"])), 1)]

    def checkpoint_meta(self, core: CroCoDownstream) -> dict:
        return {"croco_config": dataclasses.asdict(core.backbone.config), "baseline": self.baseline}

    @functools.cached_property
    def baseline(self) -> dict:
        """The trivial predictor the report compares against, from the training split: the mean
        root-relative pose (and mesh, when the data has one), or the most frequent class."""
        dataset = FinetuneDataset(self.benchmark, self.config.image_size, self.config.seed, train=True)
        samples = [dataset[i] for i in range(min(256, 4 * len(self.benchmark)))]
        if self.name in POINT_TASKS:
            return {f"mean_{key}": torch.stack([s[key] for s in samples]).mean(0).tolist()
                    for key in POINT_TARGETS if key in samples[0]}
        if self.name in ("gesture", "grasp"):
            labels = np.array([int(s["label"]) for s in samples])
            return {"majority_class": int(np.bincount(labels).argmax())}
        return {}

    def flops_per_sample(self, core) -> None:
        return None


def finetune(config: TrainConfig) -> dict:
    """Fine-tune until ``optim.max_steps``, resuming from the run folder's last checkpoint."""
    return run(FinetuneTask(config), config)
