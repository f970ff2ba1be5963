"""Is a person's heading (facing the camera or away) learnable from rendered images, and from where?

The quickstart's 3D joints stay at the mean pose's MPJPE because the model never learns whether a
person faces the camera (heading error ~90 deg, chance). This probe separates "the cue is not in
the pixels" from "the model does not find it": the same small CNN is trained to tell front from
back on two crops of the same rendered takes,

    head     a square around the head joint (half side 0.35 x head-to-pelvis height), 24 px
    person   the fine-tuning crop (the box side x 1.2), 112 px

and scored on held-out takes. Label: the body's forward direction (hips' left-to-right x up)
points towards the camera. Horizontal flips (which keep the label) are the only augmentation.

    python scripts/facing_probe.py --train out/quick/train --test out/quick/test
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from tqdm import tqdm

from crocohuman.core.conventions import SMPL_JOINT_NAMES
from crocohuman.datasets import open_benchmark
from crocohuman.model.finetune_data import EVAL_SCALE, square_crop
from crocohuman.model.pairs.transforms import MEAN_FILL, crop_resize

HEAD, PELVIS, LEFT_HIP, RIGHT_HIP = (
    SMPL_JOINT_NAMES.index(name) for name in ("head", "pelvis", "left_hip", "right_hip")
)
UP = np.array([0.0, -1.0, 0.0])  # OpenCV camera: y down
CROPS = {"head": 24, "person": 112}


def faces_camera(joints3d: np.ndarray) -> bool:
    """Whether the body's forward direction (left-to-right hips x up) points towards the camera (-z)."""
    forward = np.cross(joints3d[LEFT_HIP] - joints3d[RIGHT_HIP], UP)
    return bool(forward[2] < 0)


def crop_box(sample, kind: str) -> tuple[float, float, float, float]:
    if kind == "person":
        return square_crop(sample.box, EVAL_SCALE)
    (x, y), pelvis_y = sample.joints2d[HEAD, :2], sample.joints2d[PELVIS, 1]
    half = 0.35 * abs(y - pelvis_y) + 2.0
    return (x - half, y - half, x + half, y + half)


def load(root: str, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images [N, 3, S, S] in [-0.5, 0.5] and labels [N] of every view of every take under root."""
    takes = open_benchmark("synthetic", root)
    images, labels = [], []
    for i in tqdm(range(len(takes)), desc=f"{kind} crops of {root}", unit="img", leave=False):
        sample = takes[i]
        crop = crop_resize(Image.fromarray(sample.image), crop_box(sample, kind), CROPS[kind], MEAN_FILL)
        images.append(np.asarray(crop))
        labels.append(faces_camera(np.asarray(sample.joints3d)))
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0 - 0.5
    return x, torch.tensor(labels, dtype=torch.float32)


def small_cnn() -> nn.Sequential:
    def block(c_in: int, c_out: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2))

    return nn.Sequential(
        block(3, 32),
        block(32, 64),
        block(64, 96),
        block(96, 128),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(128, 1),
    )


def probe(train: tuple, test: tuple, epochs: int, batch: int, seed: int) -> float:
    """Test accuracy of the CNN after ``epochs`` on the training crops."""
    torch.manual_seed(seed)
    (x, y), (x_test, y_test) = train, test
    net = small_cnn()
    optim = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=0.05)
    for _ in tqdm(range(epochs), desc="epochs", leave=False):
        net.train()
        for idx in torch.randperm(len(y)).split(batch):
            flip = torch.rand(len(idx)) < 0.5
            images = torch.where(flip[:, None, None, None], x[idx].flip(-1), x[idx])
            loss = F.binary_cross_entropy_with_logits(net(images)[:, 0], y[idx])
            optim.zero_grad()
            loss.backward()
            optim.step()
    net.eval()
    with torch.no_grad():
        predicted = torch.cat([net(chunk)[:, 0] > 0 for chunk in x_test.split(256)])
    return float((predicted.float() == y_test).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", required=True, help="croco-render output to train the probe on")
    parser.add_argument("--test", required=True, help="held-out croco-render output to score it on")
    parser.add_argument("--crops", nargs="+", default=list(CROPS), choices=list(CROPS))
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rows = []
    for kind in args.crops:
        train, test = load(args.train, kind), load(args.test, kind)
        start = time.perf_counter()
        accuracy = probe(train, test, args.epochs, args.batch, args.seed)
        majority = float(max(test[1].mean(), 1 - test[1].mean()))
        rows.append(
            f"| {kind} | {CROPS[kind]} px | {len(train[1])} | {len(test[1])} | {accuracy:.1%} "
            f"| {majority:.1%} | {accuracy / majority:.2f} | {time.perf_counter() - start:.0f} s |"
        )
    print("| crop | input | train images | test images | test accuracy | majority class | ratio | time |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
