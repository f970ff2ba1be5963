"""A contact sheet of a few takes, so a person can judge a dataset at a glance."""

from __future__ import annotations

import colorsys
import io

import numpy as np
from PIL import Image, ImageDraw

from crocohuman.core.conventions import HAND_KEYPOINT_PARENTS, MANO_TIPS, SMPL_PARENTS
from crocohuman.core.take import Take

PART_COLORS = np.array(
    [[0, 0, 0]] + [[int(255 * c) for c in colorsys.hsv_to_rgb((i * 0.382) % 1.0, 0.75, 1.0)] for i in range(24)],
    dtype=np.uint8,
)


def draw_skeleton(image: np.ndarray, joints2d: np.ndarray, color=(255, 255, 0)) -> np.ndarray:
    """The SMPL skeleton drawn over an image (a copy)."""
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    for joint, parent in enumerate(SMPL_PARENTS):
        if parent >= 0:
            draw.line([tuple(joints2d[parent]), tuple(joints2d[joint])], fill=color, width=1)
    for x, y in joints2d:
        draw.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=(255, 40, 40))
    return np.asarray(canvas)


# One colour per finger, thumb to pinky (red to magenta), as FreiHAND's and InterHand2.6M's drawings do.
FINGER_COLORS = [tuple(int(255 * c) for c in colorsys.hsv_to_rgb(i / 6, 0.9, 1.0)) for i in range(len(MANO_TIPS))]


def draw_hands(image: np.ndarray, hands2d: np.ndarray) -> np.ndarray:
    """Both hands' 21 keypoints (2, 21, 2) drawn over an image (a copy): each finger's bones in its colour."""
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    for keypoints in hands2d:
        for joint, parent in enumerate(HAND_KEYPOINT_PARENTS):
            if parent >= 0:
                color = FINGER_COLORS[(joint - 1) // 4]
                draw.line([tuple(keypoints[parent]), tuple(keypoints[joint])], fill=color, width=1)
        for x, y in keypoints:
            draw.ellipse([x - 1, y - 1, x + 1, y + 1], fill=(255, 255, 255))
    return np.asarray(canvas)


def overlay_parts(image: np.ndarray, parts: np.ndarray, alpha: float = 0.6) -> np.ndarray:
    colored = PART_COLORS[parts].astype(np.float32)
    mixed = image.astype(np.float32) * (1 - alpha) + colored * alpha
    return np.where(parts[..., None] > 0, mixed, image * 0.5).astype(np.uint8)


def take_rows(take: Take) -> list[list[np.ndarray]]:
    """Rows for one take: all views with joints (the hands' in a hand-focused set), part overlays, IUV,
    then view 0 over time."""
    views = range(take.rgb.shape[1])
    hands = "framed_hands" in take.meta
    rows = [
        [
            draw_hands(take.rgb[0, v], take.hand_joints2d[0, v])
            if hands
            else draw_skeleton(take.rgb[0, v], take.joints2d[0, v])
            for v in views
        ],
        [overlay_parts(take.rgb[0, v], take.parts[0, v]) for v in views],
        [take.iuv[0, v] for v in views],
    ]
    if take.rgb.shape[0] > 1:
        rows.append([take.rgb[t, 0] for t in range(take.rgb.shape[0])])
    return rows


def contact_sheet(takes: list[Take], gap: int = 4) -> bytes:
    """A PNG grid, for each take its rows from ``take_rows``; the same takes always give the same bytes."""
    rows = [row for take in takes for row in take_rows(take)]
    height, width = rows[0][0].shape[:2]
    columns = max(len(row) for row in rows)
    sheet = np.full((len(rows) * (height + gap), columns * (width + gap), 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            y, x = r * (height + gap), c * (width + gap)
            sheet[y : y + height, x : x + width] = image
    buffer = io.BytesIO()
    Image.fromarray(sheet).save(buffer, format="PNG")
    return buffer.getvalue()
