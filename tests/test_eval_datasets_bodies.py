"""Body benchmark readers (3DPW, EFT-COCO, DensePose-COCO, synthetic takes) over tiny native-layout fixtures.

Every fixture holds a value whose target is worked out by hand in the test (a camera-frame joint,
a DensePose point, a pixel box), so a reader that reads the right file but the wrong convention fails.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from crocohuman.core.errors import UnsafePickleError
from crocohuman.core.pickles import load_pickle
from crocohuman.datasets.densepose_coco import DensePoseCoco
from crocohuman.datasets.eft_coco import EftCoco
from crocohuman.datasets.synthetic import SyntheticTakes
from crocohuman.datasets.threedpw import ThreeDPW

from fake_benchmark_checks import check_sample, cut_in_half
from fake_benchmarks import PW3D_TRANSLATION, H, W, make_3dpw, make_densepose, put_jpeg, put_json, pw3d_record

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
