"""Tiny pair-reader fixtures written in each dataset's native layout and annotation format.

Images come from ``fake_pair_images.put_image``, so a test can decode from the pixels which files a pair was read from.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

from crocohuman.model.pairs.interhand import InterHand26M
from crocohuman.model.pairs.multiview import AistPlusPlus, HumbiBody, MultiViewFolder
from crocohuman.model.pairs.video import (
    JrdbVideos,
    MarsVideos,
    PennActionVideos,
    PoseTrackVideos,
    ThreeDPWVideos,
    VideoFolder,
)

from fake_pair_images import H, W, put_image, py2_pickle


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
