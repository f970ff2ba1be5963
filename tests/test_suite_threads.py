"""The suite runs one thread per library (tests/conftest.py), in this process and in the ones it starts."""

from __future__ import annotations

import os
import subprocess
import sys

import torch
from conftest import THREADS


def test_torch_uses_the_pinned_thread_count():
    assert torch.get_num_threads() == int(THREADS)


def test_subprocesses_inherit_the_pinned_libraries():
    code = (
        "import os, torch; print(torch.get_num_threads(), "
        "*(os.environ[v] for v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'LP_NUM_THREADS')))"
    )
    printed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    ).stdout.split()
    assert printed == [THREADS] * 4
