"""The PNG encoder of label and colour images (``render.png``), decoded by PIL."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from crocohuman.render.png import png_bytes


@pytest.mark.parametrize(
    ("shape", "dtype", "mode"),
    [((5, 7), np.uint8, "L"), ((6, 4, 3), np.uint8, "RGB"), ((3, 9), np.uint16, "I;16")],
)
def test_pil_decodes_exactly_what_was_encoded(shape, dtype, mode):
    image = np.random.default_rng(0).integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)
    image[1] = image[0]  # a row equal to the one above: "Up" filters it to zeros
    decoded = Image.open(io.BytesIO(png_bytes(image)))
    assert decoded.mode == mode and decoded.size == (shape[1], shape[0])
    np.testing.assert_array_equal(np.asarray(decoded), image)


def test_flat_label_images_compress():
    parts = np.zeros((256, 256), np.uint8)
    parts[60:200, 100:140] = 7  # a person-sized block of one part
    assert len(png_bytes(parts)) < 1000  # 64 kB of pixels


@pytest.mark.parametrize(
    "image", [np.zeros((4, 4), np.float32), np.zeros((4, 4, 4), np.uint8), np.zeros((4, 4, 3), np.uint16)]
)
def test_unsupported_images_are_refused(image):
    with pytest.raises(ValueError, match="png_bytes"):
        png_bytes(image)
