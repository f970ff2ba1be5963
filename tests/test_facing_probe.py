"""scripts/facing_probe.py: the front/back label, and the probe end to end on rendered takes."""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from crocohuman.datasets import open_benchmark
from crocohuman.render.camera_rig import RigConfig
from crocohuman.render.config import RenderConfig
from crocohuman.render.pipeline import run as render

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "facing_probe.py"
ROW = re.compile(r"^\| (head|person) \| \d+ px \| (\d+) \| (\d+) \| ([\d.]+)% \| ([\d.]+)%", re.M)


@pytest.fixture(scope="module")
def probe():
    """The script's namespace, loaded when a test first asks for it, never while pytest collects."""
    return runpy.run_path(str(SCRIPT))


@pytest.fixture(scope="module")
def takes(tmp_path_factory):
    """Training takes (2 x 2 views) and test takes (2 x 3 views: 4 of the 6 face the camera)."""
    root = tmp_path_factory.mktemp("probe")
    for name, seed, views in (("train", 1, 2), ("test", 2, 3)):
        render(
            RenderConfig(
                output=root / name,
                takes=2,
                takes_per_shard=2,
                frames=1,
                width=64,
                height=64,
                rig=RigConfig(views=views),
                texture_size=128,
                seed=seed,
                preview_takes=1,
            )
        )
    return root


def facing_share(root) -> float:
    """The share of test images whose body faces the camera, by hand: forward = (left - right hip) x up
    with up = -y has z = -(left - right).x, so the body faces the camera (-z) when the left hip is
    right of the right hip in camera x."""
    split = open_benchmark("synthetic", root)
    return float(np.mean([split[i].joints3d[1, 0] > split[i].joints3d[2, 0] for i in range(len(split))]))


def run_probe(probe, takes, monkeypatch, capsys) -> dict[str, tuple[str, ...]]:
    monkeypatch.setattr(
        sys,
        "argv",
        [str(SCRIPT), "--train", str(takes / "train"), "--test", str(takes / "test"), "--epochs", "1", "--batch", "2"],
    )
    probe["main"]()
    return {m.group(1): m.groups()[1:] for m in ROW.finditer(capsys.readouterr().out)}


class AlwaysFacing(torch.nn.Module):
    """Logit +1 ("faces the camera") whatever the image; its one weight gets no gradient."""

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ones(len(x), 1) + 0 * self.unused


def test_facing_the_camera_is_left_hip_on_the_image_right(probe):
    joints = np.zeros((24, 3))
    joints[1], joints[2], joints[15] = [0.1, 0.0, 0.0], [-0.1, 0.0, 0.0], [0.0, -0.6, 0.0]  # left, right hip; head up
    assert probe["faces_camera"](joints)
    for degrees, facing in ((60, True), (-60, True), (120, False), (180, False), (-120, False)):
        angle = np.radians(degrees)  # the body turned about the vertical (camera y)
        turn = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
        assert probe["faces_camera"](joints @ turn.T) == facing, degrees


def test_probe_prints_a_row_per_crop_with_the_majority_share(probe, takes, monkeypatch, capsys):
    rows = run_probe(probe, takes, monkeypatch, capsys)
    share = facing_share(takes / "test")
    assert share == pytest.approx(4 / 6)  # not 1/2, so a swapped label would show
    assert set(rows) == {"head", "person"}
    for kind, (train, test, _, majority) in rows.items():
        assert (int(train), int(test)) == (2 * 2, 2 * 3), kind
        assert float(majority) == pytest.approx(100 * max(share, 1 - share), abs=0.05), kind


def test_probe_accuracy_of_a_constant_predictor_is_the_facing_share(probe, takes, monkeypatch, capsys):
    monkeypatch.setitem(probe["main"].__globals__, "small_cnn", AlwaysFacing)
    rows = run_probe(probe, takes, monkeypatch, capsys)
    share = facing_share(takes / "test")
    assert set(rows) == {"head", "person"}
    for kind, (_, _, accuracy, _) in rows.items():
        assert float(accuracy) == pytest.approx(100 * share, abs=0.05), kind
