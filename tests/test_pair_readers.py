"""Every pair reader over its tiny native-layout fixture, and the helpers the readers share.

The fixtures are in ``fake_pair_datasets``; the per-reader tests are in ``test_pair_readers_multiview``
(multi-view captures and InterHand2.6M) and ``test_pair_readers_video`` (video tracks).
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from crocohuman.core.boxes import box_from_points, box_from_xywh, clip_box
from crocohuman.core.errors import CorruptSampleError
from crocohuman.core.images import read_rgb
from crocohuman.model.pairs.captures import CaptureIndex
from crocohuman.model.pairs.frame_files import NumberedImages
from crocohuman.model.pairs.multiview import MultiViewFolder

from fake_pair_datasets import BUILDERS, CLASSES, LENGTHS
from fake_pair_images import H, W, check_kinds, draw_all, put_image

# ----------------------------------------------------------------------------------- all readers


@pytest.mark.parametrize("kind", BUILDERS)
def test_length_determinism_and_boxes(kind, tmp_path):
    reader = BUILDERS[kind](tmp_path)
    assert len(reader) == LENGTHS[kind]
    assert isinstance(reader.name, str) and reader.name
    pairs = draw_all(reader)
    for index in range(len(reader)):
        a, b = (reader.get(index, np.random.default_rng(7)) for _ in range(2))
        assert a.kind == b.kind and a.source == b.source and a.box1 == b.box1 and a.box2 == b.box2
        assert np.array_equal(a.img1, b.img1) and np.array_equal(a.img2, b.img2)
        assert a.source.startswith(reader.name + ":")
    assert len({p.source for p in pairs}) > len(reader)  # the rng really varies the pair
    counts = check_kinds(pairs)
    if kind in ("multiview", "aist", "humbi", "interhand"):
        assert counts["cross_view"] > 0 and counts["cross_pose"] > 0
    else:
        assert set(counts) == {"cross_pose"}


@pytest.mark.parametrize("kind", CLASSES)
def test_missing_root_names_folder_and_layout(kind, tmp_path):
    missing = tmp_path / "not-downloaded"
    with pytest.raises(FileNotFoundError) as error:
        CLASSES[kind](missing)
    assert str(missing) in str(error.value) and "expected layout" in str(error.value)


# ------------------------------------------------------------------------------ shared helpers


def test_corrupt_image_names_the_file(tmp_path):
    for k in range(2):
        put_image(tmp_path / "seq" / "cam" / f"{k:06d}.jpg", 0, k, 0)
    broken = tmp_path / "seq" / "cam" / "000001.jpg"
    broken.write_bytes(broken.read_bytes()[: len(broken.read_bytes()) // 2])
    with pytest.raises(CorruptSampleError, match=r"000001\.jpg"):
        MultiViewFolder(tmp_path).get(0, np.random.default_rng(0))
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(CorruptSampleError, match=r"junk\.png"):
        read_rgb(tmp_path / "junk.png")


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16", "1"])
def test_read_rgb_converts_modes(mode, tmp_path):
    if mode == "I;16":
        image = Image.fromarray(np.full((H, W), 65535, np.uint16))
    else:
        image = Image.new("RGB", (W, H), (200, 100, 50)).convert(mode)
    image.save(tmp_path / "x.png")
    rgb = read_rgb(tmp_path / "x.png")
    assert rgb.shape == (H, W, 3) and rgb.dtype == np.uint8
    if mode == "I;16":
        assert (rgb == 255).all()


def test_box_helpers():
    xy = np.array([[1.0, 2.0], [11.0, 7.0], [100.0, 100.0], [np.nan, 0.0]])
    assert box_from_points(xy, np.array([True, True, False, True]), 0.0) == (1.0, 2.0, 11.0, 7.0)
    assert box_from_points(xy[:2], None, 0.1) == (0.0, 1.0, 12.0, 8.0)
    assert box_from_points(xy[:1], None, 0.1) is None
    assert box_from_xywh([1, 2, 0, 4]) is None and box_from_xywh(None) is None
    assert clip_box((-5.0, 2.0, 80.0, 9.0), W, H) == (0.0, 2.0, float(W), 9.0)
    assert clip_box((60.0, 0.0, 90.0, 9.0), W, H) is None


def test_numbered_images_patterns(tmp_path):
    for name in ["image_00007.jpg", "image_00012.jpg", "image_00012.mask.png", "notes.txt"]:
        (tmp_path / name).write_bytes(b"")
    found = NumberedImages.scan(tmp_path, prefix="image_")
    assert found.numbers.tolist() == [7, 12] and found.path(12) == tmp_path / "image_00012.jpg"
    mars_like = NumberedImages.from_names(tmp_path, ["F001.jpg", "F999.jpg", "F1000.jpg"], "F")
    assert mars_like.path(5) == tmp_path / "F005.jpg" and mars_like.path(1000) == tmp_path / "F1000.jpg"
    with pytest.raises(ValueError, match="mix name patterns"):
        NumberedImages.from_names(tmp_path, ["01.jpg", "0002.jpg"])


def test_capture_index_draws_respect_gap_and_views():
    index = CaptureIndex("c", [np.array([0, 1, 2, 50]), np.array([2, 3]), np.array([7])], max_gap=2)
    rng = np.random.default_rng(0)
    for _ in range(200):
        (c1, k1), (c2, k2) = index.draw("cross_pose", rng)
        assert c1 == c2 and k1 != k2 and abs(index.frame((c1, k1)) - index.frame((c2, k2))) <= 2
        (c1, k1), (c2, k2) = index.draw("cross_view", rng)
        assert c1 != c2 and index.frame((c1, k1)) == index.frame((c2, k2)) == 2
    assert not CaptureIndex("alone", [np.array([3])], max_gap=None).has_cross_pose
