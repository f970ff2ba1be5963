"""GUN-71 grasp classification (Rogez, Supančič, Ramanan, ICCV 2015), CroCo-Hand's grasp benchmark:
the 33-class grasp taxonomy of Feix et al. with the 'Best View' and 'All' protocols of [62]
(paper Sec. 4.1, Table 2).

What is verified [V] (a public GUN-71 loader): the release has ``Subject1..Subject8`` folders with
egocentric RGB ``.jpg`` (and unaligned depth ``.png``) images found recursively; the GUN-71 grasp
id of an image is ``int(file_name[1:3])`` (1-based, up to 73, ids 51 and 62 unused: 71 grasps).
What is NOT verifiable from public sources [U]: which 33 GUN-71 grasps form the Feix subset, which
images are the 'best view', and the train/test split used by the paper. Those are therefore
configuration: the user supplies a protocol file (``annotations``, default
``<root>/gun71_protocol.json``; the CLI's ``--annotations``) in this format::

    {
      "classes": [1, 2, 4, ...],            33 GUN-71 grasp ids; label = position in this list
      "class_names": ["Large Diameter", ...],   optional, same length
      "samples": [
        {"image": "Subject1/.../xxx.jpg",    path relative to <root>
         "split": "test",                   any split name; the reader keeps ``split``
         "best_view": true,                 in the 'Best View' subset
         "grasp": 4,                        optional; default int(file_name[1:3])
         "box": [x0, y0, x1, y1]},          optional hand box in pixels; default the whole image
        ...
      ]
    }

``protocol='best_view'`` keeps the samples of the split with ``best_view`` true, ``'all'`` every
sample of the split. Samples whose grasp is not one of the 33 classes are skipped (count in
``skipped``), so the file may list the whole release. Order: the file's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crocohuman.core.boxes import Box
from crocohuman.core.images import read_rgb
from crocohuman.core.layout import as_array, load_json, need, require_dir

from .sample import BenchmarkSample

NUM_CLASSES = 33
PROTOCOLS = ("best_view", "all")

LAYOUT = """\
  <root>/Subject1..Subject8/**/<image>.jpg          (GUN-71 release)
  <annotations>: protocol json (default <root>/gun71_protocol.json) with
    {"classes": [33 GUN-71 grasp ids], "samples": [{"image", "split", "best_view",
     "grasp" (optional), "box" (optional)}, ...]}"""


@dataclass(frozen=True)
class _Sample:
    image: str
    label: int
    grasp: int
    best_view: bool
    box: Box | None


def grasp_from_name(image: str, source: Path) -> int:
    """GUN-71 grasp id encoded in a file name, ``int(name[1:3])`` (e.g. ``g04_...jpg`` -> 4)."""
    name = Path(image).name
    try:
        return int(name[1:3])
    except ValueError:
        raise ValueError(
            f"{source}: sample {image!r} has no 'grasp' and its file name does not encode "
            "one (expected a name like 'g04_...jpg')"
        ) from None


class Gun71:
    """GUN-71 images of one split under one protocol, labels 0..32; see the module docstring."""

    name = "gun71"

    def __init__(
        self, root: str | Path, protocol: str = "best_view", split: str = "test", annotations: str | Path | None = None
    ) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"GUN-71 protocol must be one of {PROTOCOLS}, not {protocol!r}")
        self.root = require_dir(root, "GUN-71", LAYOUT)
        self.protocol, self.split = protocol, split
        self.annotations = Path(annotations) if annotations is not None else self.root / "gun71_protocol.json"
        config = load_json(self.annotations, "GUN-71 protocol", LAYOUT)
        grasp_ids = [int(g) for g in need(config, "classes", self.annotations)]
        if len(set(grasp_ids)) != NUM_CLASSES or len(grasp_ids) != NUM_CLASSES:
            raise ValueError(
                f"{self.annotations}: 'classes' must list {NUM_CLASSES} distinct grasp ids, "
                f"found {len(grasp_ids)} ({len(set(grasp_ids))} distinct)"
            )
        self.grasp_ids = grasp_ids
        self.classes = [str(n) for n in config.get("class_names", [f"grasp{g:02d}" for g in grasp_ids])]
        if len(self.classes) != NUM_CLASSES:
            raise ValueError(f"{self.annotations}: 'class_names' must have {NUM_CLASSES} entries")
        label_of = {g: i for i, g in enumerate(grasp_ids)}
        self._samples: list[_Sample] = []
        self.skipped = 0
        for record in need(config, "samples", self.annotations):
            image = str(need(record, "image", self.annotations))
            if str(need(record, "split", self.annotations)) != split:
                continue
            best_view = bool(need(record, "best_view", self.annotations))
            if protocol == "best_view" and not best_view:
                continue
            grasp = int(record["grasp"]) if "grasp" in record else grasp_from_name(image, self.annotations)
            if grasp not in label_of:
                self.skipped += 1
                continue
            box = record.get("box")
            self._samples.append(
                _Sample(
                    image=image,
                    label=label_of[grasp],
                    grasp=grasp,
                    best_view=best_view,
                    box=None if box is None else tuple(float(v) for v in as_array(box, (4,), self.annotations, "box")),
                )
            )
        self.labels = np.array([s.label for s in self._samples], dtype=np.int64)

    def __len__(self) -> int:
        return len(self._samples)

    def __getitem__(self, index: int) -> BenchmarkSample:
        sample = self._samples[index]
        image = read_rgb(self.root / sample.image)
        height, width = image.shape[:2]
        return BenchmarkSample(
            image=image,
            box=sample.box or (0.0, 0.0, float(width), float(height)),
            key=f"gun71:{self.split}/{sample.image}",
            label=sample.label,
            meta={"grasp_id": sample.grasp, "best_view": sample.best_view, "protocol": self.protocol},
        )
