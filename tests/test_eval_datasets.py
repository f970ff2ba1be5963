"""Benchmark readers over tiny fixtures written in each dataset's native layout and file format.

Every fixture holds a value whose target is worked out by hand in the test (a camera-frame joint,
a DensePose point, a pixel box), so a reader that reads the right file but the wrong convention fails.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from crocohuman.core.boxes import box_from_mask, box_from_points
from crocohuman.core.errors import UnsafePickleError
from crocohuman.core.images import read_rgb
from crocohuman.core.pickles import load_pickle
from crocohuman.datasets import BENCHMARKS, open_benchmark
from crocohuman.datasets.densepose_coco import DensePoseCoco
from crocohuman.datasets.eft_coco import EftCoco
from crocohuman.datasets.few_shot import few_shot_indices
from crocohuman.datasets.freihand import FreiHand
from crocohuman.datasets.gun71 import Gun71
from crocohuman.datasets.hagrid import GESTURES, HaGrid
from crocohuman.datasets.interhand_crops import InterHandCrops
from crocohuman.datasets.sample import BenchmarkSample
from crocohuman.datasets.synthetic import SyntheticTakes
from crocohuman.datasets.threedpw import ThreeDPW

from fake_benchmarks import (
    PW3D_TRANSLATION,
    H,
    W,
    make_3dpw,
    make_densepose,
    make_freihand,
    make_gun71,
    make_hagrid_v1,
    put_jpeg,
    put_json,
    pw3d_record,
)

ROT_X180 = np.diag([1.0, -1.0, -1.0])  # 180 degrees about x


# ------------------------------------------------------------------------------------ fixture kit


def cut_in_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def check_sample(sample: BenchmarkSample) -> None:
    assert sample.image.dtype == np.uint8 and sample.image.ndim == 3 and sample.image.shape[2] == 3
    x0, y0, x1, y1 = sample.box
    assert x0 < x1 and y0 < y1
    assert isinstance(sample.key, str) and ":" in sample.key


# ------------------------------------------------------------------------------------------ 3DPW


def test_3dpw_valid_frames_of_both_actors_in_camera_frame(tmp_path):
    make_3dpw(tmp_path)
    dataset = ThreeDPW(tmp_path, "test")
    assert len(dataset) == 4  # actor 0 frames 0, 1; actor 1 frames 1, 2
    keys = [dataset[i].key for i in range(len(dataset))]
    assert keys == [
        "3dpw:downtown_test_00/actor0/frame00000",
        "3dpw:downtown_test_00/actor0/frame00001",
        "3dpw:downtown_test_00/actor1/frame00001",
        "3dpw:downtown_test_00/actor1/frame00002",
    ]
    sample = dataset[0]
    check_sample(sample)
    assert sample.joints3d.shape == (24, 3) and sample.joints2d.shape == (18, 3)
    # R = 90 deg about z, X = (1, 2, 3): R X + t = (-2, 1, 3) + (0.1, -0.2, 3) = (-1.9, 0.8, 6.0)
    np.testing.assert_allclose(sample.joints3d[0], [-1.9, 0.8, 6.0], atol=1e-6)
    np.testing.assert_allclose(sample.body_params["global_orient"], [0, 0, np.pi / 2], atol=1e-6)
    assert sample.body_params["body_pose"].shape == (69,) and sample.body_params["betas"].shape == (10,)
    assert str(sample.body_params["gender"]) == "male" and str(dataset[2].body_params["gender"]) == "female"
    np.testing.assert_allclose(sample.body_params["world_to_camera"][:3, 3], PW3D_TRANSLATION, atol=1e-6)
    # confident joints span x 10..30, y 20..30 (side 20): grown by 0.1 * 20 = 2 on every side
    assert sample.box == pytest.approx((8.0, 18.0, 32.0, 32.0))
    assert sample.intrinsics.shape == (3, 3) and sample.vertices is None
    # f = 50, c = (32, 24), depth 5: u = 32 -+ 5, v = 24 -+ 2.5; side 10, grown by 1
    assert dataset[3].box == pytest.approx((26.0, 20.5, 38.0, 27.5))


def test_3dpw_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="sequenceFiles"):
        ThreeDPW(tmp_path / "nowhere")
    record = pw3d_record()
    del record["cam_poses"]
    path = make_3dpw(tmp_path, record)
    with pytest.raises(ValueError, match=r"downtown_test_00\.pkl.*'cam_poses'"):
        ThreeDPW(tmp_path)
    path.write_bytes(b"\x80\x02cos\nsystem\nU\x04echo\x85R.")
    with pytest.raises(ValueError, match=r"downtown_test_00\.pkl.*os\.system") as error:
        ThreeDPW(tmp_path)
    assert isinstance(error.value, UnsafePickleError)


def test_3dpw_corrupt_image_names_it(tmp_path):
    make_3dpw(tmp_path)
    cut_in_half(tmp_path / "imageFiles" / "downtown_test_00" / "image_00001.jpg")
    dataset = ThreeDPW(tmp_path)
    dataset[0]
    with pytest.raises(ValueError, match=r"image_00001\.jpg"):
        dataset[1]


def test_restricted_pickle_reads_python3_pickles_and_refuses_callables(tmp_path):
    path = tmp_path / "py3.pkl"
    data = {"a": np.arange(4.0), "s": {1, 2}, "b": b"\x00\xff", "n": np.float32(2.5)}
    for protocol in (2, 4):
        path.write_bytes(pickle.dumps(data, protocol=protocol))
        loaded = load_pickle(path)
        np.testing.assert_array_equal(loaded["a"], data["a"])
        assert loaded["s"] == {1, 2} and loaded["b"] == b"\x00\xff" and loaded["n"] == 2.5
    path.write_bytes(pickle.dumps(Path("x")))
    with pytest.raises(UnsafePickleError, match="pathlib"):
        load_pickle(path)
    path.write_bytes(pickle.dumps(data)[:20])
    with pytest.raises(ValueError, match=r"py3\.pkl"):
        load_pickle(path)


# ------------------------------------------------------------------------------------------ EFT


def eft_fit(index: int) -> dict:
    pose = np.tile(np.eye(3), (24, 1, 1))
    pose[0] = [[1, 0, 0], [0, 0, -1], [0, 1, 0]]  # 90 degrees about x
    return {
        "parm_pose": pose.tolist(),
        "parm_shape": [0.1 * index] * 10,
        "parm_cam": [0.9, 0.01, -0.02],
        "bbox_scale": 0.1,
        "bbox_center": [32.0, 24.0],
        "imageName": f"train2014/COCO_train2014_{index:012d}.jpg",
        "annotId": 1000 + index,
        "gt_keypoint_2d": np.ones((49, 3)).tolist(),
        "joint_validity_openpose18": [1] * 18,
        "smpltype": "smpl",
    }


def make_eft(root: Path, fits: list[dict] | None = None) -> Path:
    fits = fits if fits is not None else [eft_fit(1), eft_fit(2)]
    for fit in fits:
        put_jpeg(root / "train2014" / Path(fit.get("imageName", "x.jpg")).name)
    put_json(root / "COCO2014-Part-ver01.json", {"ver": 1, "data": fits})
    return root / "COCO2014-Part-ver01.json"


def test_eft_coco_fits_as_axis_angle_and_spin_boxes(tmp_path):
    make_eft(tmp_path)
    dataset = EftCoco(tmp_path, "COCO2014-Part-ver01.json")
    assert len(dataset) == 2
    sample = dataset[1]
    check_sample(sample)
    assert sample.key == "eft-coco:1002"
    np.testing.assert_allclose(sample.body_params["global_orient"], [np.pi / 2, 0, 0], atol=1e-6)
    np.testing.assert_allclose(sample.body_params["body_pose"], np.zeros(69), atol=1e-6)
    assert sample.body_params["pose_rotmat"].shape == (24, 3, 3)
    np.testing.assert_allclose(sample.body_params["betas"], [0.2] * 10, atol=1e-6)
    assert sample.box == pytest.approx((22.0, 14.0, 42.0, 34.0))  # 200 * 0.1 = 20 px square around (32, 24)
    assert sample.joints2d.shape == (49, 3)


def test_eft_coco_missing_json_or_key(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"COCO2014-All-ver01\.json.*expected layout"):
        EftCoco(tmp_path, "COCO2014-All-ver01.json")
    fit = eft_fit(1)
    del fit["parm_pose"]
    make_eft(tmp_path, [fit])
    with pytest.raises(ValueError, match=r"COCO2014-Part-ver01\.json.*'parm_pose'"):
        EftCoco(tmp_path)


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


# -------------------------------------------------------------------------------- DensePose-COCO


def test_densepose_points_and_masks(tmp_path):
    make_densepose(tmp_path)
    dataset = DensePoseCoco(tmp_path)
    assert len(dataset) == 2  # the annotation without dp_x is left out
    sample = dataset[0]
    check_sample(sample)
    assert sample.box == (10.0, 5.0, 40.0, 45.0)
    # x = dp_x * w / 255 + x0 with w = 30, x0 = 10; y = dp_y * h / 255 + y0 with h = 40, y0 = 5
    np.testing.assert_allclose(sample.densepose["x"], [10.0, 40.0, 25.0], atol=1e-5)
    np.testing.assert_allclose(sample.densepose["y"], [5.0, 45.0, 13.0], atol=1e-5)
    assert sample.densepose["i"].tolist() == [1, 2, 24]
    np.testing.assert_allclose(sample.densepose["v"], [0.2, 0.4, 0.6], atol=1e-6)
    # the torso RLE covers the left half of the box: columns 10..24, rows 5..44
    assert sample.mask.shape == (H, W) and sample.mask.dtype == bool
    assert sample.mask[5:45, 10:24].all() and not sample.mask[:, 26:].any() and not sample.mask[:5].any()
    polygon = dataset[1].mask
    assert polygon[3:11, 3:11].all() and polygon.sum() < 150


def test_densepose_missing_key_names_file_and_key(tmp_path):
    make_densepose(tmp_path, drop="dp_I")
    with pytest.raises(ValueError, match=r"densepose_coco_2014_minival\.json.*'dp_I'"):
        DensePoseCoco(tmp_path)


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


def make_interhand(root: Path, drop_bbox: bool = False) -> None:
    folder = root / "annotations" / "test"
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
    put_json(folder / "InterHand2.6M_test_data.json", {"images": images, "annotations": annotations})
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


# ------------------------------------------------------------------------------- synthetic takes


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    from crocohuman.render.camera_rig import RigConfig
    from crocohuman.render.config import RenderConfig
    from crocohuman.render.pipeline import run

    output = tmp_path_factory.mktemp("synthetic") / "data"
    run(
        RenderConfig(
            output=output,
            takes=2,
            takes_per_shard=2,
            frames=2,
            width=64,
            height=64,
            rig=RigConfig(views=2),
            texture_size=128,
        )
    )
    return output


def test_synthetic_takes_targets(rendered):
    dataset = SyntheticTakes(rendered)
    assert len(dataset) == 8  # 2 takes x 2 frames x 2 views
    for index in (7, 0, 3):  # backwards and forwards through the shard
        sample = dataset[index]
        check_sample(sample)
        t, v = sample.meta["t"], sample.meta["v"]
        assert (index // 2 % 2, index % 2) == (t, v)
        assert sample.joints3d.shape == (24, 3) and sample.joints2d.shape == (24, 3)
        uvw = sample.joints3d @ sample.intrinsics.T  # camera-frame joints reproject onto the stored 2D joints
        np.testing.assert_allclose(uvw[:, :2] / uvw[:, 2:], sample.joints2d[:, :2], atol=1e-2)
        assert sample.mask.shape == (64, 64) and sample.mask.any()
        assert sample.parts.shape == (64, 64) and sample.iuv.shape == (64, 64, 3)
        rows, cols = np.nonzero(sample.mask)
        x0, y0, x1, y1 = sample.box
        assert x0 <= cols.min() and cols.max() < x1 and y0 <= rows.min() and rows.max() < y1
        assert sample.body_params["global_orient"].shape == (3,)
        assert sample.body_params["body_pose"].shape == (21, 3)
        assert sample.body_params["ground_offset"].shape == (3,) and sample.body_params["gender"].shape == ()
    assert len(pickle.loads(pickle.dumps(dataset))) == 8
    subset = SyntheticTakes(rendered, frames=[1], views=[0, 5])
    assert len(subset) == 2 and {subset[i].meta["t"] for i in range(2)} == {1}


# -------------------------------------------------------------------------- registry and helpers


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_missing_root_names_path_and_layout(name, tmp_path):
    missing = tmp_path / "not-downloaded"
    with pytest.raises(FileNotFoundError) as error:
        open_benchmark(name, missing)
    assert str(missing) in str(error.value) and "expected layout" in str(error.value)


def test_open_benchmark_and_unknown_name(tmp_path):
    make_3dpw(tmp_path)
    assert len(open_benchmark("3dpw", tmp_path, split="test")) == 4
    with pytest.raises(ValueError, match="known: 3dpw"):
        open_benchmark("h36m", tmp_path)


def test_image_and_box_helpers(tmp_path):
    put_jpeg(tmp_path / "a.jpg")
    assert read_rgb(tmp_path / "a.jpg").shape == (H, W, 3)
    (tmp_path / "b.jpg").write_bytes(b"not an image")
    with pytest.raises(ValueError, match=r"b\.jpg"):
        read_rgb(tmp_path / "b.jpg")
    with pytest.raises(FileNotFoundError, match=r"c\.jpg"):
        read_rgb(tmp_path / "c.jpg")
    assert box_from_points(np.array([[0, 0], [10, 5], [99, 99]]), [1, 1, 0], 0.1) == (-1.0, -1.0, 11.0, 6.0)
    assert box_from_points(np.array([[3, 3], [3, 3]]), None, 0.1) is None
    mask = np.zeros((10, 10), bool)
    mask[2:4, 5:9] = True
    assert box_from_mask(mask, 0.0) == (5.0, 2.0, 9.0, 4.0) and box_from_mask(np.zeros((4, 4), bool), 0.1) is None
