"""Hand benchmark readers (FreiHAND, HaGRID, GUN-71, InterHand2.6M) over tiny native-layout fixtures.

Every fixture holds a value whose target is worked out by hand in the test (a camera-frame joint,
a pixel box, a label), so a reader that reads the right file but the wrong convention fails.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crocohuman.datasets.few_shot import few_shot_indices
from crocohuman.datasets.freihand import FreiHand
from crocohuman.datasets.gun71 import Gun71
from crocohuman.datasets.hagrid import GESTURES, HaGrid
from crocohuman.datasets.interhand_crops import InterHandCrops

from fake_benchmark_checks import ROT_X180, check_sample, cut_in_half
from fake_benchmarks import H, W, make_freihand, make_gun71, make_hagrid_v1, put_jpeg, put_json

# ------------------------------------------------------------------------------------- FreiHAND


def test_freihand_evaluation_targets(tmp_path):
    make_freihand(tmp_path, "evaluation", 2, 2)
    dataset = FreiHand(tmp_path)
    assert len(dataset) == 2
    sample = dataset[0]
    check_sample(sample)
    assert sample.joints3d.shape == (21, 3) and sample.vertices.shape == (778, 3)
    # (0.1, -0.05, 0.5) with f = 100, c = (32, 24): u = 100 * 0.2 + 32 = 52, v = 100 * -0.1 + 24 = 14
    np.testing.assert_allclose(sample.joints2d[0], [52.0, 14.0, 1.0], atol=1e-4)
    params = sample.body_params
    assert params["hand_pose"].shape == (45,) and params["betas"][0] == pytest.approx(0.48)
    assert params["uv_root"] == pytest.approx([0.58, 0.59]) and params["scale"] == pytest.approx([0.6])
    assert sample.meta["bone_scale"] == pytest.approx(0.03)


def test_freihand_training_versions_share_annotations(tmp_path):
    make_freihand(tmp_path, "training", 2, 8)
    dataset = FreiHand(tmp_path, "training")
    assert len(dataset) == 8
    sample = dataset[5]  # version 2 (sample), annotation 1, image 1 + 2 * 2
    assert sample.meta == {"version": "sample", "annotation_index": 1, "image_id": 5, "bone_scale": pytest.approx(0.03)}
    np.testing.assert_array_equal(sample.joints3d, dataset[1].joints3d)
    assert len(FreiHand(tmp_path, "training", versions=("gs",))) == 2
    with pytest.raises(ValueError, match="versions"):
        FreiHand(tmp_path, "evaluation", versions=("hom",))


def test_freihand_wrong_length_names_the_file(tmp_path):
    make_freihand(tmp_path, "evaluation", 2, 2)
    put_json(tmp_path / "evaluation_xyz.json", [[[0, 0, 1]] * 21])
    with pytest.raises(ValueError, match=r"evaluation_xyz\.json"):
        FreiHand(tmp_path)


# ---------------------------------------------------------------------------------------- HaGRID


def test_hagrid_v1_boxes_labels_and_no_gesture_option(tmp_path):
    make_hagrid_v1(tmp_path)
    dataset = HaGrid(tmp_path, "test")
    assert dataset.version == 1 and len(dataset) == 3
    assert dataset.labels.tolist() == [4, 4, 7]  # like (img_a, img_b sorted), one
    sample = dataset[1]
    check_sample(sample)
    # [0.25, 0.5, 0.5, 0.25] on 64 x 32: (16, 16, 48, 24)
    assert sample.box == pytest.approx((16.0, 16.0, 48.0, 24.0)) and sample.label == 4
    assert sample.meta["leading_hand"] == "right" and sample.joints2d is None
    assert dataset[0].joints2d[0].tolist() == [32.0, 16.0, 1.0]
    with_none = HaGrid(tmp_path, "test", include_no_gesture=True)
    assert len(with_none) == 4 and with_none.labels.tolist().count(18) == 1 and with_none.classes[18] == "no_gesture"


def test_hagrid_v2_layout_skips_unknown_gestures(tmp_path):
    for gesture in GESTURES:
        put_json(tmp_path / "hagrid_annotations" / "test" / f"{gesture}.json", {})
    put_json(
        tmp_path / "hagrid_annotations" / "test" / "peace.json",
        {
            "p1": {
                "bboxes": [[0.5, 0.25, 0.25, 0.5], [0.1, 0.1, 0.1, 0.1]],
                "labels": ["peace", "hand_heart"],
                "united_bbox": [None, None],
                "united_label": [None, None],
                "user_id": "u",
                "hand_landmarks": [[[0.5, 0.5]] * 21, []],
                "meta": {"age": [30]},
            }
        },
    )
    put_jpeg(tmp_path / "hagrid_dataset" / "peace" / "p1.jpg", size=(64, 32))
    dataset = HaGrid(tmp_path)
    assert dataset.version == 2 and len(dataset) == 1
    sample = dataset[0]
    assert sample.label == GESTURES.index("peace") and sample.box == pytest.approx((32.0, 8.0, 48.0, 24.0))
    assert sample.joints2d.shape == (21, 3)


def test_hagrid_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="hagrid_annotations"):
        HaGrid(tmp_path)
    make_hagrid_v1(tmp_path)
    (tmp_path / "ann_test" / "rock.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"rock\.json"):
        HaGrid(tmp_path)
    make_hagrid_v1(tmp_path)
    put_json(tmp_path / "ann_test" / "ok.json", {"x": {"bboxes": [[0, 0, 1, 1]]}})
    with pytest.raises(ValueError, match=r"ok\.json.*'labels'"):
        HaGrid(tmp_path)
    make_hagrid_v1(tmp_path)
    cut_in_half(tmp_path / "test" / "one" / "img_c.jpg")
    with pytest.raises(ValueError, match=r"img_c\.jpg"):
        HaGrid(tmp_path)[2]


def test_few_shot_indices_exact_deterministic_nested(tmp_path):
    for g, gesture in enumerate(GESTURES):
        put_json(
            tmp_path / "hagrid_annotations" / "train" / f"{gesture}.json",
            {f"{gesture}_{k}": {"bboxes": [[0.1, 0.1, 0.2, 0.2]], "labels": [gesture]} for k in range(6 + g % 3)},
        )
    dataset = HaGrid(tmp_path, "train")
    picks = few_shot_indices(dataset, 4, seed=0)
    counts = np.bincount(dataset.labels[picks], minlength=18)
    assert counts.tolist() == [4] * 18 and len(set(picks)) == len(picks) == 72
    assert picks == few_shot_indices(dataset, 4, seed=0)
    assert picks != few_shot_indices(dataset, 4, seed=1)
    assert set(few_shot_indices(dataset, 2, seed=0)) <= set(picks)
    with pytest.raises(ValueError, match="fewer than 7"):
        few_shot_indices(dataset, 7, seed=0)


# ---------------------------------------------------------------------------------------- GUN-71


def test_gun71_protocols_and_labels(tmp_path):
    make_gun71(tmp_path)
    best = Gun71(tmp_path, "best_view", "test")
    assert len(best) == 1 and best.skipped == 1  # g40 is outside the 33 classes
    sample = best[0]
    check_sample(sample)
    assert sample.label == 3 and sample.meta["grasp_id"] == 4 and sample.box == (0.0, 0.0, float(W), float(H))
    everything = Gun71(tmp_path, "all", "test")
    assert len(everything) == 2 and everything[1].box == (1.0, 2.0, 30.0, 40.0)
    assert Gun71(tmp_path, "all", "train")[0].label == 4


def test_gun71_needs_the_protocol_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"(?s)gun71_protocol\.json.*\"classes\""):
        Gun71(tmp_path)
    path = make_gun71(tmp_path)
    put_json(path, {"classes": [1, 2, 3], "samples": []})
    with pytest.raises(ValueError, match="33 distinct"):
        Gun71(tmp_path)


# ---------------------------------------------------------------------------------- InterHand2.6M


def interhand_annotations(drop_bbox: bool) -> tuple[list[dict], list[dict]]:
    """One test image and its right, left and interacting hand annotations, as the data json holds them."""
    images = [
        {
            "id": 7,
            "file_name": "Capture0/ROM04_LT_Occlusion/cam400262/image0100.jpg",
            "width": W,
            "height": H,
            "capture": 0,
            "seq_name": "ROM04_LT_Occlusion",
            "camera": "400262",
            "frame_idx": 100,
        }
    ]
    valid = [[1]] * 42
    valid[41] = [0]  # left root missing: the whole left hand is invalid
    annotations = [
        {
            "id": 1,
            "image_id": 7,
            "bbox": [10, 10, 20, 20],
            "joint_valid": valid,
            "hand_type": hand,
            "hand_type_valid": 1,
        }
        for hand in ("right", "left", "interacting")
    ]
    if drop_bbox:
        del annotations[0]["bbox"]
    return images, annotations


def put_interhand_cameras_and_joints(folder: Path) -> None:
    """The camera, 3D joint and MANO files of capture 0, frame 100, seen by camera 400262."""
    put_json(
        folder / "InterHand2.6M_test_camera.json",
        {
            "0": {
                "campos": {"400262": [100.0, 200.0, 1000.0]},
                "camrot": {"400262": ROT_X180.tolist()},
                "focal": {"400262": [500.0, 600.0]},
                "princpt": {"400262": [32.0, 24.0]},
            }
        },
    )
    world = np.full((42, 3), [100.0, 200.0, 0.0])
    world[:20, 0] += np.arange(20)  # right fingers off the root, still in front of the camera
    put_json(
        folder / "InterHand2.6M_test_joint_3d.json",
        {
            "0": {
                "100": {
                    "world_coord": world.tolist(),
                    "joint_valid": [1] * 42,
                    "hand_type": "interacting",
                    "hand_type_valid": 1,
                }
            }
        },
    )
    put_json(
        folder / "InterHand2.6M_test_MANO_NeuralAnnot.json",
        {"0": {"100": {"right": {"pose": [0.0] * 48, "shape": [0.5] * 10, "trans": [0.1, 0.2, 0.0]}, "left": None}}},
    )


def make_interhand(root: Path, drop_bbox: bool = False) -> None:
    folder = root / "annotations" / "test"
    images, annotations = interhand_annotations(drop_bbox)
    put_json(folder / "InterHand2.6M_test_data.json", {"images": images, "annotations": annotations})
    put_interhand_cameras_and_joints(folder)
    put_jpeg(root / "images" / "test" / images[0]["file_name"])


def test_interhand_single_hands_in_camera_metres(tmp_path):
    make_interhand(tmp_path)
    dataset = InterHandCrops(tmp_path, "test")
    assert len(dataset) == 2  # right, left; the interacting annotation is not a single hand
    right, left = dataset[0], dataset[1]
    check_sample(right)
    # root (100, 200, 0) mm, camera at (100, 200, 1000), R = 180 deg about x: R (0, 0, -1000) / 1000 = (0, 0, 1)
    np.testing.assert_allclose(right.joints3d[20], [0.0, 0.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(right.joints2d[20], [32.0, 24.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(right.joints2d[1, 0], 32.0 + 500.0 * 0.001, atol=1e-6)  # joint 1: 1 mm along x
    assert right.box == (10.0, 10.0, 30.0, 30.0) and right.intrinsics[1, 1] == 600.0
    np.testing.assert_allclose(right.body_params["global_orient"], [np.pi, 0, 0], atol=1e-6)
    assert right.body_params["hand_pose"].shape == (45,) and right.body_params["betas"].shape == (10,)
    assert left.body_params == {} and not left.joints2d[:, 2].any()


def test_interhand_missing_key_names_file_and_key(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"InterHand2\.6M_test_data\.json"):
        InterHandCrops(tmp_path)
    make_interhand(tmp_path, drop_bbox=True)
    with pytest.raises(ValueError, match=r"InterHand2\.6M_test_data\.json.*'bbox'"):
        InterHandCrops(tmp_path)
