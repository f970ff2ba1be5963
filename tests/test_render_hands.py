"""``--focus hands``: close-up cameras around the hands, framed so hands fill the views and are never cut off."""

from __future__ import annotations

import numpy as np
import pytest

from crocohuman.core.conventions import HAND_SIDES
from crocohuman.core.shards import list_shards, read_shard
from crocohuman.render.camera_rig import RigConfig, fit_focal, frame_camera
from crocohuman.render.config import RenderConfig
from crocohuman.render.hand_rig import (
    BOTH_HANDS_WITHIN_M,
    CLEARANCE_M,
    HAND_PARTS,
    Clearance,
    FaceGroups,
    Occluders,
    framed_sides,
    outline,
)
from crocohuman.render.job_folder import check_settings
from crocohuman.render.motion import SamplerMotions
from crocohuman.render.pipeline import run
from crocohuman.render.preview import FINGER_COLORS, take_rows

SIZE = 72


@pytest.fixture(scope="module")
def hand_takes(tmp_path_factory):
    config = RenderConfig(
        output=tmp_path_factory.mktemp("hands") / "data",
        takes=2,
        takes_per_shard=2,
        frames=2,
        width=SIZE,
        height=SIZE,
        rig=RigConfig(views=3),
        texture_size=256,
        seed=3,
        focus="hands",
    )
    run(config)
    return [take for path in list_shards(config.output) for take in read_shard(path)]


def framed_masks(take) -> tuple[list[int], np.ndarray]:
    """The framed hand sides of a take and their DensePose hand pixels (T, N, H, W)."""
    sides = [HAND_SIDES.index(name) for name in take.meta["framed_hands"]]
    return sides, np.isin(take.parts, [HAND_PARTS[side] for side in sides])


def test_hands_fill_the_views(hand_takes):
    """On average at least 15 % of the pixels are the framed hands (whole-body framing gives about 1 %)."""
    assert np.mean([framed_masks(take)[1].mean() for take in hand_takes]) >= 0.15


def test_framed_hand_keypoints_stay_inside_every_image(hand_takes):
    for take in hand_takes:
        sides, _ = framed_masks(take)
        keypoints = take.hand_joints2d[:, :, sides]
        assert keypoints.min() >= 0 and keypoints.max() <= SIZE - 1


def test_framed_hands_never_touch_the_image_border(hand_takes):
    for take in hand_takes:
        _, hand = framed_masks(take)
        assert hand.all(axis=(2, 3)).sum() == 0 and hand.any(axis=(2, 3)).all()  # every view sees the hand
        border = hand[..., 0, :] | hand[..., -1, :] | hand[..., :, 0] | hand[..., :, -1]
        assert not border.any()


def test_hand_preview_draws_the_fingers(hand_takes):
    """The first preview row draws each finger's bones in its colour over every view."""
    take = hand_takes[0]
    for view, drawn in enumerate(take_rows(take)[0]):
        changed = (drawn != take.rgb[0, view]).any(-1)
        colours = {tuple(pixel) for pixel in drawn[changed]}
        assert len(colours & set(FINGER_COLORS)) >= 3


def test_both_hands_are_framed_only_when_close():
    rng = np.random.default_rng(0)
    hands = np.zeros((3, 2, 21, 3))
    assert framed_sides(rng, hands) == (0, 1)
    hands[1, 1] += [2 * BOTH_HANDS_WITHIN_M, 0, 0]  # apart in one frame: one hand, either side
    assert {framed_sides(rng, hands) for _ in range(20)} == {(0,), (1,)}


