"""One thread per library, for every test and every process a test starts.

On a loaded machine, torch, OpenBLAS and Mesa's llvmpipe each start a thread per core and fight
the other processes for them: one overfitting test took 775 s that way and 45 s on one thread.
The variables are set before numpy or torch is imported (pytest imports this file first), and
subprocesses (renders, DataLoader workers, DDP ranks) inherit them. ``CROCO_TEST_THREADS=N``
gives the suite N threads instead.
"""

from __future__ import annotations

import os

import pytest

THREADS = os.environ.get("CROCO_TEST_THREADS", "1")
for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "LP_NUM_THREADS"):
    os.environ[_variable] = THREADS


def pytest_configure(config) -> None:
    import torch

    torch.set_num_threads(int(THREADS))
    torch.set_num_interop_threads(int(THREADS))


@pytest.fixture
def rng():
    """A fresh generator for each test: a test's random data never depends on which tests ran before it."""
    import numpy as np  # after the thread variables above

    return np.random.default_rng(20240611)
