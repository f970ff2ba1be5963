"""Benchmark samples as fine-tuning batches: a square crop around the person, targets to match.

Training draws sample ``i`` of an endless stream from (seed, i): a random item, a jittered crop,
and with ``mirror`` a left-right flip half of the time (bodies in SMPL joint order only).
Evaluation walks the benchmark in order with a fixed crop (the box side x 1.2, centred), so
predictions line up with ``BenchmarkSplit`` indices.

With ``top_crop`` each sample also holds ``img_top``: the top of the person box (``top_box``).

Targets (each present only when the benchmark has it):
    joints   (J, 3) float32, camera frame, metres, relative to the root joint (joint 0)
    joints2d (J, 3) float32, the same joints in the crop, x and y in [-1, 1] (HMR's weak-perspective
             frame), and visibility; when the 2D joints are in the 3D joints' order
    global_orient (3,) axis-angle of the body in the camera frame (SMPL convention)
    body_pose (21, 3) axis-angle of the SMPL-tree body joints
    hand_pose (15, 3) axis-angle of MANO's finger joints (FreiHAND: offsets from MANO's mean hand)
    vertices (V, 3) float32, camera frame, metres, relative to the root joint (FreiHAND's MANO mesh)
    betas    (10,) SMPL shape, and gender (0 neutral, 1 male, 2 female), for SMPL-family ground truth
    phenotypes (6,) anny's shape sliders (``ANNY_PHENOTYPES``), for our anny renders
    label    int64 class index
    parts    (S, S) int64 DensePose part 0..24 (-1 = unannotated, for sparse DensePose-COCO points)
    uv       (2, S, S) float32 in [0, 1]
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from crocohuman.core.boxes import Box
from crocohuman.core.conventions import ANNY_PHENOTYPES, GENDER_CODES, NUM_BODY_JOINTS, SMPL_MIRROR
from crocohuman.model.pairs.transforms import MEAN_FILL, crop_resize, normalise

EVAL_SCALE = 1.2
TRAIN_SCALE = (1.1, 1.4)
TRAIN_SHIFT = 0.08
STREAM_LENGTH = 2**62


def square_crop(box, scale: float, shift: tuple[float, float] = (0.0, 0.0)) -> Box:
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0) * scale
    cx, cy = (x0 + x1) / 2 + shift[0] * side, (y0 + y1) / 2 + shift[1] * side
    return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


def crop_coordinates(points: np.ndarray, crop) -> torch.Tensor:
    """Pixel points (J, 2 + visibility) as [-1, 1] coordinates of the square crop, visibility kept."""
    x0, y0, x1, y1 = crop
    points = np.asarray(points, np.float32)
    centre, half = np.array([(x0 + x1) / 2, (y0 + y1) / 2]), (x1 - x0) / 2
    return torch.from_numpy(np.concatenate([(points[:, :2] - centre) / half, points[:, 2:3]], 1).astype(np.float32))


def top_box(box, fraction: float, shift: float = 0.0) -> Box:
    """The square of side ``fraction`` x the box height at the top of the box, centred across it
    (moved by ``shift`` sides): where an upright person's head is, found from the box alone."""
    x0, y0, x1, y1 = box
    side = fraction * (y1 - y0)
    cx = (x0 + x1) / 2 + shift * side
    return (cx - side / 2, y0, cx + side / 2, y0 + side)


REFLECT_X = torch.tensor([-1.0, 1.0, 1.0])  # the mirror, in camera coordinates
MIRROR_JOINTS = list(SMPL_MIRROR)
MIRROR_BODY_POSE = [SMPL_MIRROR[j + 1] - 1 for j in range(NUM_BODY_JOINTS)]  # body_pose row j is SMPL joint j + 1


def mirrorable(sample: dict) -> bool:
    """Whether a mirror image has known targets: SMPL-order bodies only (a mirrored right hand is a
    left hand; dense charts and class labels need their own symmetry tables)."""
    joints = sample.get("joints")
    return (
        joints is not None
        and len(joints) == len(SMPL_MIRROR)
        and not {"parts", "uv", "label", "vertices"} & sample.keys()
    )


def mirrored(sample: dict) -> dict:
    """The sample seen in a mirror (image flipped left-right): camera-frame x negated, left and right
    joints swapped, rotations conjugated by the reflection (axis-angle (x, y, z) -> (x, -y, -z))."""
    out = dict(sample, img=sample["img"].flip(-1), joints=sample["joints"][MIRROR_JOINTS] * REFLECT_X)
    if "joints2d" in sample:
        out["joints2d"] = sample["joints2d"][MIRROR_JOINTS] * REFLECT_X
    if "img_top" in sample:
        out["img_top"] = sample["img_top"].flip(-1)
    if "global_orient" in sample:
        out["global_orient"] = sample["global_orient"] * -REFLECT_X
    if "body_pose" in sample:
        out["body_pose"] = sample["body_pose"][MIRROR_BODY_POSE] * -REFLECT_X
    return out