def soup_occluders(triangles: np.ndarray) -> Occluders:
    """Occluders of separate triangles (F, 3, 3): three vertices of their own each."""
    return Occluders(triangles.reshape(-1, 3), FaceGroups(np.arange(triangles.size // 3).reshape(-1, 3)))


def test_rays_are_blocked_by_a_wall_between_eye_and_point_only():
    wall = np.array([[[-1.0, -1.0, 1.0], [1.0, -1.0, 1.0], [0.0, 1.0, 1.0]]])  # the plane z = 1 around the axis
    points = np.array([[0.0, 0.0, 2.0], [0.0, 0.0, 0.5], [5.0, 0.0, 2.0]])  # behind it, before it, beside it
    assert soup_occluders(wall).blocked(np.zeros(3), points).tolist() == [True, False, False]


def _crosses(eye: np.ndarray, point: np.ndarray, triangle: np.ndarray) -> bool:
    """Whether the segment eye -> point meets the triangle: the plane's crossing, then its barycentrics."""
    a, b, c = triangle
    normal = np.cross(b - a, c - a)
    t = np.dot(a - eye, normal) / np.dot(point - eye, normal)
    if not 0 < t < 1:
        return False
    hit = eye + t * (point - eye)
    u, v = np.linalg.lstsq(np.stack([b - a, c - a], 1), hit - a, rcond=None)[0]
    return u >= 0 and v >= 0 and u + v <= 1


def test_ray_tests_through_box_groups_find_every_crossing_triangle():
    rng = np.random.default_rng(1)
    centres = rng.uniform(-1, 1, (300, 1, 3))  # more triangles than a group: most groups are skipped
    triangles = centres + rng.normal(0, 0.15, (300, 3, 3))
    eye, points = np.array([0.0, 0.0, -3.0]), rng.uniform(-1, 1, (40, 3))
    expected = [any(_crosses(eye, p, t) for t in triangles) for p in points]
    assert 5 < sum(expected) < 35  # both outcomes are exercised
    # the test stops the segment 1 cm short of its point: no triangle here lies that close to one
    assert soup_occluders(triangles).blocked(eye, points).tolist() == expected


def test_outline_frames_like_all_the_points():
    points = np.random.default_rng(2).normal(0, [0.05, 0.03, 0.08], (2000, 3)) + np.array([0.3, -0.2, 1.1])
    corners = outline(points)
    assert len(corners) < len(points) / 5
    for direction in ([1.0, 0.0, 0.0], [0.3, -0.6, 0.7], [0.0, 0.0, -1.0]):
        camera = frame_camera(points, np.array(direction) / np.linalg.norm(direction), points.mean(0), 300, 0.9, 96, 96)
        fitted = [fit_focal(p, camera.extrinsics, 0.8, 96, 96).intrinsics for p in (points, corners)]
        np.testing.assert_allclose(fitted[0], fitted[1], rtol=1e-12)


def test_hand_sets_draw_two_hand_interactions_that_frame_both_hands_all_along():
    from crocohuman.render.body.anny_body import AnnyBody

    anny, rng = AnnyBody(texture_size=64), np.random.default_rng(0)
    for _ in range(10):  # the clap they replace framed both hands in about half of its takes
        clip = SamplerMotions(interaction_p=1.0).sample_clip(rng, 8, 10.0)
        assert clip.source == "sampler:hands_together" and clip.extra["hands"].startswith("together:")
        hands = anny.pose(anny.sample_identity(rng), clip).hand_joints
        assert framed_sides(rng, hands) == (0, 1)


def test_a_job_recorded_before_focus_existed_is_a_body_job(tmp_path):
    config = RenderConfig(output=tmp_path)
    older = {key: value for key, value in config.to_json().items() if key != "focus"}
    check_settings(tmp_path, {"config": older}, config.to_json())
    with pytest.raises(ValueError, match="focus"):
        check_settings(tmp_path, {"config": older}, RenderConfig(output=tmp_path, focus="hands").to_json())


def test_hand_focus_refuses_scenes(tmp_path):
    (tmp_path / "room.glb").write_bytes(b"")
    with pytest.raises(ValueError, match="--focus hands: not with --background scene"):
        RenderConfig(output=tmp_path / "out", focus="hands", background=f"scene:{tmp_path / 'room.glb'}")


def test_clearance_finds_the_points_near_a_camera_as_a_full_search_does():
    rng = np.random.default_rng(3)
    points = rng.normal(0, 0.3, (3, 5000))  # more points than a run: most runs are never opened
    clearance = Clearance(points)
    eyes = rng.uniform(-1, 1, (300, 3))
    expected = [bool((((points - eye[:, None]) ** 2).sum(0) < CLEARANCE_M**2).any()) for eye in eyes]
    assert 20 < sum(expected) < 280  # both outcomes are exercised
    assert [clearance.too_close(eye) for eye in eyes] == expected
