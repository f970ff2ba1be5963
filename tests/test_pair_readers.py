"""Pair readers over tiny fixtures written in each dataset's native layout and annotation format.

Every fixture image is one flat colour that encodes where it sits (camera or track, frame, sequence),
so a test can tell from the pixels alone which files a pair was read from.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
from collections import Counter
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import scipy.io
from PIL import Image

from crocohuman.core.boxes import box_from_points, box_from_xywh, clip_box
from crocohuman.core.errors import CorruptSampleError, UnsafePickleError
from crocohuman.core.images import read_rgb
from crocohuman.core.pickles import load_pickle
from crocohuman.model.pairs.captures import CaptureIndex
from crocohuman.model.pairs.frame_files import NumberedImages
from crocohuman.model.pairs.interhand import InterHand26M
from crocohuman.model.pairs.multiview import AistPlusPlus, HumbiBody, MultiViewFolder
from crocohuman.model.pairs.types import RawPair
from crocohuman.model.pairs.video import (
    JrdbVideos,
    MarsVideos,
    PennActionVideos,
    PoseTrackVideos,
    ThreeDPWVideos,
    VideoFolder,
)

W, H = 48, 32


# ------------------------------------------------------------------------------------ fixture kit


def put_image(path: Path, who: int, frame: int, seq: int, size: tuple[int, int] = (W, H)) -> None:
    """A flat image whose colour encodes (who = camera or track, frame position, sequence)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = (20 + 60 * who, 20 + 35 * frame, 20 + 60 * seq)
    Image.new("RGB", size, colour).save(path, quality=95)


def decode(image: np.ndarray) -> tuple[int, int, int]:
    r, g, b = image.reshape(-1, 3).mean(axis=0)
    return round((r - 20) / 60), round((g - 20) / 35), round((b - 20) / 60)


def check_pair(pair: RawPair) -> None:
    for image, box, mask in ((pair.img1, pair.box1, pair.mask1), (pair.img2, pair.box2, pair.mask2)):
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        height, width = image.shape[:2]
        if box is not None:
            x0, y0, x1, y1 = box
            assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, box
        if mask is not None:
            assert mask.shape == (height, width) and mask.dtype == bool


def draw_all(reader, seeds: int = 12) -> list[RawPair]:
    pairs = [reader.get(i, np.random.default_rng(s)) for i in range(len(reader)) for s in range(seeds)]
    for pair in pairs:
        check_pair(pair)
    return pairs


def check_kinds(pairs: list[RawPair]) -> Counter:
    """cross_view: same sequence and frame, two cameras; cross_pose: same camera/track, two frames."""
    for pair in pairs:
        (who1, frame1, seq1), (who2, frame2, seq2) = decode(pair.img1), decode(pair.img2)
        assert seq1 == seq2, pair.source
        if pair.kind == "cross_view":
            assert frame1 == frame2 and who1 != who2, pair.source
        else:
            assert pair.kind == "cross_pose" and who1 == who2 and frame1 != frame2, pair.source
    return Counter(pair.kind for pair in pairs)


class Py2Pickler(pickle._Pickler):
    """Writes what Python 2's cPickle wrote: ``str`` as BINSTRING, numpy under ``numpy.core``."""

    dispatch: ClassVar[dict] = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str

    def save_global(self, obj, name=None) -> None:
        name = name or obj.__qualname__
        module = getattr(obj, "__module__", None) or pickle.whichmodule(obj, name)
        module = module.replace("numpy._core", "numpy.core")
        self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode())
        self.memoize(obj)


def py2_pickle(obj, path: Path) -> None:
    buffer = io.BytesIO()
    Py2Pickler(buffer, protocol=2).dump(obj)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


# -------------------------------------------------------------------------------------- builders


def make_multiview_folder(root: Path) -> MultiViewFolder:
    for cam, name in enumerate(["camA", "camB", "camC"]):
        for k in range(4):
            put_image(root / "seq0" / name / f"{k:06d}.png", cam, k, 0)
        if name == "camA":
            for k in range(4):
                mask = np.zeros((H, W), np.uint8)
                mask[4:20, 10:30] = 255
                Image.fromarray(mask).save(root / "seq0" / name / f"{k:06d}.mask.png")
    for cam in range(2):
        for k in range(3):
            put_image(root / "seq1" / f"cam{cam}" / f"{k:06d}.jpg", cam, k, 1)
    put_image(root / "lonely" / "cam0" / "000000.jpg", 0, 0, 2)  # nothing to pair: dropped
    return MultiViewFolder(root)