class FinetuneDataset(Dataset):
    """``train=True``: an endless seeded stream for the training loop; else the benchmark in order."""

    def __init__(
        self, benchmark, size: int, seed: int = 0, train: bool = True, mirror: bool = False, top_crop: float = 0.0
    ):
        self.benchmark, self.size, self.seed, self.train = benchmark, size, seed, train
        self.mirror, self.top_crop = mirror and train, top_crop

    def __len__(self) -> int:
        return STREAM_LENGTH if self.train else len(self.benchmark)

    def __getitem__(self, i: int) -> dict:
        if self.train:
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, i]))
            index = int(rng.integers(len(self.benchmark)))
            sample = self.benchmark[index]
            crop = square_crop(sample.box, rng.uniform(*TRAIN_SCALE), tuple(rng.uniform(-TRAIN_SHIFT, TRAIN_SHIFT, 2)))
            flip = self.mirror and rng.random() < 0.5
            top_shift = rng.uniform(-TRAIN_SHIFT, TRAIN_SHIFT)
        else:
            index, flip, top_shift = i, False, 0.0
            sample = self.benchmark[index]
            crop = square_crop(sample.box, EVAL_SCALE)
        out = self.encode(sample, crop)
        if self.top_crop:
            out["img_top"] = self.pixels(sample, top_box(sample.box, self.top_crop, top_shift))
        if flip and mirrorable(out):
            out = mirrored(out)
        return {"index": index, "crop": torch.tensor(crop, dtype=torch.float32), **out}

    def pixels(self, sample, crop) -> torch.Tensor:
        """The crop of the sample's image, resized and normalised: [3, size, size]."""
        pixels = crop_resize(Image.fromarray(sample.image), crop, self.size, MEAN_FILL)
        return normalise(np.asarray(pixels, np.float32) / 255.0)

    def encode(self, sample, crop) -> dict:
        out = {"img": self.pixels(sample, crop)}
        if sample.joints3d is not None:
            joints = np.asarray(sample.joints3d, np.float32)
            out["joints"] = torch.from_numpy(joints - joints[:1])
            if sample.joints2d is not None and len(sample.joints2d) == len(joints):
                out["joints2d"] = crop_coordinates(sample.joints2d, crop)
            if sample.vertices is not None:  # relative to the same root joint
                out["vertices"] = torch.from_numpy(np.asarray(sample.vertices, np.float32) - joints[:1])
        orient = sample.body_params.get("global_orient")
        if orient is not None and np.size(orient) == 3:
            out["global_orient"] = torch.from_numpy(np.asarray(orient, np.float32).reshape(3))
        pose = sample.body_params.get("body_pose", sample.body_params.get("pose"))
        if pose is not None:
            pose = np.asarray(pose, np.float32).reshape(-1, 3)
            body = {21: pose, 23: pose[:21], 24: pose[1:22]}.get(len(pose))  # SMPL-tree body joints (no root, hands)
            if body is not None:
                out["body_pose"] = torch.from_numpy(np.ascontiguousarray(body))
        hand_pose = sample.body_params.get("hand_pose")
        if hand_pose is not None and np.size(hand_pose) == 45:  # MANO's 15 finger joints, as the data stores them
            out["hand_pose"] = torch.from_numpy(np.asarray(hand_pose, np.float32).reshape(15, 3).copy())
        betas = sample.body_params.get("betas")
        if betas is not None and np.size(betas) >= 10:
            out["betas"] = torch.from_numpy(np.asarray(betas, np.float32).reshape(-1)[:10].copy())
            gender = str(sample.body_params.get("gender", "neutral"))
            out["gender"] = torch.tensor(GENDER_CODES.get(gender, 0))
        if all(name in sample.body_params for name in ANNY_PHENOTYPES):
            out["phenotypes"] = torch.tensor([float(sample.body_params[name]) for name in ANNY_PHENOTYPES])
        if sample.label is not None:
            out["label"] = torch.tensor(sample.label, dtype=torch.int64)
        if sample.parts is not None and sample.iuv is not None:
            out.update(self._dense_labels(sample, crop))
        elif sample.densepose is not None:
            out.update(self._point_labels(sample, crop))
        return out

    def _dense_labels(self, sample, crop) -> dict:
        """Synthetic data: every pixel labelled (background = part 0)."""
        nearest = Image.Resampling.NEAREST
        parts = np.asarray(crop_resize(Image.fromarray(sample.parts), crop, self.size, 0, nearest))
        iuv = np.asarray(crop_resize(Image.fromarray(sample.iuv), crop, self.size, (0, 0, 0), nearest))
        uv = iuv[..., 1:].astype(np.float32).transpose(2, 0, 1) / 255.0
        return {"parts": torch.from_numpy(parts.astype(np.int64)), "uv": torch.from_numpy(uv)}

    def _point_labels(self, sample, crop) -> dict:
        """DensePose-COCO: only the annotated points carry a part (others -1, ignored)."""
        points = sample.densepose
        x0, y0, x1, _y1 = crop
        scale = self.size / (x1 - x0)
        cols = np.floor((np.asarray(points["x"]) - x0) * scale).astype(int)
        rows = np.floor((np.asarray(points["y"]) - y0) * scale).astype(int)
        inside = (cols >= 0) & (cols < self.size) & (rows >= 0) & (rows < self.size)
        parts = np.full((self.size, self.size), -1, np.int64)
        uv = np.zeros((2, self.size, self.size), np.float32)
        parts[rows[inside], cols[inside]] = np.asarray(points["i"], np.int64)[inside]
        uv[0, rows[inside], cols[inside]] = np.asarray(points["u"], np.float32)[inside]
        uv[1, rows[inside], cols[inside]] = np.asarray(points["v"], np.float32)[inside]
        return {"parts": torch.from_numpy(parts), "uv": torch.from_numpy(uv)}
