"""End-to-end rendering on the default anny body: labels, geometry, format, determinism, resume."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from crocohuman.core.atomic_files import temporary_path
from crocohuman.core.shard_names import shard_name
from crocohuman.core.shards import list_shards, read_shard
from crocohuman.render.camera_rig import RigConfig
from crocohuman.render.config import RenderConfig
from crocohuman.render.pipeline import run


def tiny_config(output, **overrides) -> RenderConfig:
    settings = dict(
        output=output,
        takes=3,
        takes_per_shard=2,
        frames=2,
        width=96,
        height=96,
        rig=RigConfig(views=3),
        texture_size=256,
        seed=7,
        preview_takes=2,
    )
    settings.update(overrides)
    return RenderConfig(**settings)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    config = tiny_config(tmp_path_factory.mktemp("render") / "data")
    manifest = run(config)
    takes = [take for path in list_shards(config.output) for take in read_shard(path)]
    return config, manifest, takes


def test_manifest_counts_and_preview(dataset):
    config, manifest, takes = dataset
    assert manifest["counts"] == {"shards_done": 2, "shards_total": 2, "takes": 3, "images": 3 * 2 * 3}
    assert len(takes) == 3
    assert not list(config.output.glob("*.tmp"))


def test_preview_is_the_first_takes_laid_out_in_a_grid(dataset):
    """preview_takes = 2 takes x 4 rows (3 views with joints, with parts, IUV; view 0 over 2 frames),
    3 columns, tiles of 96 px with a 4 px gap: the IUV and time rows are the take's own pixels."""
    config, _, takes = dataset
    with Image.open(config.output / "preview.png") as image:
        sheet = np.asarray(image.convert("RGB"))
    assert sheet.shape == (2 * 4 * (96 + 4), 3 * (96 + 4), 3)

    def tile(row: int, column: int) -> np.ndarray:
        return sheet[row * 100 : row * 100 + 96, column * 100 : column * 100 + 96]

    for t, take in enumerate(takes[:2]):
        for v in range(3):
            np.testing.assert_array_equal(tile(4 * t + 2, v), take.iuv[0, v])
        for frame in range(2):
            np.testing.assert_array_equal(tile(4 * t + 3, frame), take.rgb[frame, 0])
        np.testing.assert_array_equal(tile(4 * t + 3, 2), 255)  # the time row's empty third column


def test_projected_joints_match_stored_2d_and_fall_in_the_mask(dataset):
    _, _, takes = dataset
    for take in takes:
        for v in range(take.intrinsics.shape[0]):
            k, rt = take.intrinsics[v].astype(np.float64), take.extrinsics[v].astype(np.float64)
            cam = take.joints3d.astype(np.float64) @ rt[:, :3].T + rt[:, 3]
            pixels = cam @ k.T
            pixels = pixels[..., :2] / pixels[..., 2:]
            assert np.abs(pixels - take.joints2d[:, v]).max() <= 0.5
            for t in range(take.joints3d.shape[0]):
                mask = ndimage.binary_dilation(take.mask[t, v], iterations=1)
                cols, rows = np.rint(pixels[t]).astype(int).T
                assert (cols >= 0).all() and (cols < mask.shape[1]).all()
                assert (rows >= 0).all() and (rows < mask.shape[0]).all()
                assert mask[rows, cols].mean() >= 0.9


def test_hand_joints_project_to_stored_2d_and_fall_on_the_hands(dataset):
    """hand_joints3d projected through the take's cameras gives hand_joints2d (< 0.5 px), and the 2D
    keypoints of each hand lie on that hand's DensePose part (left 4, right 3) or within 2 px of it,
    wherever that hand is in view (hands hidden behind the body have no part pixels to fall on)."""
    _, _, takes = dataset
    near, seen = 0, 0
    for take in takes:
        frames, views = take.joints2d.shape[:2]
        assert take.hand_joints3d.shape == (frames, 2, 21, 3) and take.hand_joints2d.shape == (frames, views, 2, 21, 2)
        for v in range(views):
            k, rt = take.intrinsics[v].astype(np.float64), take.extrinsics[v].astype(np.float64)
            pixels = (take.hand_joints3d.astype(np.float64) @ rt[:, :3].T + rt[:, 3]) @ k.T
            pixels = pixels[..., :2] / pixels[..., 2:]
            assert np.abs(pixels - take.hand_joints2d[:, v]).max() <= 0.5
            for t in range(frames):
                for side, part in enumerate((4, 3)):
                    hand = take.parts[t, v] == part
                    if hand.sum() < 4:
                        continue
                    near_hand = ndimage.binary_dilation(hand, iterations=2)
                    cols, rows = np.rint(take.hand_joints2d[t, v, side]).astype(int).T
                    inside = (cols >= 0) & (cols < hand.shape[1]) & (rows >= 0) & (rows < hand.shape[0])
                    near += near_hand[rows[inside], cols[inside]].sum()
                    seen += 21
    assert seen > 0 and near / seen >= 0.9, near / seen


