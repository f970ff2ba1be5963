"""Tiny benchmark folders in their native layouts, shared by the reader and fine-tuning tests."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils
from scipy.io import savemat

from crocohuman.datasets.hagrid import GESTURES
from crocohuman.model.train_config import TrainConfig

from fake_smpl import fake_model_arrays

W, H = 64, 48
ROT_Z90 = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # 90 degrees about z
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
    put_json(
        root / "ann_test" / "like.json",
        {
            "img_b": {
                "bboxes": [[0.25, 0.5, 0.5, 0.25]],
                "labels": ["like"],
                "leading_hand": "right",
                "leading_conf": 1.0,
                "user_id": "u2",
                "landmarks": [[]],
            },
            "img_a": {
                "bboxes": [[0.0, 0.0, 0.1, 0.1], [0.5, 0.5, 0.25, 0.25]],
                "labels": ["no_gesture", "like"],
                "leading_hand": "left",
                "leading_conf": 1.0,
                "user_id": "u1",
                "landmarks": [[], [[0.5, 0.5]] * 21],
            },
        },
    )
    put_json(
        root / "ann_test" / "one.json",
        {
            "img_c": {
                "bboxes": [[0.1, 0.1, 0.2, 0.2]],
                "labels": ["one"],
                "leading_hand": "right",
                "leading_conf": 1.0,
                "user_id": "u3",
            }
        },
    )
    for folder, key in (("like", "img_a"), ("like", "img_b"), ("one", "img_c")):
        put_jpeg(root / "test" / folder / f"{key}.jpg", size=(64, 32), colour=GESTURE_COLOURS[folder])


def make_gun71(root: Path) -> Path:
    images = {
        "Subject1/kitchen/g04_0001.jpg": ("test", True),
        "Subject1/kitchen/g04_0002.jpg": ("test", False),
        "Subject2/office/g40_0001.jpg": ("test", True),
        "Subject3/home/g05_0001.jpg": ("train", True),
    }
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
            records[key] = {
                "bboxes": [[0.25, 0.25, 0.5, 0.5]],
                "labels": [gesture],
                "leading_hand": "right",
                "leading_conf": 1.0,
                "user_id": f"u{k}",
            }
            colour = ((37 * label) % 256, (91 * label) % 256, (53 * label + 40) % 256)
            put_jpeg(root / split_folder / gesture / f"{key}.jpg", size=(64, 64), colour=colour)
        put_json(root / f"ann_{split_folder}" / f"{gesture}.json", records)


FREI_K = [[100.0, 0.0, 32.0], [0.0, 100.0, 24.0], [0.0, 0.0, 1.0]]


def make_freihand(
    root: Path,
    split: str,
    count: int,
    images: int,
    xyz: np.ndarray | None = None,
    verts: np.ndarray | None = None,
    mano: np.ndarray | None = None,
) -> None:
    """A FreiHAND v2 split of ``count`` annotations (K, xyz, verts, mano [1 x 61], scale) and
    ``images`` images (training: 4 versions x count); annotations not given are made up."""
    rng = np.random.default_rng(1)
    if xyz is None:
        xyz = rng.uniform(-0.05, 0.05, (count, 21, 3)) + np.array([0, 0, 0.5])
        xyz[0, 0] = [0.1, -0.05, 0.5]
    if verts is None:
        verts = rng.normal(size=(count, 778, 3))
    if mano is None:
        mano = np.tile(np.arange(61) / 100, (count, 1))
    put_json(root / f"{split}_K.json", [FREI_K] * count)
    put_json(root / f"{split}_xyz.json", np.asarray(xyz).tolist())
    put_json(root / f"{split}_verts.json", np.asarray(verts).tolist())
    put_json(root / f"{split}_mano.json", [[list(row)] for row in np.asarray(mano, np.float64)])
    put_json(root / f"{split}_scale.json", [0.03] * count)
    for image_id in range(images):
        put_jpeg(root / split / "rgb" / f"{image_id:08d}.jpg")


def py2_pickle(obj) -> bytes:
    """Protocol-2 bytes as Python 2's cPickle wrote them: ``str`` as (SHORT_)BINSTRING, numpy arrays
    via ``numpy.core.multiarray._reconstruct`` with their buffer as a py2 ``str`` (3DPW's files)."""
    out = bytearray(b"\x80\x02")

    def global_(module: str, name: str) -> None:
        out.extend(b"c" + f"{module}\n{name}\n".encode())

    def emit(o) -> None:
        if o is None:
            out.extend(b"N")
        elif isinstance(o, bool):
            out.extend(b"\x88" if o else b"\x89")
        elif isinstance(o, int):
            out.extend(b"J" + struct.pack("<i", o))
        elif isinstance(o, float):
            out.extend(b"G" + struct.pack(">d", o))
        elif isinstance(o, (str, bytes)):
            data = o.encode("latin1") if isinstance(o, str) else o
            out.extend(b"U" + bytes([len(data)]) if len(data) < 256 else b"T" + struct.pack("<I", len(data)))
            out.extend(data)
        elif isinstance(o, tuple):
            out.extend(b"(")
            for item in o:
                emit(item)
            out.extend(b"t")
        elif isinstance(o, list):
            out.extend(b"](")
            for item in o:
                emit(item)
            out.extend(b"e")
        elif isinstance(o, dict):
            out.extend(b"}(")
            for key, value in o.items():
                emit(key)
                emit(value)
            out.extend(b"u")
        elif isinstance(o, np.ndarray):
            global_("numpy.core.multiarray", "_reconstruct")
            out.extend(b"(")
            global_("numpy", "ndarray")
            emit((0,))
            emit(b"b")
            out.extend(b"tR(")
            emit(1)
            emit(tuple(int(n) for n in o.shape))
            global_("numpy", "dtype")
            emit((o.dtype.str[1:], 0, 1))
            out.extend(b"R")
            emit((3, o.dtype.str[0], None, None, None, -1, -1, 0))
            out.extend(b"b")
            emit(False)
            emit(np.ascontiguousarray(o).tobytes())
            out.extend(b"tb")
        else:
            raise TypeError(type(o))

    emit(obj)
    return bytes(out + b".")


PW3D_T = 3
PW3D_TRANSLATION = np.array([0.1, -0.2, 3.0])


def pw3d_record() -> dict:
    """One sequence, two actors, three frames, with every key of the 3DPW readme."""
    rng = np.random.default_rng(0)
    cam_poses = np.tile(np.eye(4), (PW3D_T, 1, 1))
    cam_poses[:, :3, :3] = ROT_Z90
    cam_poses[:, :3, 3] = PW3D_TRANSLATION
    joints = rng.uniform(-1, 1, (2, PW3D_T, 24, 3))
    joints[0, 0, 0] = [1.0, 2.0, 3.0]
    poses = rng.uniform(-0.3, 0.3, (2, PW3D_T, 72))
    poses[:, :, :3] = 0.0
    poses2d = np.zeros((2, PW3D_T, 3, 18))
    poses2d[:, :, 0] = rng.uniform(10, 50, (2, PW3D_T, 18))
    poses2d[:, :, 1] = rng.uniform(10, 40, (2, PW3D_T, 18))
    poses2d[:, :, 2] = 0.8
    poses2d[0, 0, 0] = [10.0, 30.0] + [20.0] * 15 + [55.0]  # x: confident joints span 10..30
    poses2d[0, 0, 1] = [20.0, 30.0] + [25.0] * 15 + [45.0]  # y: 20..30
    poses2d[0, 0, 2] = [0.9] * 17 + [0.0]  # joint 17, far outside, is not confident: must not count
    poses2d[1, 2, 2] = 0.0  # no confident 2D joint: the box comes from the projected 3D joints
    camera_points = np.tile([0.0, 0.0, 5.0], (24, 1))
    camera_points[:2] = [[-0.5, -0.25, 5.0], [0.5, 0.25, 5.0]]
    joints[1, 2] = (camera_points - PW3D_TRANSLATION) @ ROT_Z90  # R^T (x - t), row vectors
    return {
        "sequence": "downtown_test_00",
        "genders": ["m", "f"],
        "betas": [rng.normal(size=10), rng.normal(size=10)],
        "betas_clothed": [rng.normal(size=10), rng.normal(size=10)],
        "poses": [poses[0], poses[1]],
        "trans": [rng.normal(size=(PW3D_T, 3)) for _ in range(2)],
        "poses_60Hz": [rng.normal(size=(2 * PW3D_T, 72)) for _ in range(2)],
        "trans_60Hz": [rng.normal(size=(2 * PW3D_T, 3)) for _ in range(2)],
        "jointPositions": [joints[0].reshape(PW3D_T, 72), joints[1].reshape(PW3D_T, 72)],
        "poses2d": [poses2d[0], poses2d[1]],
        "v_template_clothed": [rng.normal(size=(6890, 3)) for _ in range(2)],
        "texture_maps": [np.zeros((4, 4, 3), np.uint8) for _ in range(2)],
        "img_frame_ids": np.arange(PW3D_T),
        "cam_poses": cam_poses,
        "cam_intrinsics": np.array([[50.0, 0, 32], [0, 50.0, 24], [0, 0, 1]]),
        "campose_valid": [np.array([1, 1, 0]), np.array([0, 1, 1])],
    }


def make_3dpw(root: Path, record: dict | None = None) -> Path:
    record = record or pw3d_record()
    path = root / "sequenceFiles" / "test" / "downtown_test_00.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(py2_pickle(record))
    for t in range(PW3D_T):
        put_jpeg(root / "imageFiles" / "downtown_test_00" / f"image_{t:05d}.jpg")
    return path


# ------------------------------------------------------------------------ DensePose-COCO


def dp_masks() -> list:
    """14 part RLEs on the 256 grid: torso = the left half, the rest empty."""
    torso = np.zeros((256, 256), np.uint8, order="F")
    torso[:, :128] = 1
    rle = mask_utils.encode(torso)
    rle["counts"] = rle["counts"].decode()
    return [rle] + [[] for _ in range(13)]


def make_densepose(root: Path, drop: str | None = None) -> None:
    with_points = {
        "id": 11,
        "image_id": 1,
        "category_id": 1,
        "iscrowd": 0,
        "area": 1200.0,
        "bbox": [10, 5, 30, 40],
        "dp_x": [0.0, 255.0, 127.5],
        "dp_y": [0.0, 255.0, 51.0],
        "dp_I": [1.0, 2.0, 24.0],
        "dp_U": [0.1, 0.5, 0.9],
        "dp_V": [0.2, 0.4, 0.6],
        "dp_masks": dp_masks(),
        "segmentation": [[10, 5, 40, 5, 40, 45, 10, 45]],
    }
    no_points = {"id": 12, "image_id": 1, "category_id": 1, "iscrowd": 0, "bbox": [0, 0, 5, 5], "segmentation": []}
    polygon_only = {**with_points, "id": 13, "dp_masks": [], "segmentation": [[2, 2, 12, 2, 12, 12, 2, 12]]}
    if drop:
        del with_points[drop]
    put_json(
        root / "annotations" / "densepose_coco_2014_minival.json",
        {
            "images": [{"id": 1, "file_name": "COCO_val2014_000000000001.jpg", "width": W, "height": H}],
            "annotations": [with_points, no_points, polygon_only],
            "categories": [{"id": 1, "name": "person"}],
        },
    )
    put_jpeg(root / "val2014" / "COCO_val2014_000000000001.jpg")


def make_densepose_assets(folder: Path, vertices: int = 12, per_part: int = 3) -> np.ndarray:
    """DensePose's evaluation assets in their layout (SMPL_subdiv.mat, SMPL_SUBDIV_TRANSFORM.mat,
    Pdist_matrix.pkl) for a made-up surface: ``per_part`` subdivided vertices on each of the 24
    parts, mapped onto ``vertices`` points whose Euclidean distances (m) stand in for geodesics.
    Returns the square distance matrix."""
    import pickle

    rng = np.random.default_rng(3)
    folder.mkdir(parents=True, exist_ok=True)
    points = rng.normal(size=(vertices, 3))
    square = np.linalg.norm(points[:, None] - points[None], axis=-1)
    condensed = np.array([square[b, a] for b in range(vertices) for a in range(b)], np.float32)[:, None]
    parts = np.repeat(np.arange(1, 25), per_part)
    uv = rng.uniform(size=(len(parts), 2))
    savemat(
        folder / "SMPL_subdiv.mat",
        {"U_subdiv": uv[:, :1], "V_subdiv": uv[:, 1:], "Part_ID_subdiv": parts[:, None].astype(np.float64)},
    )
    transform = rng.integers(1, vertices + 1, size=len(parts))
    savemat(folder / "SMPL_SUBDIV_TRANSFORM.mat", {"index": transform[:, None].astype(np.float64)})
    (folder / "Pdist_matrix.pkl").write_bytes(pickle.dumps({"Pdist_matrix": condensed}, protocol=4))
    return square


# ------------------------------------------------------------------ rendered takes, checkpoints

TINY = {
    "img_size": 64,
    "patch_size": 8,
    "enc_embed_dim": 64,
    "enc_depth": 4,
    "enc_num_heads": 2,
    "dec_embed_dim": 32,
    "dec_depth": 2,
    "dec_num_heads": 2,
}


def render_takes(root: Path) -> Path:
    """Two tiny rendered sets, ``train`` and ``test``: 2 takes x 2 frames x 2 views of 64 px."""
    from crocohuman.render.camera_rig import RigConfig
    from crocohuman.render.config import RenderConfig
    from crocohuman.render.pipeline import run as render

    for name, seed in (("train", 5), ("test", 6)):
        render(
            RenderConfig(
                output=root / name,
                takes=2,
                takes_per_shard=2,
                frames=2,
                width=64,
                height=64,
                rig=RigConfig(views=2),
                texture_size=128,
                seed=seed,
                preview_takes=1,
            )
        )
    return root


def config_for(out_dir, task, benchmark, root, **finetune) -> TrainConfig:
    """A 6-step fine-tuning run of a tiny backbone on the CPU."""
    return TrainConfig(
        out_dir=str(out_dir),
        model="croco-v2-base-small",
        model_overrides=TINY,
        image_size=64,
        batch_size=4,
        num_workers=0,
        device="cpu",
        grid_every=0,
        ckpt_every=5,
        log_every=1,
        optim={"base_lr": 2e-2, "warmup_steps": 1, "schedule_steps": 6, "max_steps": 6},
        finetune={"task": task, "benchmark": benchmark, "root": str(root), **finetune},
    )


def write_full_size_fake_smpl(folder, vertices: int = 6890) -> None:
    """Fake SMPL files of every gender with SMPL's real vertex count (the H36M regressor's width):
    the small fake humanoid, padded with unused vertices."""
    arrays = fake_model_arrays("smpl")
    pad = vertices - len(arrays["v_template"])
    padded = {
        **arrays,
        "v_template": np.concatenate([arrays["v_template"], np.repeat(arrays["v_template"][:1], pad, 0)]),
        "shapedirs": np.concatenate([arrays["shapedirs"], np.zeros((pad, *arrays["shapedirs"].shape[1:]))]),
        "posedirs": np.concatenate([arrays["posedirs"], np.zeros((pad, *arrays["posedirs"].shape[1:]))]),
        "J_regressor": np.concatenate([arrays["J_regressor"], np.zeros((24, pad))], 1),
        "weights": np.concatenate([arrays["weights"], np.repeat(arrays["weights"][:1], pad, 0)]),
    }
    folder.mkdir(parents=True)
    for gender in ("NEUTRAL", "MALE", "FEMALE"):
        np.savez(folder / f"SMPL_{gender}.npz", **padded)