AIST_VIDEOS = {"gBR_sBM_c{}_d04_mBR0_ch01": (3, 5), "gJB_sBM_c{}_d07_mJB3_ch05": (2, 3)}


def make_aist(root: Path) -> AistPlusPlus:
    rng = np.random.default_rng(0)
    for seq, (pattern, (views, frames)) in enumerate(AIST_VIDEOS.items()):
        for view in range(1, views + 1):
            for k in range(frames):
                put_image(root / "frames" / pattern.format(f"{view:02d}") / f"{k:08d}.jpg", view, k, seq)
    keypoints = np.concatenate([rng.uniform(8, 28, (9, 5, 17, 2)), rng.uniform(0, 1, (9, 5, 17, 1))], axis=3)
    (root / "keypoints2d").mkdir()
    with open(root / "keypoints2d" / "gBR_sBM_cAll_d04_mBR0_ch01.pkl", "wb") as f:
        pickle.dump({"keypoints2d": keypoints, "det_scores": np.ones((9, 5)), "timestamps": np.arange(5)}, f)
    for k in range(3):  # a listed sequence is skipped
        put_image(root / "frames" / "gLH_sBM_c01_d16_mLH0_ch01" / f"{k:08d}.jpg", 1, k, 2)
    (root / "ignore_list.txt").write_text("gLH_sBM_cAll_d16_mLH0_ch01\n")
    return AistPlusPlus(root)


def make_humbi(root: Path) -> HumbiBody:
    rng = np.random.default_rng(1)
    layout = {1: {1: [0, 4, 24], 11: [0, 4, 24], 21: [0, 24]}, 2: {5: [3, 7], 9: [3, 7]}}
    for seq, (subject, frames) in enumerate(layout.items()):
        body = root / f"subject_{subject}" / "body"
        cameras = sorted({c for cams in frames.values() for c in cams})
        header = ["Numcam: 107", f"numframes: {len(cameras)}", f"numP: {len(cameras)}"]
        intrinsic, extrinsic = list(header), list(header)
        for camera in cameras:
            intrinsic += [f"0 {camera}", "40 0 24", "0 40 16", "0 0 1"]
            extrinsic += [f"0 {camera}", "0 0 -3", "1 0 0", "0 1 0", "0 0 1"]
        body.mkdir(parents=True)
        (body / "intrinsic.txt").write_text("\n".join(intrinsic) + "\n")
        (body / "extrinsic.txt").write_text("\n".join(extrinsic) + "\n")
        for k, (frame, cams) in enumerate(frames.items()):
            for camera in cams:
                put_image(body / f"{frame:08d}" / "image" / f"image{camera:07d}.jpg", cameras.index(camera), k, seq)
            points = rng.uniform(-0.3, 0.3, (25, 3))
            points[3] = 0  # a joint HUMBI did not reconstruct
            (body / f"{frame:08d}" / "reconstruction").mkdir()
            np.savetxt(body / f"{frame:08d}" / "reconstruction" / "keypoints.txt", points)
    return HumbiBody(root)


def pw3d_sequence(n: int, valid: list[list[bool]], seed: int) -> dict:
    """A 3DPW sequence dict as Python 2 wrote it: byte-string keys and names, numpy arrays."""
    rng = np.random.default_rng(seed)
    poses2d = []
    for _ in valid:
        pose = np.empty((n, 3, 18))
        pose[:, 0], pose[:, 1] = rng.uniform(5, 40, (n, 18)), rng.uniform(4, 28, (n, 18))
        pose[:, 2] = rng.uniform(0, 1, (n, 18)) * (rng.uniform(size=(n, 18)) > 0.2)
        poses2d.append(pose)
    return {
        b"sequence": b"seq",
        b"genders": [b"m"] * len(valid),
        b"poses2d": poses2d,
        b"campose_valid": [np.array(v) for v in valid],
        b"betas": [rng.normal(size=10) for _ in valid],
        b"cam_poses": np.tile(np.eye(4), (n, 1, 1)),
        b"cam_intrinsics": np.eye(3),
    }


