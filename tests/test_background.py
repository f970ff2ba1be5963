"""Backgrounds: procedural images, photo-folder crops, 3-D scene loading and placement."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from crocohuman.core.conventions import SMPL_CANONICAL_TO_WORLD as Y_UP_TO_Z_UP  # one rotation, two uses
from crocohuman.render.background import (
    BackgroundImageWarning,
    BackgroundSpec,
    ImageFolderBackgrounds,
    ProceduralBackgrounds,
    SceneMesh,
    background_source,
    load_scene,
    parse_background_spec,
    procedural_background,
    sample_camera_position,
    sample_standing_spot,
)

from fake_scene import TABLE_MAX, TABLE_MIN, room_mesh

# --------------------------------------------------------------------------------- procedural


@pytest.mark.parametrize("size", [(256, 256), (120, 200), (97, 33)])
def test_procedural_shape_dtype(size):
    img = procedural_background(np.random.default_rng(0), *size)
    assert img.shape == (*size, 3) and img.dtype == np.uint8


def test_procedural_deterministic_and_varied():
    a = procedural_background(np.random.default_rng(7), 128, 128)
    b = procedural_background(np.random.default_rng(7), 128, 128)
    np.testing.assert_array_equal(a, b)
    images = [procedural_background(np.random.default_rng(seed), 128, 128) for seed in range(24)]
    for i, img in enumerate(images):
        pixels = img.reshape(-1, 3)
        assert pixels.std(axis=0).mean() > 5.0, f"seed {i} is nearly flat"
        assert len(np.unique(pixels, axis=0)) > 500, f"seed {i} has too few colours"
    means = np.array([img.reshape(-1, 3).mean(axis=0) for img in images])
    assert means.std(axis=0).min() > 10.0  # different seeds, different looks
    assert not any(np.array_equal(images[0], img) for img in images[1:])


def test_procedural_source_matches_function():
    img = ProceduralBackgrounds().sample(np.random.default_rng(3), 64, 80)
    np.testing.assert_array_equal(img, procedural_background(np.random.default_rng(3), 64, 80))


# ------------------------------------------------------------------------------------- images


def _gradient(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // w, y * 255 // h, (x + y) * 127 // (h + w)], axis=-1).astype(np.uint8)


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    rgb = Image.fromarray(_gradient(60, 90))
    rgb.save(tmp_path / "rgb.jpg", quality=90)
    (tmp_path / "nested").mkdir()
    rgb.convert("L").save(tmp_path / "nested" / "gray.PNG")
    rgba = rgb.convert("RGBA")
    rgba.putalpha(128)
    rgba.save(tmp_path / "rgba.png")
    rgb.convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "palette.png")
    Image.fromarray(_gradient(40, 50)[..., 0].astype(np.uint16) * 257).save(tmp_path / "deep16.png")
    jpeg = (tmp_path / "rgb.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 3])
    (tmp_path / "notes.png").write_text("this is not an image")
    (tmp_path / "readme.txt").write_text("ignored: not an image extension")
    return tmp_path


def test_image_folder_crops_and_skips_bad_files(image_folder: Path):
    source = ImageFolderBackgrounds(image_folder)
    assert len(source) == 7  # 5 good + 2 bad, the .txt ignored, nested folder included
    rng = np.random.default_rng(0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        crops = [source.sample(rng, 48, 64) for _ in range(60)]
    assert all(c.shape == (48, 64, 3) and c.dtype == np.uint8 for c in crops)
    assert len({c.tobytes() for c in crops}) > 30  # random image, crop, scale and flip
    assert source.num_skipped == 2
    assert sorted(p.name for p in source.skipped) == ["notes.png", "truncated.jpg"]
    messages = [str(w.message) for w in caught if issubclass(w.category, BackgroundImageWarning)]
    assert len(messages) == 2  # one warning per bad file, however often it is drawn
    assert any("truncated.jpg" in m for m in messages) and any("notes.png" in m for m in messages)


def test_image_folder_modes_to_rgb(image_folder: Path):
    for name in ("nested/gray.PNG", "rgba.png", "palette.png", "deep16.png"):
        folder = image_folder / "only" / name.replace("/", "_")
        folder.mkdir(parents=True)
        (folder / Path(name).name).write_bytes((image_folder / name).read_bytes())
        crop = ImageFolderBackgrounds(folder).sample(np.random.default_rng(1), 32, 32)
        assert crop.shape == (32, 32, 3) and crop.dtype == np.uint8
        assert crop.max() > 100, f"{name} lost its range"  # 16-bit was rescaled, not clipped


def test_image_folder_is_deterministic(image_folder: Path):
    a = ImageFolderBackgrounds(image_folder)
    b = ImageFolderBackgrounds(image_folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BackgroundImageWarning)
        for seed in range(5):
            np.testing.assert_array_equal(
                a.sample(np.random.default_rng(seed), 40, 40), b.sample(np.random.default_rng(seed), 40, 40)
            )


def test_image_folder_crop_does_not_depend_on_bad_files_met_before(image_folder: Path):
    """A process that already knows the bad files draws the same crops, with the same randomness,
    as a fresh one: a take depends on its seed and the folder only. ``cut.jpg`` opens (its header
    is whole) and fails only when decoded, after its crop was drawn."""
    jpeg = (image_folder / "rgb.jpg").read_bytes()
    (image_folder / "cut.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    with Image.open(image_folder / "cut.jpg") as cut:
        assert cut.size == (90, 60)
    warm = ImageFolderBackgrounds(image_folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BackgroundImageWarning)
        for seed in range(40):
            warm.sample(np.random.default_rng(seed), 16, 16)
        assert warm.num_skipped == 3
        warm.drain_skipped()
        reported = set()
        for seed in range(40):
            fresh = ImageFolderBackgrounds(image_folder)
            a, b = np.random.default_rng(seed), np.random.default_rng(seed)
            np.testing.assert_array_equal(fresh.sample(a, 24, 32), warm.sample(b, 24, 32))
            assert a.random() == b.random()  # and the same amount of randomness used
            drawn = fresh.drain_skipped()
            assert drawn == warm.drain_skipped()  # what a shard reports: the bad files this draw met
            reported.update(path.name for path in drawn)
    assert reported == {"cut.jpg", "notes.png", "truncated.jpg"}  # every bad file was drawn


def test_image_folder_errors(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="missing"):
        ImageFolderBackgrounds(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty"):
        ImageFolderBackgrounds(tmp_path / "empty")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0 garbage")
    (bad / "b.png").write_text("nope")
    source = ImageFolderBackgrounds(bad)
    with pytest.warns(BackgroundImageWarning), pytest.raises(RuntimeError, match=str(bad)):
        source.sample(np.random.default_rng(0), 16, 16)


# -------------------------------------------------------------------------------------- scene


@pytest.fixture(scope="module")
def room_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("room")
    z_up = room_mesh()
    y_up = z_up.copy()
    to_y_up = np.eye(4)
    to_y_up[:3, :3] = Y_UP_TO_Z_UP.T
    y_up.apply_transform(to_y_up)
    files = {"glb": folder / "room.glb", "obj": folder / "room.obj", "ply": folder / "room.ply"}
    y_up.export(files["glb"])  # glTF and OBJ are Y-up by default, PLY Z-up
    y_up.export(files["obj"])
    z_up.export(files["ply"])
    return files


@pytest.mark.parametrize("fmt", ["glb", "obj", "ply"])
def test_load_scene_formats(room_files, fmt):
    scene = load_scene(room_files[fmt])
    assert isinstance(scene, SceneMesh)
    f3 = scene.num_faces * 3
    assert scene.positions.shape == scene.normals.shape == scene.colors.shape == (f3, 3)
    assert scene.positions.dtype == scene.normals.dtype == scene.colors.dtype == np.float32
    assert abs(scene.floor_z) < 0.02
    np.testing.assert_allclose(scene.bounds_min, [-3.1, -3.1, -0.1], atol=1e-4)
    np.testing.assert_allclose(scene.bounds_max, [3.1, 3.1, 2.5], atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(scene.normals, axis=1), 1.0, atol=1e-5)
    assert 0.0 <= scene.colors.min() and scene.colors.max() <= 1.0
    table_brown = np.isclose(scene.colors, np.array([90, 50, 20]) / 255, atol=0.01).all(axis=1)
    assert table_brown.sum() == 36  # 12 triangles x 3 corners keep the table's vertex colour


def test_load_scene_up_axis_override(room_files):
    scene = load_scene(room_files["obj"], up_axis="z")  # wrong on purpose: the room lies on its side
    assert scene.bounds_max[1] > 2.0 and scene.bounds_max[2] < 3.2
    assert abs(load_scene(room_files["obj"]).floor_z) < 0.02


def test_standing_spot_and_camera(room_files):
    scene = load_scene(room_files["glb"])
    rng = np.random.default_rng(0)
    clearance = 0.6
    for _ in range(50):
        x, y = sample_standing_spot(scene, rng, clearance=clearance)
        assert -3.0 < x < 3.0 and -3.0 < y < 3.0  # on the floor, inside the walls
        assert min(3.0 - abs(x), 3.0 - abs(y)) >= clearance
        gap = np.maximum(np.maximum(TABLE_MIN - (x, y), (x, y) - TABLE_MAX), 0.0)
        assert np.linalg.norm(gap) >= clearance, (x, y)  # clear of the table
        target = np.array([x, y, scene.floor_z + 1.0])
        cam = sample_camera_position(scene, rng, target, distance_range=(1.2, 3.0), height_range=(0.5, 2.0))
        assert np.all(cam >= scene.bounds_min) and np.all(cam <= scene.bounds_max)
        assert 1.2 - 1e-9 <= np.linalg.norm(cam - target) <= 3.0 + 1e-9
        assert np.all(np.abs(cam[:2]) < 3.0)  # inside the room
        in_table = np.all((cam[:2] > TABLE_MIN) & (cam[:2] < TABLE_MAX)) and cam[2] < 0.8
        assert not in_table
    assert scene.occupancy() is scene.occupancy()  # built once


def test_camera_placement_failure_is_explained(room_files):
    scene = load_scene(room_files["ply"])
    with pytest.raises(RuntimeError, match="no camera position"):
        sample_camera_position(
            scene,
            np.random.default_rng(0),
            np.zeros(3),
            distance_range=(20.0, 30.0),
            height_range=(1.0, 1.5),
            max_tries=20,
        )


def test_textured_gltf_keeps_texture(tmp_path: Path):
    texture = np.zeros((4, 4, 3), np.uint8)
    texture[:2] = (0, 0, 255)  # top rows blue (v near 1), bottom rows red
    texture[2:] = (255, 0, 0)
    quad = trimesh.Trimesh(
        vertices=[[0, 0, 0], [1, 0, 0], [1, 0, 1], [0, 0, 1]],
        faces=[[0, 2, 1], [0, 3, 2]],
        visual=trimesh.visual.TextureVisuals(
            uv=[[0, 0], [1, 0], [1, 1], [0, 1]],
            material=trimesh.visual.material.PBRMaterial(baseColorTexture=Image.fromarray(texture)),
        ),
        process=False,
    )
    quad.export(tmp_path / "quad.glb")
    scene = load_scene(tmp_path / "quad.glb")
    assert scene.texture is not None and scene.texture.shape == (4, 4, 3)
    assert scene.uvs is not None and scene.uvs.shape == (6, 2)
    np.testing.assert_allclose(scene.normals, np.tile([0, 0, 1], (6, 1)), atol=1e-6)  # Y-up floor -> Z-up
    top = scene.uvs[:, 1] > 0.5
    assert np.all(scene.colors[top, 2] > 0.9) and np.all(scene.colors[~top, 0] > 0.9)


def test_scene_errors(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.glb"):
        load_scene(tmp_path / "nowhere.glb")
    broken = tmp_path / "broken.glb"
    broken.write_bytes(b"glTF\x02\x00\x00\x00garbage that is not a glb")
    with pytest.raises(ValueError, match=r"broken\.glb"):
        load_scene(broken)
    empty = tmp_path / "empty.obj"
    empty.write_text("# no faces\nv 0 0 0\n")
    with pytest.raises(ValueError, match=r"empty\.obj"):
        load_scene(empty)
    (tmp_path / "scene.fbx").write_text("x")
    with pytest.raises(ValueError, match="unsupported"):
        load_scene(tmp_path / "scene.fbx")


# --------------------------------------------------------------------------------------- spec


def test_parse_background_spec():
    assert parse_background_spec("procedural") == BackgroundSpec("procedural")
    assert parse_background_spec("") == BackgroundSpec("procedural")
    assert parse_background_spec("images:/data/coco") == BackgroundSpec("images", Path("/data/coco"))
    assert parse_background_spec("scene:room.glb") == BackgroundSpec("scene", Path("room.glb"))
    for bad in ("photos:/x", "images:", "scene", "procedural:x"):
        with pytest.raises(ValueError, match="images:DIR"):
            parse_background_spec(bad)


def test_background_source(image_folder: Path, room_files):
    assert isinstance(background_source("procedural"), ProceduralBackgrounds)
    images = background_source(f"images:{image_folder}")
    assert isinstance(images, ImageFolderBackgrounds)
    assert isinstance(background_source(f"scene:{room_files['ply']}"), SceneMesh)
    with pytest.raises(FileNotFoundError):
        background_source(f"images:{image_folder / 'missing'}")
