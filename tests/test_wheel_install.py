"""A non-editable install runs from any folder: the presets ship in the wheel as ``crocohuman.presets``.

How it stays quick (~30 s) and needs no network: the wheel is built from a copy of the sources
(``pip wheel --no-deps --no-build-isolation``: the setuptools already installed, nothing written
into the checkout); the fresh venv is made ``--without-pip`` and borrows the test interpreter's
installed packages (torch, numpy, pip, ...) through a ``.pth`` file listing their site-packages
folders. A ``.pth`` line only adds a folder to ``sys.path``, so the editable install's own
``.pth`` finder in those folders is never run: ``crocohuman`` can only come from the wheel, and
the test checks that it does. The borrowed pip installs the wheel into the fresh venv
(``--no-deps --ignore-installed``: the editable install's metadata is visible too), which writes
the ``croco-train`` script a user would run.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
PACKAGE_DIRS = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
SOURCES = ("pyproject.toml", "README.md", *sorted(set(PACKAGE_DIRS.values())))  # what the wheel is built from


def _run(command: list, **kwargs) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, env=env, timeout=300, **kwargs)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


def _build_wheel(tmp: Path) -> Path:
    """The wheel of a copy of the sources (an in-tree build would write build/ into the checkout)."""
    source = tmp / "source"
    for name in SOURCES:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, source / name)
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            tmp / "dist",
            source,
        ]
    )
    return next((tmp / "dist").glob("croco_human-*.whl"))


def _fresh_venv(tmp: Path) -> Path:
    """A venv without pip whose ``sys.path`` ends with the test interpreter's site-packages."""
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    own = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    borrowed = [path for path in site.getsitepackages() if Path(path).is_dir()]
    (own / "borrowed-dependencies.pth").write_text("\n".join(borrowed) + "\n")
    return venv


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the wheel, a venv with it installed)."""
    tmp = tmp_path_factory.mktemp("wheel")
    wheel, venv = _build_wheel(tmp), _fresh_venv(tmp)
    _run(
        [
            venv / "bin" / "python",
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--ignore-installed",
            "--no-compile",
            "-q",
            wheel,
        ]
    )
    return wheel, venv


def test_the_wheel_holds_the_presets(installed):
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    assert "crocohuman/presets/tiny-cpu.yaml" in names and "crocohuman/presets/croco-body.yaml" in names
    assert "crocohuman/core/typed_config.py" in names and "crocohuman/model/tasks/spec.py" in names


def test_installed_croco_train_pretrains_from_another_folder(installed, tmp_path):
    _, venv = installed
    where = _run(
        [venv / "bin" / "python", "-c", "import crocohuman.model; print(crocohuman.model.__file__)"], cwd=tmp_path
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # the wheel's copy, not the checkout's
    frames = tmp_path / "frames" / "clip"
    frames.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for index in range(3):
        Image.fromarray(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8)).save(frames / f"{index:06d}.jpg")
    work = tmp_path / "elsewhere"
    work.mkdir()
    result = _run(
        [
            venv / "bin" / "croco-train",
            "pretrain",
            "--config",
            "tiny-cpu",
            "--data",
            f"video:{tmp_path / 'frames'}",
            "--out",
            "run",
            "optim.max_steps=1",
            "optim.warmup_steps=0",
            "optim.schedule_steps=1",
            "batch_size=2",
            "num_workers=0",
            "masking=uniform",
            "grid_every=0",
            "ckpt_every=1",
            "log_every=1",
        ],
        cwd=work,
    )
    assert "done, loss" in result.stdout
    assert (work / "run" / "checkpoint-last.pt").is_file()