def make_3dpw(root: Path) -> ThreeDPWVideos:
    sequences = {
        "courtyard_basketball_00": [[True] * 6, [False, True, True, False, True, True]],
        "outdoors_fencing_01": [[True, True, True, True, False]],
    }
    for seq, (name, valid) in enumerate(sequences.items()):
        n = len(valid[0])
        for t in range(n):
            # one image per frame, shared by the actors: who = 0 so both actors decode alike
            put_image(root / "imageFiles" / name / f"image_{t:05d}.jpg", 0, t, seq)
        py2_pickle(pw3d_sequence(n, valid, seq), root / "sequenceFiles" / "train" / f"{name}.pkl")
    return ThreeDPWVideos(root)


def make_posetrack(root: Path) -> PoseTrackVideos:
    for seq, (name, frames) in enumerate({"000001_bonn_train": 6, "000002_mpii_train": 4}.items()):
        images, annotations = [], []
        for k in range(frames):
            put_image(root / "images" / "train" / name / f"{k:06d}.jpg", 0, k, seq)
            image_id = int(f"1{seq:05d}{k:04d}")
            images.append(
                {
                    "id": image_id,
                    "file_name": f"images/train/{name}/{k:06d}.jpg",
                    "frame_id": image_id,
                    "vid_id": name[:6],
                    "is_labeled": True,
                    "nframes": frames,
                }
            )
            keypoints = [[10 + j, 5 + j, 1] for j in range(17)]
            annotations.append(
                {
                    "image_id": image_id,
                    "track_id": 0,
                    "bbox": [30, 4, 25, 20],  # past the edge
                    "keypoints": [value for point in keypoints for value in point],
                    "id": len(annotations),
                }
            )
            if seq == 0 and 1 <= k <= 4:  # a second person, keypoints only
                annotations.append(
                    {
                        "image_id": image_id,
                        "track_id": 1,
                        "keypoints": [value for point in keypoints for value in point],
                        "id": len(annotations),
                    }
                )
            if k == 0:  # too small to keep
                annotations.append(
                    {
                        "image_id": image_id,
                        "track_id": 2,
                        "bbox": [1, 1, 2, 2],
                        "keypoints": [0] * 51,
                        "id": len(annotations),
                    }
                )
        folder = root / "posetrack_data" / "annotations" / "train"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.json").write_text(
            json.dumps({"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "person"}]})
        )
    return PoseTrackVideos(root, min_box_height=4)


PENN_BOX = [3.0, 2.0, 40.0, 30.0]


def make_penn(root: Path) -> PennActionVideos:
    rng = np.random.default_rng(2)
    for seq, frames in enumerate([5, 4]):
        vid = f"{seq + 1:04d}"
        for t in range(1, frames + 1):
            put_image(root / "frames" / vid / f"{t:06d}.jpg", 0, t - 1, seq)
        (root / "labels").mkdir(exist_ok=True)
        scipy.io.savemat(
            root / "labels" / f"{vid}.mat",
            {
                "action": "tennis_serve",
                "pose": "back",
                "train": 1,
                "nframes": frames,
                "dimensions": [H, W, frames],
                "x": rng.uniform(5, 40, (frames, 13)),
                "y": rng.uniform(4, 28, (frames, 13)),
                "visibility": np.ones((frames, 13), dtype=np.uint8),
                "bbox": np.tile(PENN_BOX, (frames - 1, 1)),
            },
        )
    return PennActionVideos(root)


JRDB_BOX = [10, 2, 12, 26]


def make_jrdb(root: Path) -> JrdbVideos:
    for seq, name in enumerate(["bytes-cafe-2019-02-07_0", "gates-ai-lab-2019-02-08_0"]):
        labels = {}
        for k in range(5):
            put_image(root / "images" / "image_stitched" / name / f"{k:06d}.jpg", 0, k, seq, size=(64, 32))
            people = [
                {"label_id": "pedestrian:1", "box": JRDB_BOX, "attributes": {"occlusion": "Fully_visible", "area": 312}}
            ]
            if seq == 0 and k in (0, 2, 3):
                people.append(
                    {
                        "label_id": "pedestrian:7",
                        "box": [40, 0, 10, 30],
                        "attributes": {"occlusion": "Severely_occluded" if k else "Fully_occluded"},
                    }
                )
            labels[f"{k:06d}.jpg"] = people
        (root / "labels" / "labels_2d_stitched").mkdir(parents=True, exist_ok=True)
        (root / "labels" / "labels_2d_stitched" / f"{name}.json").write_text(json.dumps({"labels": labels}))
    return JrdbVideos(root, min_box_height=8)


def make_mars(root: Path) -> MarsVideos:
    tracklets = [("0001", 1, 1, 5), ("0001", 2, 2, 3), ("0003", 1, 1, 4)]
    for who, (pid, cam, track, frames) in enumerate(tracklets):
        for f in range(1, frames + 1):
            put_image(root / "bbox_train" / pid / f"{pid}C{cam}T{track:04d}F{f:03d}.jpg", who, f - 1, 0, size=(16, 32))
    for f in range(1, 3):  # distractors are not people
        put_image(root / "bbox_train" / "0000" / f"0000C1T0001F{f:03d}.jpg", 3, f, 0)
    return MarsVideos(root)


def make_video_folder(root: Path) -> VideoFolder:
    for k in range(6):  # unpadded names
        put_image(root / "clip0" / f"{k}.png", 0, k, 0)
        Image.fromarray(np.full((H, W), 255, np.uint8)).save(root / "clip0" / f"{k}.mask.png")
    for k in range(5):
        put_image(root / "clip1" / f"{10 + k:06d}.jpg", 0, k, 1)
    return VideoFolder(root)


INTERHAND_BOX = [4.0, 3.0, 20.0, 10.0]


def make_interhand(root: Path) -> InterHand26M:
    images, annotations = [], []
    layout = [
        (0, "ROM03_RT_No_Occlusion", [400262, 400263, 400264], range(100, 105)),
        (1, "0051_dinosaur", [400262, 400284], range(300, 303)),
        (1, "0052_single_camera", [400262], range(400, 403)),
    ]  # no cross-view: dropped
    for seq, (capture, name, cameras, frames) in enumerate(layout):
        for cam, camera in enumerate(cameras):
            for k, frame in enumerate(frames):
                file_name = f"Capture{capture}/{name}/cam{camera}/image{frame}.jpg"
                put_image(root / "images" / "train" / file_name, cam, k, seq)
                image_id = len(images)
                images.append(
                    {
                        "id": image_id,
                        "file_name": file_name,
                        "width": W,
                        "height": H,
                        "capture": capture,
                        "seq_name": name,
                        "camera": str(camera),
                        "frame_idx": frame,
                    }
                )
                if (cam, k) != (0, 4):  # one image without annotation
                    annotations.append(
                        {
                            "id": image_id,
                            "image_id": image_id,
                            "bbox": INTERHAND_BOX,
                            "joint_valid": [[1]] * 42,
                            "hand_type": "right",
                            "hand_type_valid": 1,
                        }
                    )
    folder = root / "annotations" / "train"
    folder.mkdir(parents=True)
    (folder / "InterHand2.6M_train_data.json").write_text(json.dumps({"images": images, "annotations": annotations}))
    return InterHand26M(root)


BUILDERS = {
    "multiview": make_multiview_folder,
    "aist": make_aist,
    "humbi": make_humbi,
    "3dpw": make_3dpw,
    "posetrack": make_posetrack,
    "pennaction": make_penn,
    "jrdb": make_jrdb,
    "mars": make_mars,
    "video": make_video_folder,
    "interhand": make_interhand,
}
CLASSES = {
    "multiview": MultiViewFolder,
    "aist": AistPlusPlus,
    "humbi": HumbiBody,
    "3dpw": ThreeDPWVideos,
    "posetrack": PoseTrackVideos,
    "pennaction": PennActionVideos,
    "jrdb": JrdbVideos,
    "mars": MarsVideos,
    "video": VideoFolder,
    "interhand": InterHand26M,
}
LENGTHS = {
    "multiview": 2,
    "aist": 2,
    "humbi": 2,
    "3dpw": 3,
    "posetrack": 3,
    "pennaction": 2,
    "jrdb": 3,
    "mars": 3,
    "video": 2,
    "interhand": 4,
}


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


# ----------------------------------------------------------------------------------------- video


def test_video_gap_bounds_the_frame_distance(tmp_path):
    make_video_folder(tmp_path)
    reader = VideoFolder(tmp_path, max_gap=1)
    for pair in draw_all(reader, seeds=30):
        assert abs(decode(pair.img1)[1] - decode(pair.img2)[1]) == 1
    assert all(p.mask1 is not None for p in draw_all(reader) if decode(p.img1)[2] == 0)


def test_3dpw_tracks_use_valid_frames_and_pose_boxes(tmp_path):
    reader = make_3dpw(tmp_path)
    for pair in draw_all(reader, seeds=40):
        assert pair.box1 is not None and pair.box2 is not None
        if pair.source.startswith("3dpw:courtyard_basketball_00#1 "):
            assert {decode(pair.img1)[1], decode(pair.img2)[1]} <= {1, 2, 4, 5}
        if pair.source.startswith("3dpw:outdoors_fencing_01#0 "):
            assert 4 not in {decode(pair.img1)[1], decode(pair.img2)[1]}


def test_3dpw_pickle_with_a_foreign_global_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    make_3dpw(tmp_path / "ok")
    bad = tmp_path / "ok" / "sequenceFiles" / "train" / "courtyard_basketball_00.pkl"
    with open(bad, "wb") as f:
        pickle.dump({"poses2d": Exploit()}, f, protocol=2)
    with pytest.raises(UnsafePickleError, match=r"refusing global (posix|nt)\.system") as error:
        ThreeDPWVideos(tmp_path / "ok")
    assert str(bad) in str(error.value) and not marker.exists()


def test_restricted_unpickler_reads_python2_numpy_pickles(tmp_path):
    py2_pickle({b"a": np.arange(6, dtype=np.float32).reshape(2, 3), b"names": [b"m", b"f"]}, tmp_path / "x.pkl")
    assert b"numpy.core.multiarray" in (tmp_path / "x.pkl").read_bytes()
    data = load_pickle(tmp_path / "x.pkl")
    assert data["names"] == ["m", "f"] and np.array_equal(data["a"], np.arange(6).reshape(2, 3))
    (tmp_path / "cut.pkl").write_bytes((tmp_path / "x.pkl").read_bytes()[:40])
    with pytest.raises(CorruptSampleError, match=r"cut\.pkl"):
        load_pickle(tmp_path / "cut.pkl")


def test_posetrack_tracks_boxes_and_clipping(tmp_path):
    pairs = draw_all(make_posetrack(tmp_path))
    first = [p for p in pairs if "#0 " in p.source]
    assert first and all(p.box1 == (30.0, 4.0, float(W), 24.0) for p in first)  # clipped at the edge
    second = [p for p in pairs if p.source.startswith("posetrack:000001_bonn_train#1 ")]
    assert second and all(p.box1 is not None and {decode(p.img1)[1], decode(p.img2)[1]} <= {1, 2, 3, 4} for p in second)
    assert not any("#2 " in p.source for p in pairs)


def test_pennaction_boxes_fall_back_to_joints(tmp_path):
    reader = make_penn(tmp_path)
    for pair in draw_all(reader, seeds=30):
        for image, box in ((pair.img1, pair.box1), (pair.img2, pair.box2)):
            frame, seq = decode(image)[1], decode(image)[2]
            last = frame == [5, 4][seq] - 1
            assert box is not None and (box != tuple(PENN_BOX)) == last


def test_jrdb_and_mars_tracks(tmp_path):
    jrdb = draw_all(make_jrdb(tmp_path / "jrdb"), seeds=20)
    assert all(p.box1 == (10.0, 2.0, 22.0, 28.0) for p in jrdb if "pedestrian:1" in p.source)
    occluded = [p for p in jrdb if "pedestrian:7" in p.source]
    assert occluded and all(0 not in (decode(p.img1)[1], decode(p.img2)[1]) for p in occluded)
    mars = draw_all(make_mars(tmp_path / "mars"))
    assert {p.source.split()[0] for p in mars} == {"mars:0001C1T0001", "mars:0001C2T0002", "mars:0003C1T0001"}
    assert all(p.box1 == (0.0, 0.0, 16.0, 32.0) for p in mars)


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
