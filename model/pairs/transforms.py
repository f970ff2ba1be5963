"""From a raw pair to network input: person-centred square crops, colour jitter, ImageNet normalisation.

Each image of a pair is cropped and jittered on its own (official CroCo's ``crop224+acolor``
crops and colours the two images independently), but around the person rather than at a random
spot: the person is what the pretraining is about. All randomness comes from the ``rng`` given,
so a pair's tensors are a function of the caller's seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from crocohuman.core.boxes import Box
from crocohuman.model.pairs.types import RawPair

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MEAN_FILL = tuple(round(255 * m) for m in IMAGENET_MEAN)  # padding past the border: normalises to ~0
KIND_CODES = {"cross_view": 0, "cross_pose": 1, "single": 2}
_GREY = np.array([0.2989, 0.587, 0.114], np.float32)  # ITU-R 601 luma, as torchvision's rgb_to_grayscale


@dataclass
class PairTransform:
    """Crop and colour settings; the defaults follow official CroCo at 224 pixels."""

    size: int = 224
    scale: tuple[float, float] = (1.1, 1.6)  # crop side = longer side of the person box x uniform(scale)
    jitter: float = 0.1  # crop centre shift, uniform in +-jitter x crop side along each axis
    colour: tuple[float, float] = (0.6, 1.4)  # brightness, contrast, saturation factors; hue untouched
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def apply(self, raw: RawPair, rng: np.random.Generator) -> dict:
        """Tensors for the network: img1/img2 [3, size, size] float32, mask1/mask2 [size, size] bool."""
        out = {}
        for i, (image, mask, box) in enumerate([(raw.img1, raw.mask1, raw.box1), (raw.img2, raw.mask2, raw.box2)], 1):
            crop = self.crop_box(image.shape[:2], _person_box(mask, box), rng)
            pixels = crop_resize(Image.fromarray(image), crop, self.size, self._fill)
            colour = np.asarray(pixels, np.float32) / 255.0
            out[f"img{i}"] = normalise(self._jitter(colour, rng), self.mean, self.std)
            if mask is None:
                out[f"mask{i}"] = torch.zeros(self.size, self.size, dtype=torch.bool)
            else:
                resized = crop_resize(Image.fromarray(mask.astype(np.uint8) * 255), crop, self.size, 0)
                out[f"mask{i}"] = torch.from_numpy(np.asarray(resized) >= 128)
            out[f"has_mask{i}"] = torch.tensor(mask is not None)
        out["kind"] = KIND_CODES[raw.kind]
        out["source"] = raw.source
        return out

    def crop_box(self, shape: tuple[int, int], person: Box | None, rng: np.random.Generator) -> Box:
        """A square (x0, y0, x1, y1) around the person, scaled and shifted at random; it may leave the image."""
        height, width = shape
        if person is None:
            side = min(height, width)
            return ((width - side) / 2, (height - side) / 2, (width + side) / 2, (height + side) / 2)
        x0, y0, x1, y1 = person
        side = max(x1 - x0, y1 - y0) * rng.uniform(*self.scale)
        cx, cy = np.array([x0 + x1, y0 + y1]) / 2 + side * rng.uniform(-self.jitter, self.jitter, size=2)
        return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)

    @property
    def _fill(self) -> tuple[int, int, int]:
        """Padding past the image border: the mean colour, which normalises to about zero."""
        return tuple(round(255 * m) for m in self.mean)

    def _jitter(self, colour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """torchvision ColorJitter(b, c, s, hue=0): three factors, applied in a random order."""
        factors = rng.uniform(*self.colour, size=3).tolist()
        for op in rng.permutation(3):
            if op == 0:
                blend = 0.0  # brightness: towards black
            elif op == 1:
                blend = float((colour @ _GREY).mean())  # contrast: towards the mean grey level
            else:
                blend = (colour @ _GREY)[..., None]  # saturation: towards the grey image
            colour = np.clip(blend + factors[op] * (colour - blend), 0.0, 1.0)
        return colour


def normalise(
    colour: np.ndarray, mean: tuple[float, float, float] = IMAGENET_MEAN, std: tuple[float, float, float] = IMAGENET_STD
) -> torch.Tensor:
    """(H, W, 3) floats in [0, 1] to the network's normalised [3, H, W] tensor."""
    tensor = torch.from_numpy(np.ascontiguousarray(colour, np.float32)).permute(2, 0, 1)
    return (tensor - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]


def denormalize(
    tensor: torch.Tensor,
    mean: tuple[float, float, float] = IMAGENET_MEAN,
    std: tuple[float, float, float] = IMAGENET_STD,
) -> np.ndarray:
    """Normalised [..., 3, H, W] back to uint8 [..., H, W, 3], for looking at inputs and predictions."""
    tensor = tensor.detach().float().cpu()
    colour = tensor * torch.tensor(std)[:, None, None] + torch.tensor(mean)[:, None, None]
    return (colour.clamp(0, 1) * 255).round().to(torch.uint8).movedim(-3, -1).numpy()


def _person_box(mask: np.ndarray | None, box: Box | None) -> Box | None:
    """The best person location a source gave: the mask's bounding box, else its box, else none."""
    if mask is not None and mask.any():
        rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
        return (float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1))
    if box is not None and box[2] > box[0] and box[3] > box[1]:
        return tuple(float(v) for v in box)
    return None


def crop_resize(
    image: Image.Image,
    box: Box,
    size: int,
    fill: int | tuple[int, ...],
    resample: Image.Resampling = Image.Resampling.BILINEAR,
) -> Image.Image:
    """Crop ``box`` (float pixels, maybe past the border, padded with ``fill``) and resize it
    (bilinear, antialiased; NEAREST keeps label maps exact)."""
    x0, y0, x1, y1 = box
    left, top = math.floor(x0), math.floor(y0)
    canvas = Image.new(image.mode, (math.ceil(x1) - left, math.ceil(y1) - top), fill)
    inside = (max(left, 0), max(top, 0), min(math.ceil(x1), image.width), min(math.ceil(y1), image.height))
    if inside[0] < inside[2] and inside[1] < inside[3]:
        canvas.paste(image.crop(inside), (inside[0] - left, inside[1] - top))
    return canvas.resize((size, size), resample, box=(x0 - left, y0 - top, x1 - left, y1 - top))
