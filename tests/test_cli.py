"""croco-render as a user runs it: the paper's setup (SMPL + AMASS + photo backgrounds) and bad inputs."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from crocohuman.core.shards import list_shards, read_shard
from crocohuman.render.camera_rig import RigConfig
from crocohuman.render.cli import main
from crocohuman.render.config import RenderConfig

from fake_amass import write_amass_classic
from fake_scene import room_mesh
from fake_smpl import write_fake_smpl_npz

SMALL = ["--takes", "2", "--takes-per-shard", "2", "--views", "2", "--frames", "2", "--size", "64"]


@pytest.fixture
def inputs(tmp_path):
    models = tmp_path / "models"
    write_fake_smpl_npz(models / "smpl" / "SMPL_NEUTRAL.npz")
    amass = tmp_path / "amass"
    write_amass_classic(amass / "CMU" / "01" / "01_01_poses.npz", 240, 120.0, upright=True)
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (80, 120, 3), dtype=np.uint8)).save(photos / f"{i:012d}.jpg")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return models, amass, photos


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_paper_setup_smpl_amass_photos(inputs, tmp_path):
    models, amass, photos = inputs
    out = tmp_path / "surreal"
    with pytest.warns(UserWarning, match="broken.jpg"):
        result = invoke(
            "--output",
            out,
            "--body",
            "smpl",
            "--model-path",
            models,
            "--motion",
            f"amass:{amass}",
            "--background",
            f"images:{photos}",
            "--seed",
            1,
            *SMALL,
        )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["takes"] == 2
    assert any(path.endswith("broken.jpg") for path in manifest["skipped_inputs"])
    take = next(read_shard(list_shards(out)[0]))
    assert take.meta["body"] == "smpl" and take.meta["motion"].startswith("amass:CMU/01/01_01_poses.npz")
    assert take.mask.any(axis=(2, 3)).all()  # the person is in every image
    assert take.body_params["betas"].shape == (10,)


def test_anny_driven_by_amass(inputs, tmp_path):
    _, amass, _ = inputs
    result = invoke("--output", tmp_path / "anny", "--motion", f"amass:{amass}", *SMALL)
    assert result.exit_code == 0, result.output
    take = next(read_shard(list_shards(tmp_path / "anny")[0]))
    assert take.meta["body"] == "anny" and take.mask.any(axis=(2, 3)).all()


def test_person_inside_a_3d_scene(tmp_path):
    room = tmp_path / "room.ply"
    room_mesh().export(room)  # PLY is Z-up, like our world
    out = tmp_path / "scene"
    result = invoke("--output", out, "--background", f"scene:{room}", *SMALL)
    assert result.exit_code == 0, result.output
    take = next(read_shard(list_shards(out)[0]))
    feet = take.joints3d[..., 2].min()
    assert 0.0 < feet < 0.2  # standing on the floor (z = 0), ankles just above it
    assert (np.abs(take.joints3d[..., :2]) < 3.0).all()  # inside the 6 x 6 m room
    background = take.rgb[~take.mask]
    assert background.std() > 5 and take.mask.any(axis=(2, 3)).all()
    for camera in take.extrinsics:  # cameras stand inside the room, above the floor
        position = -camera[:, :3].T @ camera[:, 3]
        assert (np.abs(position[:2]) < 3.0).all() and 0.0 < position[2] < 2.5


@pytest.mark.filterwarnings("ignore:skipping AMASS file")
@pytest.mark.parametrize(
    "case", ["no_model_path", "missing_model", "wrong_model", "corrupt_amass", "missing_images", "unwritable"]
)
def test_bad_inputs_name_the_culprit(inputs, tmp_path, case):
    models, amass, _photos = inputs
    out = tmp_path / "out"
    args = ["--output", out, *SMALL]
    if case == "no_model_path":
        args += ["--body", "smpl"]
        expected = "--model-path"
    elif case == "missing_model":
        args += ["--body", "smplx", "--model-path", models]
        expected = str(models)
    elif case == "wrong_model":
        bad = tmp_path / "bad" / "smpl" / "SMPL_NEUTRAL.npz"
        bad.parent.mkdir(parents=True)
        np.savez(bad, v_template=np.zeros((10, 3)))
        args += ["--body", "smpl", "--model-path", bad.parent.parent]
        expected = str(bad)
    elif case == "corrupt_amass":
        broken = tmp_path / "amass_bad" / "x" / "y_poses.npz"
        broken.parent.mkdir(parents=True)
        broken.write_bytes((amass / "CMU" / "01" / "01_01_poses.npz").read_bytes()[:300])
        args += ["--motion", f"amass:{broken.parent.parent}"]
        expected = str(broken.parent.parent)
    elif case == "missing_images":
        args += ["--background", f"images:{tmp_path / 'nowhere'}"]
        expected = str(tmp_path / "nowhere")
    else:
        blocker = tmp_path / "blocker"
        blocker.write_text("")
        args[1] = blocker / "out"
        expected = "cannot write"
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert "error" in result.output and expected in result.output


BAD_OPTIONS = [
    (["--size", "0"], "--size must be an integer from 16 to 8192"),
    (["--size", "-5"], "--size must be an integer from 16 to 8192"),
    (["--size", "9000"], "--size must be an integer from 16 to 8192"),
    (["--takes", "0"], "--takes must be an integer >= 1"),
    (["--takes-per-shard", "0"], "--takes-per-shard must be an integer >= 1"),
    (["--views", "0"], "--views must be an integer >= 1"),
    (["--frames", "0"], "--frames must be an integer >= 1"),
    (["--fps", "0"], "--fps must be a number > 0"),
    (["--fps", "nan"], "--fps must be a number > 0"),
    (["--elevation", "10", "-10"], "--elevation must be two numbers -90 <= LO <= HI <= 90"),
    (["--elevation", "-100", "0"], "--elevation must be two numbers -90 <= LO <= HI <= 90"),
    (["--distance", "-1", "-2"], "--distance must be two numbers 0 < LO <= HI"),
    (["--distance", "3", "2"], "--distance must be two numbers 0 < LO <= HI"),
    (["--focal", "0", "0"], "--focal must be two numbers 0 < LO <= HI"),
    (["--azimuth-range", "400"], "--azimuth-range must be a number from 0 to 360"),
    (["--azimuth-range", "-1"], "--azimuth-range must be a number from 0 to 360"),
    (["--seed", "-1"], "--seed must be an integer >= 0"),
    (["--num-shards", "0"], "--num-shards must be an integer >= 1"),
    (["--shard-index", "2", "--num-shards", "2"], "--shard-index must be an integer from 0 to 1"),
    (["--shard-index", "-1"], "--shard-index must be an integer from 0 to 0"),
    (["--workers", "0"], "--workers must be an integer >= 1"),
    (["--body", "smpl"], "--body smpl needs --model-path"),
    (["--body", "smpl", "--model-path", "{tmp}/nowhere"], "--model-path {tmp}/nowhere: no such folder"),
    (
        ["--body", "smpl", "--model-path", "{tmp}", "--texture-dir", "{tmp}/nowhere", "--uv-obj", "{tmp}/a.obj"],
        "--texture-dir {tmp}/nowhere: no such folder",
    ),
    (["--body", "smpl", "--model-path", "{tmp}", "--uv-obj", "{tmp}/a.obj"], "--uv-obj {tmp}/a.obj: no such file"),
    (["--body", "smpl", "--model-path", "{tmp}", "--texture-dir", "{tmp}"], "--texture-dir needs --uv-obj"),
    (["--model-path", "{tmp}"], "--model-path: only for SMPL-family bodies"),
    (["--focus", "hands", "--body", "smpl", "--model-path", "{tmp}"], "--focus hands needs --body anny"),
    (["--motion", "walk"], "--motion: unknown motion source 'walk'"),
    (["--motion", "sampler:fly"], "--motion sampler:fly: unknown sampler motion kind 'fly'"),
    (["--motion", "amass:{tmp}/nowhere"], "--motion amass:{tmp}/nowhere: no such folder {tmp}/nowhere"),
    (["--background", "photos:x"], "--background: invalid background spec 'photos:x'"),
    (["--background", "images:{tmp}/nowhere"], "--background images:{tmp}/nowhere: no such folder"),
    (["--background", "scene:{tmp}/room.glb"], "--background scene:{tmp}/room.glb: no such file"),
    (["--background", "scene:{tmp}/notes.txt"], "--background scene:{tmp}/notes.txt: unsupported scene format '.txt'"),
]


@pytest.mark.parametrize("args, message", BAD_OPTIONS, ids=[" ".join(args) for args, _ in BAD_OPTIONS])
def test_bad_options_stop_before_any_work(tmp_path, args, message):
    """One line naming the option and what it accepts, exit 2, no folder, within a second or two."""
    (tmp_path / "notes.txt").write_text("not a scene")
    out = tmp_path / "out"
    start = time.perf_counter()
    result = invoke("--output", out, *[a.format(tmp=tmp_path) for a in args])
    seconds = time.perf_counter() - start
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"croco-render: error: {message.format(tmp=tmp_path)}"), result.output
    assert result.output.count("\n") == 1
    assert not out.exists()
    assert seconds < 2


def test_bad_options_are_refused_before_loading_the_renderer(tmp_path):
    """A fresh process refuses --size 0 without importing the body model or OpenGL."""
    probe = (
        "import sys; from crocohuman.render.cli import main\n"
        "try: main(sys.argv[1:])\n"
        "except SystemExit as end: print('exit', end.code, sorted(m for m in ('anny', 'moderngl', 'torch') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, "--output", str(tmp_path / "out"), "--size", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout == "exit 2 []\n", result.stdout + result.stderr
    assert result.stderr == "croco-render: error: --size must be an integer from 16 to 8192 (pixels), got 0\n"


def test_library_configs_check_their_options(tmp_path):
    """Library users get the same checks from the typed configs, as ValueErrors naming the option."""
    with pytest.raises(ValueError, match="--distance must be two numbers 0 < LO <= HI"):
        RigConfig(distance=(-1.0, -2.0))
    with pytest.raises(ValueError, match="--elevation"):
        RigConfig(elevation=(10.0,))
    with pytest.raises(ValueError, match="--size must be an integer from 16 to 8192"):
        RenderConfig(output=tmp_path, width=0)
    with pytest.raises(ValueError, match=r"--takes must be an integer >= 1, got 2\.5"):
        RenderConfig(output=tmp_path, takes=2.5)
    assert RigConfig(elevation=[-5, 5]).elevation == (-5.0, 5.0)  # JSON lists come back as the same range