def test_depth_agrees_with_the_camera_model(dataset):
    """The rasterizer's pixels line up with projections through the stored K and [R|t]."""
    _, _, takes = dataset
    take = takes[0]
    k, rt = take.intrinsics[0].astype(np.float64), take.extrinsics[0].astype(np.float64)
    cam = take.joints3d[0].astype(np.float64) @ rt[:, :3].T + rt[:, 3]
    pixels = cam @ k.T
    cols, rows = np.rint(pixels[:, :2] / pixels[:, 2:]).astype(int).T
    depth = take.depth[0, 0][rows, cols]
    inside = depth > 0
    # A joint lies inside the body: the visible surface is never behind it, and for most joints
    # (those not hidden behind another limb) it is in front by less than a limb's thickness.
    assert inside.mean() > 0.8
    gap = cam[inside, 2] - depth[inside]
    assert (gap > -0.05).all()
    assert np.median(gap) < 0.15 and (gap < 0.3).mean() > 0.7


def test_views_differ_and_share_joints(dataset):
    _, _, takes = dataset
    take = takes[0]
    assert take.joints3d.shape == (2, 24, 3)
    for t in range(2):
        images = take.rgb[t].reshape(take.rgb.shape[1], -1).astype(np.int16)
        for a in range(len(images)):
            for b in range(a + 1, len(images)):
                assert np.abs(images[a] - images[b]).mean() > 5
    assert not np.allclose(take.joints3d[0], take.joints3d[1])  # the person moves over time
    moved = take.mask[0, 0] != take.mask[1, 0]  # the silhouette changes, and the image with it
    assert moved.sum() > 10 and (take.rgb[0, 0][moved] != take.rgb[1, 0][moved]).any(-1).mean() > 0.5


def test_parts_iuv_depth_consistent_with_mask(dataset):
    _, _, takes = dataset
    for take in takes:
        mask = take.mask
        assert 0.03 < mask.mean() < 0.6
        assert ((take.iuv[..., 0] > 0) == mask).all()
        assert (take.iuv[..., 0] == take.parts).all()
        assert ((take.depth > 0) == mask).all()
        assert take.parts.max() <= 24
        assert len(np.unique(take.parts)) > 8  # many parts visible over the views
        assert (take.iuv[..., 1:][~mask] == 0).all()
        assert take.iuv[..., 1][mask].std() > 20 and take.iuv[..., 2][mask].std() > 20
        # The background is not flat where the person is not.
        assert take.rgb[~mask].std() > 10


def test_same_seed_same_bytes(dataset, tmp_path):
    config, _, _ = dataset
    again = tiny_config(tmp_path / "again", takes=2)  # shard 0 holds takes 0 and 1 in both
    run(again)
    assert (again.output / shard_name(0)).read_bytes() == (config.output / shard_name(0)).read_bytes()


def test_resume_after_interruption_leaves_no_partial_shard(dataset, tmp_path, monkeypatch):
    config, _, _ = dataset
    out = tmp_path / "resumed"
    import crocohuman.render.pipeline as pipeline

    original = pipeline.render_shard
    calls = []

    def interrupted(config, shard):
        calls.append(shard)
        if shard == 1:
            temporary_path(config.output / shard_name(1)).write_bytes(b"half a shard")
            raise KeyboardInterrupt
        return original(config, shard)

    monkeypatch.setattr(pipeline, "render_shard", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(tiny_config(out))
    assert [p.name for p in list_shards(out)] == [shard_name(0)]
    monkeypatch.setattr(pipeline, "render_shard", lambda c, s: calls.append(s) or original(c, s))
    manifest = run(tiny_config(out))
    assert calls == [0, 1, 1]  # shard 0 was not rendered again
    assert manifest["counts"]["shards_done"] == 2
    assert not list(out.glob("*.tmp"))
    assert (out / shard_name(1)).read_bytes() == (config.output / shard_name(1)).read_bytes()


def test_truncated_shard_is_a_clear_error(dataset, tmp_path):
    config, _, _ = dataset
    data = (config.output / shard_name(0)).read_bytes()
    broken = tmp_path / shard_name(0)
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=str(broken)):
        list(read_shard(broken))


def test_unwritable_output_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(PermissionError, match="cannot write"):
        run(tiny_config(blocker / "data"))


def test_other_settings_in_the_same_folder_are_refused(dataset):
    config, _, _ = dataset
    with pytest.raises(ValueError, match="frames"):
        run(tiny_config(config.output, frames=3))


def test_worker_processes_write_the_same_bytes(dataset, tmp_path):
    config, _, _ = dataset
    parallel = tiny_config(tmp_path / "parallel", workers=2)
    run(parallel)
    for shard in (0, 1):
        assert (parallel.output / shard_name(shard)).read_bytes() == (config.output / shard_name(shard)).read_bytes()


def test_launcher_split_renders_only_its_shards(dataset, tmp_path):
    config, _, _ = dataset
    part = tiny_config(tmp_path / "split", shard_index=1, num_shards=2)
    manifest = run(part)
    assert [p.name for p in list_shards(part.output)] == [shard_name(1)]
    assert manifest["counts"]["shards_done"] == 1
    assert (part.output / shard_name(1)).read_bytes() == (config.output / shard_name(1)).read_bytes()
