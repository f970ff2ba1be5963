"""Left-right flip augmentation of fine-tuning samples: the mirrored targets are the targets of
the mirrored body, checked by posing the SMPL tree."""

from __future__ import annotations

import numpy as np
import torch

from crocohuman.core.conventions import SMPL_MIRROR, SMPL_TPOSE_JOINTS
from crocohuman.core.rotations import axis_angle_to_matrix
from crocohuman.datasets.sample import BenchmarkSample
from crocohuman.model.finetune_data import FinetuneDataset, mirrorable, mirrored
from crocohuman.model.rotation6d import smpl_kinematics

REFLECT = np.array([-1.0, 1.0, 1.0])
# The template made left-right symmetric (x -> -x swaps left and right), so a mirrored pose of it
# is exactly the mirror image of the posed body.
SYMMETRIC = (SMPL_TPOSE_JOINTS + SMPL_TPOSE_JOINTS[list(SMPL_MIRROR)] * REFLECT) / 2


def posed(orient: np.ndarray, body_pose: np.ndarray) -> np.ndarray:
    """Root-relative joints (24, 3) of the symmetric template posed by axis-angles."""
    joints = smpl_kinematics(
        axis_angle_to_matrix(torch.tensor(orient[None], dtype=torch.float32)),
        axis_angle_to_matrix(torch.tensor(body_pose[None], dtype=torch.float32)),
        torch.tensor(SYMMETRIC, dtype=torch.float32),
    )[0].numpy()
    return joints - joints[:1]


class OneBody:
    """A benchmark of one image of a posed body, a bright square on the image's left."""

    name = "one-body"

    def __init__(self, rng: np.random.Generator) -> None:
        self.orient, self.pose = rng.normal(0, 0.6, 3), rng.normal(0, 0.4, (21, 3))
        image = np.zeros((64, 64, 3), np.uint8)
        image[20:40, 4:20] = 255
        self.sample = BenchmarkSample(
            image=image,
            box=(0, 0, 64, 64),
            key="one",
            joints3d=posed(self.orient, self.pose),
            body_params={"global_orient": self.orient, "body_pose": self.pose},
        )

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> BenchmarkSample:
        return self.sample


def test_mirror_table_swaps_left_and_right():
    assert SMPL_MIRROR[1:3] == (2, 1) and SMPL_MIRROR[0] == 0 and SMPL_MIRROR[15] == 15
    assert all(SMPL_MIRROR[SMPL_MIRROR[j]] == j for j in range(24))


def test_mirrored_targets_are_the_mirrored_body():
    rng = np.random.default_rng(0)
    body = OneBody(rng)
    dataset = FinetuneDataset(body, 32, seed=0, train=True, mirror=True)
    plain = FinetuneDataset(body, 32, seed=0, train=True, mirror=False)
    flips = 0
    for i in range(12):
        sample, reference = dataset[i], plain[i]
        if torch.equal(sample["img"], reference["img"]):
            assert torch.equal(sample["joints"], reference["joints"])
            continue
        flips += 1
        assert torch.equal(sample["img"], reference["img"].flip(-1))
        expected = posed(sample["global_orient"].numpy().astype(float), sample["body_pose"].numpy().astype(float))
        np.testing.assert_allclose(sample["joints"].numpy(), expected, atol=1e-5)
        np.testing.assert_allclose(
            sample["joints"].numpy(), reference["joints"].numpy()[list(SMPL_MIRROR)] * REFLECT, atol=1e-6
        )
    assert 0 < flips < 12


def test_only_smpl_order_bodies_are_mirrored():
    joints = torch.zeros(24, 3)
    assert mirrorable({"img": torch.zeros(3, 4, 4), "joints": joints})
    assert not mirrorable({"img": torch.zeros(3, 4, 4), "joints": torch.zeros(21, 3)})  # a right hand
    assert not mirrorable({"img": torch.zeros(3, 4, 4), "joints": joints, "parts": torch.zeros(4, 4)})
    assert not mirrorable({"img": torch.zeros(3, 4, 4), "label": torch.tensor(1)})
    twice = mirrored(
        mirrored(
            {"img": torch.arange(48.0).view(3, 4, 4), "joints": torch.randn(24, 3), "global_orient": torch.randn(3)}
        )
    )
    assert twice["img"].equal(torch.arange(48.0).view(3, 4, 4))
    top = torch.arange(48.0).view(3, 4, 4)
    joints2d = torch.rand(24, 3) * 2 - 1
    once = mirrored({"img": torch.zeros(3, 4, 4), "img_top": top, "joints": torch.randn(24, 3), "joints2d": joints2d})
    assert once["img_top"].equal(top.flip(-1))  # the top crop is part of the same mirrored picture
    assert once["joints2d"][1].equal(joints2d[2] * torch.tensor([-1.0, 1.0, 1.0]))  # left hip <- right hip, x mirrored
