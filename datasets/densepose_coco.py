"""DensePose-COCO (Güler et al., CVPR 2018): the dense correspondence benchmark of CroCo-Body,
evaluated on single-person crops with the RCP/AUC protocol (paper Sec. 4.1).

Layout [V] facebookresearch/DensePose ``DensePoseData/get_DensePose_COCO.sh``,
``challenge/2019_COCO_DensePose/data_format.md``; detectron2 ``DENSEPOSE_DATASETS.md``::

    <root>/val2014/COCO_val2014_%012d.jpg                (``image_dir``; COCO 2014 images)
    <json_path>                                          densepose_coco_2014_minival.json (COCO
                                                         format; absolute or relative to <root>)

One sample per annotation that has DensePose points (``dp_x``), in file order. Per annotation
[V] data_format.md, detectron2 ``densepose_coco_evaluation.py``:

* ``box``: ``bbox`` [x, y, w, h] -> (x, y, x + w, y + h).
* ``densepose``: points ``x = dp_x * w / 255 + x0``, ``y = dp_y * h / 255 + y0`` (the evaluator's
  /255, not /256), ``i = dp_I`` (int, 1..24), ``u = dp_U``, ``v = dp_V`` (0..1).
* ``mask`` (H, W) bool: the union of the 14 ``dp_masks`` RLEs (256x256 over the box; empty entries
  skipped), resized to the box with bilinear zoom and a 0.5 threshold, pasted at the integer box
  corner and clipped to the image, exactly as detectron2's ``computeDPIoU`` builds GT masks; when an
  annotation has no ``dp_masks``, its COCO ``segmentation`` (polygons or RLE) instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils
from scipy import ndimage

from crocohuman.core.boxes import box_from_xywh
from crocohuman.core.images import read_rgb
from crocohuman.core.layout import as_array, load_json, need, require_dir

from .sample import BenchmarkSample

LAYOUT = """\
  <root>/val2014/<file_name>                         (COCO 2014 val images; image_dir)
  <json_path>: densepose_coco_2014_minival.json      (COCO json with dp_x, dp_y, dp_I, dp_U,
                                                      dp_V, dp_masks per annotation)"""

DP_GRID = 256
"""``dp_masks`` are drawn on a 256x256 grid over the box."""
DP_POINT_SCALE = 255.0
"""``dp_x``/``dp_y`` are scaled so the box spans 0..255 (the official evaluator divides by 255)."""
_POINT_KEYS = ("dp_x", "dp_y", "dp_I", "dp_U", "dp_V")


def densepose_mask(rles: list, box_xywh: tuple[float, float, float, float], height: int, width: int) -> np.ndarray:
    """Person mask (H, W) from the 14 part RLEs of one annotation (detectron2's GT mask)."""
    grid = np.zeros((DP_GRID, DP_GRID), dtype=np.float64)
    for rle in rles[:14]:
        if rle:
            grid[mask_utils.decode(rle) > 0] = 1.0
    x, y, w, h = box_xywh
    zoomed = ndimage.zoom(grid, (max(h, 1) / DP_GRID, max(w, 1) / DP_GRID), order=1, prefilter=False) > 0.5
    image = np.zeros((height, width), dtype=bool)
    x0, y0 = max(int(x), 0), max(int(y), 0)
    x1 = min(int(x + w), width, int(x) + zoomed.shape[1])
    y1 = min(int(y + h), height, int(y) + zoomed.shape[0])
    if x1 > x0 and y1 > y0:
        image[y0:y1, x0:x1] = zoomed[y0 - int(y) : y1 - int(y), x0 - int(x) : x1 - int(x)]
    return image


def segmentation_mask(segmentation, height: int, width: int) -> np.ndarray:
    """COCO ``segmentation`` (polygons, uncompressed or compressed RLE) as an (H, W) bool mask."""
    if isinstance(segmentation, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation, dict) and isinstance(segmentation.get("counts"), list):
        rle = mask_utils.frPyObjects(segmentation, height, width)
    else:
        rle = segmentation
    return mask_utils.decode(rle).astype(bool)


class DensePoseCoco:
    """DensePose-COCO annotations with points, one sample each; see the module docstring."""

    name = "densepose"

    def __init__(
        self,
        root: str | Path,
        json_path: str | Path = "annotations/densepose_coco_2014_minival.json",
        image_dir: str = "val2014",
    ) -> None:
        self.root = require_dir(root, "DensePose-COCO", LAYOUT)
        self.json_path = self.root / json_path  # an absolute json_path replaces the root
        self.image_dir = self.root / image_dir
        data = load_json(self.json_path, "DensePose-COCO", LAYOUT)
        images = {need(image, "id", self.json_path): image for image in need(data, "images", self.json_path)}
        self.annotations = [ann for ann in need(data, "annotations", self.json_path) if "dp_x" in ann]
        for ann in self.annotations:
            for key in ("image_id", "bbox", *_POINT_KEYS):
                need(ann, key, self.json_path)
            if ann["image_id"] not in images:
                raise ValueError(f"{self.json_path}: annotation {ann.get('id')} names unknown image {ann['image_id']}")
        self.images = images

    def __len__(self) -> int:
        return len(self.annotations)

    def __getitem__(self, index: int) -> BenchmarkSample:
        ann = self.annotations[index]
        info = self.images[ann["image_id"]]
        file_name = need(info, "file_name", self.json_path)
        image = read_rgb(self.image_dir / file_name)
        height, width = image.shape[:2]
        x0, y0, x1, y1 = box_from_xywh(ann["bbox"], self.json_path)
        xywh = (x0, y0, x1 - x0, y1 - y0)
        points = {key: as_array(ann[key], (-1,), self.json_path, key, np.float64) for key in _POINT_KEYS}
        if len({len(values) for values in points.values()}) != 1:
            raise ValueError(f"{self.json_path}: annotation {ann.get('id')} has dp_* lists of different lengths")
        if ann.get("dp_masks"):
            mask = densepose_mask(ann["dp_masks"], xywh, height, width)
        elif ann.get("segmentation"):
            mask = segmentation_mask(ann["segmentation"], height, width)
        else:
            mask = None
        return BenchmarkSample(
            image=image,
            box=(x0, y0, x1, y1),
            key=f"densepose:{ann['image_id']}/{ann.get('id', index)}",
            mask=mask,
            densepose={
                "x": (points["dp_x"] * xywh[2] / DP_POINT_SCALE + x0).astype(np.float32),
                "y": (points["dp_y"] * xywh[3] / DP_POINT_SCALE + y0).astype(np.float32),
                "i": np.rint(points["dp_I"]).astype(np.int64),
                "u": points["dp_U"].astype(np.float32),
                "v": points["dp_V"].astype(np.float32),
            },
            meta={"image_id": ann["image_id"], "annotation_id": ann.get("id"), "file_name": file_name},
        )
