"""The benchmark registry over tiny native-layout fixtures, and the image and box helpers the readers share.

The readers themselves are tested in ``test_eval_datasets_bodies`` (3DPW, EFT-COCO, DensePose-COCO,
synthetic takes) and ``test_eval_datasets_hands`` (FreiHAND, HaGRID, GUN-71, InterHand2.6M).
"""

from __future__ import annotations

import numpy as np
import pytest

from crocohuman.core.boxes import box_from_mask, box_from_points
from crocohuman.core.images import read_rgb
from crocohuman.datasets import BENCHMARKS, open_benchmark

from fake_benchmarks import (
    H,
    W,
    make_3dpw,
    put_jpeg,
)

# -------------------------------------------------------------------------- registry and helpers


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_missing_root_names_path_and_layout(name, tmp_path):
    missing = tmp_path / "not-downloaded"
    with pytest.raises(FileNotFoundError) as error:
        open_benchmark(name, missing)
    assert str(missing) in str(error.value) and "expected layout" in str(error.value)


def test_open_benchmark_and_unknown_name(tmp_path):
    make_3dpw(tmp_path)
    assert len(open_benchmark("3dpw", tmp_path, split="test")) == 4
    with pytest.raises(ValueError, match="known: 3dpw"):
        open_benchmark("h36m", tmp_path)


def test_image_and_box_helpers(tmp_path):
    put_jpeg(tmp_path / "a.jpg")
    assert read_rgb(tmp_path / "a.jpg").shape == (H, W, 3)
    (tmp_path / "b.jpg").write_bytes(b"not an image")
    with pytest.raises(ValueError, match=r"b\.jpg"):
        read_rgb(tmp_path / "b.jpg")
    with pytest.raises(FileNotFoundError, match=r"c\.jpg"):
        read_rgb(tmp_path / "c.jpg")
    assert box_from_points(np.array([[0, 0], [10, 5], [99, 99]]), [1, 1, 0], 0.1) == (-1.0, -1.0, 11.0, 6.0)
    assert box_from_points(np.array([[3, 3], [3, 3]]), None, 0.1) is None
    mask = np.zeros((10, 10), bool)
    mask[2:4, 5:9] = True
    assert box_from_mask(mask, 0.0) == (5.0, 2.0, 9.0, 4.0) and box_from_mask(np.zeros((4, 4), bool), 0.1) is None
