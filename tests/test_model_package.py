"""The crocohuman.model package: its documented names, and what importing its command line costs."""

from __future__ import annotations

import subprocess
import sys

import pytest

import crocohuman.model
from crocohuman.model import croco_weights


def test_package_names_load_on_first_use():
    """``crocohuman.model.NAME`` resolves on first use, so the command line alone imports no torch."""
    probe = "import sys, crocohuman.model.cli; print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.stdout == "[]\n", result.stdout + result.stderr
    assert crocohuman.model.load_croco_checkpoint is croco_weights.load_croco_checkpoint
    assert set(crocohuman.model.__all__) <= set(dir(crocohuman.model))
    with pytest.raises(AttributeError, match="no attribute 'CroCo'"):
        crocohuman.model.CroCo  # noqa: B018 - the attribute access is the test
