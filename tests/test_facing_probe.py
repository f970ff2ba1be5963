"""scripts/facing_probe.py: the front/back label, and the probe end to end on rendered takes."""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

import numpy as np

from crocohuman.render.camera_rig import RigConfig
from crocohuman.render.config import RenderConfig
from crocohuman.render.pipeline import run as render

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "facing_probe.py"
probe = runpy.run_path(str(SCRIPT))


def test_facing_the_camera_is_left_hip_on_the_image_right():
    joints = np.zeros((24, 3))
    joints[1], joints[2], joints[15] = [0.1, 0.0, 0.0], [-0.1, 0.0, 0.0], [0.0, -0.6, 0.0]  # left, right hip; head up
    assert probe["faces_camera"](joints)
    for degrees, facing in ((60, True), (-60, True), (120, False), (180, False), (-120, False)):
        angle = np.radians(degrees)  # the body turned about the vertical (camera y)
        turn = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
        assert probe["faces_camera"](joints @ turn.T) == facing, degrees


def test_probe_prints_a_row_per_crop(tmp_path, monkeypatch, capsys):
    for name, seed in (("train", 1), ("test", 2)):
        render(RenderConfig(output=tmp_path / name, takes=2, takes_per_shard=2, frames=1, width=64, height=64,
                            rig=RigConfig(views=2), texture_size=128, seed=seed, preview_takes=1))
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--train", str(tmp_path / "train"), "--test",
                                      str(tmp_path / "test"), "--epochs", "1", "--batch", "2"])
    probe["main"]()
    table = capsys.readouterr().out
    rows = {m.group(1): m.groups()[1:] for m in re.finditer(r"^\| (head|person) \| \d+ px \| (\d+) \| (\d+) \| ([\d.]+)%",
                                                            table, re.M)}
    assert set(rows) == {"head", "person"}
    for train, test, accuracy in rows.values():
        assert (int(train), int(test)) == (4, 4) and 0 <= float(accuracy) <= 100
