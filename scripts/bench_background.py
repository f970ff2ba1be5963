"""Time the 2-D background sources at one size, on one core: ms per image.

The image-folder source reads a temporary folder of COCO-sized (640x480) JPEGs made here, so
the number includes decoding. Usage: python scripts/bench_background.py [--size 256] [--n 300]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core, as in a data-loader worker; before numpy loads

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from crocohuman.render.background import BackgroundSampler, ImageFolderBackgrounds, ProceduralBackgrounds


def ms_per_image(source: BackgroundSampler, size: int, n: int) -> float:
    """Mean wall time per ``sample`` after a short warm-up (caches, lazy imports)."""
    for seed in range(10):
        source.sample(np.random.default_rng(seed), size, size)
    rngs = [np.random.default_rng(1000 + i) for i in range(n)]
    start = time.perf_counter()
    for rng in rngs:
        source.sample(rng, size, size)
    return (time.perf_counter() - start) / n * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(20):
            photo = ProceduralBackgrounds().sample(np.random.default_rng(i), 480, 640)
            Image.fromarray(photo).save(Path(tmp) / f"{i:03d}.jpg", quality=90)
        sources = {"procedural": ProceduralBackgrounds(), "images (640x480 jpg)": ImageFolderBackgrounds(tmp)}
        print(f"{'source':<24}{'ms/image':>10}   ({args.size}x{args.size}, n={args.n}, 1 thread)")
        for name, source in sources.items():
            print(f"{name:<24}{ms_per_image(source, args.size, args.n):>10.2f}")


if __name__ == "__main__":
    main()
