"""Video pair readers (folder, 3DPW, PoseTrack, Penn Action, JRDB, MARS) over their native-layout fixtures."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from crocohuman.core.errors import CorruptSampleError, UnsafePickleError
from crocohuman.core.pickles import load_pickle
from crocohuman.model.pairs.video import ThreeDPWVideos, VideoFolder

from fake_pair_datasets import PENN_BOX, make_3dpw, make_jrdb, make_mars, make_penn, make_posetrack, make_video_folder
from fake_pair_images import W, decode, draw_all, py2_pickle

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
