"""Multi-view pair readers (folder, AIST++, HUMBI) and InterHand2.6M over their native-layout fixtures."""

from __future__ import annotations

import numpy as np
import pytest

from crocohuman.model.pairs.multiview import MultiViewFolder

from fake_pair_datasets import make_aist, make_humbi, make_interhand, make_multiview_folder
from fake_pair_images import check_kinds, decode, draw_all

# ------------------------------------------------------------------------------------ multi-view


def test_multiview_fraction_masks_and_no_pairs(tmp_path):
    reader = make_multiview_folder(tmp_path / "mv")
    assert {p.kind for p in draw_all(reader)} == {"cross_view", "cross_pose"}
    only_views = MultiViewFolder(tmp_path / "mv", cross_view_fraction=1.0)
    assert {p.kind for p in draw_all(only_views)} == {"cross_view"}
    only_poses = MultiViewFolder(tmp_path / "mv", cross_view_fraction=0.0)
    assert {p.kind for p in draw_all(only_poses)} == {"cross_pose"}
    masked = [p for p in draw_all(reader) if decode(p.img1)[0] == 0 and decode(p.img1)[2] == 0]
    assert masked and all(p.mask1 is not None and p.mask1.sum() == 16 * 20 for p in masked)
    with pytest.raises(ValueError, match="nothing to pair"):
        MultiViewFolder(tmp_path / "mv" / "lonely")


def test_aist_boxes_from_keypoints_and_ignore_list(tmp_path):
    reader = make_aist(tmp_path)
    pairs = draw_all(reader)
    assert not any("gLH" in p.source for p in pairs)
    boxed = [p for p in pairs if p.source.startswith("aist++:gBR_sBM_cAll_d04_mBR0_ch01 ")]
    unboxed = [p for p in pairs if p.source.startswith("aist++:gJB_sBM_cAll_d07_mJB3_ch05 ")]
    assert boxed and all(p.box1 is not None and p.box2 is not None for p in boxed)
    assert unboxed and all(p.box1 is None and p.box2 is None for p in unboxed)  # no keypoints file


def test_humbi_boxes_project_the_3d_keypoints(tmp_path):
    pairs = draw_all(make_humbi(tmp_path))
    assert all(p.box1 is not None and p.box2 is not None for p in pairs)
    # points within +-0.3 m at 3 m, f = 40 px around (24, 16): the box stays near the centre
    assert all(14 < (p.box1[0] + p.box1[2]) / 2 < 34 and 6 < (p.box1[1] + p.box1[3]) / 2 < 26 for p in pairs)


# -------------------------------------------------------------------------------------- interhand


def test_interhand_equal_kinds_and_annotation_boxes(tmp_path):
    reader = make_interhand(tmp_path)
    pairs = [reader.get(i, np.random.default_rng(s)) for s in range(25) for i in range(len(reader))]
    counts = check_kinds(pairs)
    assert counts["cross_view"] == counts["cross_pose"] == len(pairs) // 2
    assert all(p.box1 == (4.0, 3.0, 24.0, 13.0) and p.box2 == (4.0, 3.0, 24.0, 13.0) for p in pairs)
    assert not any("0052_single_camera" in p.source for p in pairs)
    # the image without an annotation (first camera, last frame of the first sequence) never appears
    assert not any(decode(img) == (0, 4, 0) for p in pairs for img in (p.img1, p.img2))
    with pytest.raises(IndexError):
        reader.get(len(reader), np.random.default_rng(0))
