"""The built-in finger sampler: hand shapes, joint limits, smooth transitions, two-hand modes."""

from __future__ import annotations

import numpy as np
import pytest

from crocohuman.core.conventions import MANO_FINGERS, MANO_TIPS
from crocohuman.core.kinematics import hand_forward_kinematics
from crocohuman.render.motion import MOTION_KINDS, sample_clip
from crocohuman.render.motion.fingers import (
    FINGER_LIMITS_DEG,
    MIRROR,
    TWO_HAND_MODES,
    _track,
    angles_to_hand_pose,
    sample_hand_pose,
    shape_angles,
)
from crocohuman.render.motion.hand_shapes import GESTURES, ONE_HAND_SHAPES, TWO_HAND_SHAPES


def _tips_from_wrist(hand_pose: np.ndarray, side: int) -> np.ndarray:
    """Fingertips (5, 3) of the idealised hand at rest orientation, MANO_TIPS order."""
    keypoints, _ = hand_forward_kinematics(np.eye(3), np.zeros(3), hand_pose, side)
    return keypoints[16:]


def test_catalogue_shapes_stay_within_limits():
    for shape in [*ONE_HAND_SHAPES.values(), *TWO_HAND_SHAPES.values()]:
        angles = shape_angles(shape)
        assert (angles >= FINGER_LIMITS_DEG[0] - 1e-9).all() and (angles <= FINGER_LIMITS_DEG[1] + 1e-9).all()


def test_fist_curls_fingertips_under_the_palm_and_open_palm_keeps_them_out():
    """Left hand (fingers along canonical +X, palm toward -Y): a fist brings the index-to-pinky tips
    under the palm, behind the knuckles; an open palm leaves them in the palm's plane, splayed wider."""
    fist = _tips_from_wrist(angles_to_hand_pose(shape_angles(GESTURES["fist"]), 0), 0)
    open_palm = _tips_from_wrist(angles_to_hand_pose(shape_angles(GESTURES["open_palm"]), 0), 0)
    fingers = [MANO_TIPS.index(f) for f in ("index", "middle", "ring", "pinky")]
    assert (fist[fingers, 1] < 0).all() and (fist[fingers, 0] < 0.08).all()  # knuckles at x = 0.07-0.095
    assert (open_palm[fingers, 0] > 0.11).all() and (np.abs(open_palm[fingers, 1]) < 0.02).all()
    spread = np.ptp(open_palm[fingers, 2]) - np.ptp(fist[fingers, 2])
    assert spread > 0.01


@pytest.mark.parametrize("name", ["pinch", "ok"])
def test_pinch_and_ok_bring_thumb_and_index_tips_together(name):
    tips = _tips_from_wrist(angles_to_hand_pose(shape_angles(GESTURES[name]), 0), 0)
    thumb, index = (MANO_TIPS.index(f) for f in ("thumb", "index"))
    assert np.linalg.norm(tips[thumb] - tips[index]) < 0.02  # MANO's finger pads are ~1.5 cm thick


def test_point_straightens_only_the_index():
    pose = angles_to_hand_pose(shape_angles(GESTURES["point"]), 0).reshape(5, 3, 3)
    bent = np.degrees(np.linalg.norm(pose, axis=-1)).sum(1)  # per MANO finger, summed over its joints
    index = MANO_FINGERS.index("index")
    assert bent[index] < 1 and all(bent[f] > 150 for f in range(5) if MANO_FINGERS[f] in ("middle", "ring", "pinky"))


def test_right_hand_is_the_mirror_of_the_left():
    angles = shape_angles(GESTURES["ok"])
    left, right = angles_to_hand_pose(angles, 0), angles_to_hand_pose(angles, 1)
    np.testing.assert_allclose(right, left * MIRROR)
    tips_left, tips_right = _tips_from_wrist(left, 0), _tips_from_wrist(right, 1)
    np.testing.assert_allclose(tips_right, tips_left * [-1, 1, 1], atol=1e-12)


def test_tracks_are_deterministic_limited_and_smooth():
    t = np.arange(90) / 30.0
    track, names = _track(np.random.default_rng(4), t, ONE_HAND_SHAPES)
    again, _ = _track(np.random.default_rng(4), t, ONE_HAND_SHAPES)
    np.testing.assert_array_equal(track, again)
    assert track.shape == (90, 5, 3, 2) and len(names) >= 2
    assert (track >= FINGER_LIMITS_DEG[0]).all() and (track <= FINGER_LIMITS_DEG[1]).all()
    # A transition takes at least 0.25 s; smoothstep's steepest slope is 1.5x the mean: a full fist
    # (<= 110 degrees at one joint) changes by at most 110 * 1.5 / (0.25 * 30) = 22 degrees a frame.
    assert np.abs(np.diff(track, axis=0)).max() <= 22.0
    assert np.abs(np.diff(track, axis=0)).max() > 1.0  # and it does move


@pytest.mark.parametrize("mode", TWO_HAND_MODES)
def test_two_hand_modes(mode):
    t = np.arange(40) / 30.0
    for seed in range(200):
        pose, description = sample_hand_pose(np.random.default_rng(seed), t)
        if description.startswith(f"{mode}:"):
            break
    else:
        pytest.fail(f"mode {mode} never drawn")
    assert pose.shape == (40, 2, 15, 3)
    mirrored = np.allclose(pose[:, 1], pose[:, 0] * MIRROR)
    assert mirrored == (mode != "independent")
    if mode == "together":
        assert set(description.partition(":")[2].split(",")) <= {"relaxed", *TWO_HAND_SHAPES}


@pytest.mark.parametrize("kind", MOTION_KINDS)
def test_sampled_clips_pose_the_fingers(kind):
    clip = sample_clip(np.random.default_rng(2), 30, 30.0, kind)
    assert clip.hand_pose.shape == (30, 2, 15, 3)
    assert np.degrees(np.linalg.norm(clip.hand_pose, axis=-1)).max() > 10.0
    assert clip.extra["hands"].partition(":")[0] in TWO_HAND_MODES
