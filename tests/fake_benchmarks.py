"""Tiny benchmark folders in their native layouts, shared by the reader and fine-tuning tests."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from crocohuman.eval.datasets.hagrid import GESTURES

W, H = 64, 48
GESTURE_COLOURS = {"like": (200, 60, 40), "one": (40, 80, 200)}  # so a classifier can tell them apart


def put_jpeg(path: Path, size: tuple[int, int] = (W, H), colour: tuple[int, int, int] = (90, 120, 150)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, quality=90)


def put_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def make_hagrid_v1(root: Path) -> None:
    for gesture in GESTURES:
        put_json(root / "ann_test" / f"{gesture}.json", {})
    put_json(root / "ann_test" / "like.json", {
        "img_b": {"bboxes": [[0.25, 0.5, 0.5, 0.25]], "labels": ["like"], "leading_hand": "right",
                  "leading_conf": 1.0, "user_id": "u2", "landmarks": [[]]},
        "img_a": {"bboxes": [[0.0, 0.0, 0.1, 0.1], [0.5, 0.5, 0.25, 0.25]], "labels": ["no_gesture", "like"],
                  "leading_hand": "left", "leading_conf": 1.0, "user_id": "u1",
                  "landmarks": [[], [[0.5, 0.5]] * 21]}})
    put_json(root / "ann_test" / "one.json", {
        "img_c": {"bboxes": [[0.1, 0.1, 0.2, 0.2]], "labels": ["one"], "leading_hand": "right",
                  "leading_conf": 1.0, "user_id": "u3"}})
    for folder, key in (("like", "img_a"), ("like", "img_b"), ("one", "img_c")):
        put_jpeg(root / "test" / folder / f"{key}.jpg", size=(64, 32), colour=GESTURE_COLOURS[folder])


def make_gun71(root: Path) -> Path:
    images = {"Subject1/kitchen/g04_0001.jpg": ("test", True), "Subject1/kitchen/g04_0002.jpg": ("test", False),
              "Subject2/office/g40_0001.jpg": ("test", True), "Subject3/home/g05_0001.jpg": ("train", True)}
    for image in images:
        put_jpeg(root / image)
    samples = [{"image": image, "split": split, "best_view": best} for image, (split, best) in images.items()]
    samples[1]["box"] = [1, 2, 30, 40]
    path = root / "gun71_protocol.json"
    put_json(path, {"classes": list(range(1, 34)), "samples": samples})
    return path


def make_hagrid_balanced(root: Path, per_class: int, split_folder: str = "test") -> None:
    """HaGRID v1 with ``per_class`` one-hand images of every gesture, each gesture its own colour."""
    for label, gesture in enumerate(GESTURES):
        records = {}
        for k in range(per_class):
            key = f"{gesture}_{k}"
            records[key] = {"bboxes": [[0.25, 0.25, 0.5, 0.5]], "labels": [gesture], "leading_hand": "right",
                            "leading_conf": 1.0, "user_id": f"u{k}"}
            colour = ((37 * label) % 256, (91 * label) % 256, (53 * label + 40) % 256)
            put_jpeg(root / split_folder / gesture / f"{key}.jpg", size=(64, 64), colour=colour)
        put_json(root / f"ann_{split_folder}" / f"{gesture}.json", records)
