"""Rendering jobs that scale without surprises: re-runs, recorded settings, several writers, verify.

The writers here are real ``croco-render`` processes started together on one folder, one of
them killed with SIGKILL half-way, and their folder is compared byte for byte with one written
by a single process.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import crocohuman.render.pipeline as pipeline
from crocohuman.core.atomic_files import is_stale, write_if_absent
from crocohuman.core.shard_names import shard_name
from crocohuman.render.camera_rig import RigConfig
from crocohuman.render.cli import main
from crocohuman.render.config import RenderConfig
from crocohuman.render.job_folder import JOB, claim_job

HOST = socket.gethostname()


def croco_render(*args) -> list[str]:
    return [sys.executable, "-m", "crocohuman.render.cli", *[str(a) for a in args]]


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and mtime."""
    return {
        path.relative_to(folder).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def contents(folder: Path) -> dict[str, object]:
    """Every file's bytes; the JSON files parsed, less the code version (another engineer may commit
    between two renders of a test, and the version names the commit)."""
    files = {}
    for name, (data, _) in snapshot(folder).items():
        if name.endswith(".json"):
            data = json.loads(data)
            data.pop("code_version", None)
        files[name] = data
    return files


def test_rerunning_a_finished_render_changes_no_byte_and_loads_nothing(tmp_path):
    """The issue's command, twice: the second run exits 0 without touching a file or loading a body."""
    out = tmp_path / "D"
    args = ["--output", out, "--takes", 2, "--takes-per-shard", 2, "--views", 2, "--frames", 1, "--size", 48]
    first = CliRunner().invoke(main, [str(a) for a in args])
    assert first.exit_code == 0, first.output
    before = snapshot(out)
    assert {"job.json", "manifest.json", "preview.png", shard_name(0), "records/shard-000000.json"} <= set(before)
    probe = (
        "import sys; from crocohuman.render.cli import main\n"
        "try: main(sys.argv[1:])\n"
        "except SystemExit as end: print('exit', end.code, sorted(m for m in ('anny', 'moderngl', 'torch') "
        "if m in sys.modules))"
    )
    start = time.perf_counter()
    second = subprocess.run([sys.executable, "-c", probe, *[str(a) for a in args]], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    assert "exit 0 []" in second.stdout, second.stdout + second.stderr
    assert snapshot(out) == before  # bytes and mtimes
    assert seconds < 30  # no body model, no GL context (a loaded 2-core machine)


def test_settings_are_recorded_before_the_first_shard_and_others_refused(tmp_path, monkeypatch):
    """A job killed before its first shard already holds its settings; another seed is refused there."""
    config = RenderConfig(
        output=tmp_path / "D", takes=2, takes_per_shard=1, frames=1, width=48, height=48, rig=RigConfig(views=1), seed=3
    )

    def killed(config, shard):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "render_shard", killed)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(config)
    recorded = json.loads((config.output / JOB).read_text())
    assert recorded["config"]["seed"] == 3 and recorded["config"]["rig"]["elevation"] == [-10.0, 35.0]
    other = RenderConfig(**{**config.__dict__, "seed": 4})
    with pytest.raises(ValueError, match=r"seed: 3 recorded, 4 asked"):
        pipeline.run(other)
    assert sorted(p.name for p in config.output.iterdir()) == [JOB, "records"]  # nothing rendered


def test_writers_with_the_same_settings_share_the_job(tmp_path):
    """Tuples of the typed config and lists read back from JSON are the same settings."""
    config = RenderConfig(output=tmp_path, rig=RigConfig(views=2, elevation=(-5, 5)))
    first = claim_job(tmp_path, config.to_json(), "v1")
    data = (tmp_path / JOB).read_bytes()
    assert claim_job(tmp_path, config.to_json(), "v2") == first  # the first writer's record stays
    assert (tmp_path / JOB).read_bytes() == data and first["code_version"] == "v1"
    assert not write_if_absent(tmp_path / JOB, b"{}") and (tmp_path / JOB).read_bytes() == data


def test_stale_temporary_files(tmp_path):
    """Only our own leftovers and those of dead pids on this host are stale."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = "".join(c if c.isalnum() or c == "-" else "-" for c in HOST)
    assert is_stale(tmp_path / f"shard-000001.tar.{host}_{dead.pid}.tmp")
    assert is_stale(tmp_path / f"shard-000001.tar.{host}_{os.getpid()}.tmp")
    assert not is_stale(tmp_path / f"shard-000001.tar.{host}_{os.getppid()}.tmp")  # a live sibling
    assert not is_stale(tmp_path / f"shard-000001.tar.other-host_{dead.pid}.tmp")
    assert not is_stale(tmp_path / "shard-000001.tar.tmp")  # nobody's: never judged


TAKES = ["--takes", 16, "--takes-per-shard", 2, "--views", 2, "--frames", 1, "--size", 48, "--seed", 5]


def test_four_writers_one_killed_give_the_single_process_bytes(tmp_path):
    """4 processes split one job on one folder; one is killed -9 mid-way and started again. The
    folder then equals, file for file, the one a single process writes, and verify says complete."""
    shared = tmp_path / "shared"
    writers = {
        i: subprocess.Popen(
            croco_render("--output", shared, *TAKES, "--num-shards", 4, "--shard-index", i),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for i in range(4)
    }
    while not (shared / shard_name(0)).exists():  # writer 0 owns shards 0 and 4
        assert writers[0].poll() is None, writers[0].stderr.read().decode()
        time.sleep(0.01)
    writers[0].send_signal(signal.SIGKILL)
    writers[0].wait()
    assert not (shared / shard_name(4)).exists()  # killed half-way through its job
    host = "".join(c if c.isalnum() or c == "-" else "-" for c in HOST)
    dead = shared / f"{shard_name(4)}.{host}_{writers[0].pid}.tmp"  # as if killed while writing
    live = shared / f"{shard_name(4)}.{host}_{os.getpid()}.tmp"  # a sibling still at work
    foreign = shared / f"{shard_name(4)}.elsewhere_{writers[0].pid}.tmp"  # another host's
    for path in (dead, live, foreign):
        path.write_bytes(b"half a shard")
    writers[0] = subprocess.Popen(
        croco_render("--output", shared, *TAKES, "--num-shards", 4, "--shard-index", 0),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    for writer in writers.values():
        assert writer.wait(timeout=600) == 0, writer.stderr.read().decode()
    assert not dead.exists() and live.exists() and foreign.exists()
    live.unlink()
    foreign.unlink()

    single = tmp_path / "single"
    alone = CliRunner().invoke(main, [str(a) for a in ["--output", single, *TAKES]])
    assert alone.exit_code == 0, alone.output
    assert contents(shared) == contents(single)
    assert len([name for name in contents(single) if name.endswith(".tar")]) == 8
    check = CliRunner().invoke(main, ["verify", str(shared)])
    assert check.exit_code == 0 and check.output == f"{shared}: complete: 8/8 shards, 16/16 takes, 32/32 images\n"

    (shared / shard_name(3)).unlink()
    data = (shared / shard_name(6)).read_bytes()
    (shared / shard_name(6)).write_bytes(data[: len(data) // 2])
    check = CliRunner().invoke(main, ["verify", str(shared)])
    assert check.exit_code == 1
    lines = check.output.splitlines()
    assert lines[0] == f"{shared}: INCOMPLETE (1 missing, 1 corrupt): 6/8 shards, 12/16 takes, 24/32 images"
    assert lines[1] == f"missing: {shard_name(3)}"
    assert lines[2].startswith(f"corrupt: {shard_name(6)}: truncated or corrupt shard")


def test_two_writers_of_the_whole_job_race_to_the_single_process_bytes(tmp_path):
    """Two identical commands on one folder, no split: both render every missing shard, the renames
    of identical bytes race, and both succeed with the folder a single process writes."""
    few = ["--takes", 4, "--takes-per-shard", 1, "--views", 2, "--frames", 1, "--size", 32, "--seed", 8]
    raced = tmp_path / "raced"
    writers = [
        subprocess.Popen(croco_render("--output", raced, *few), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for writer in writers:
        assert writer.wait(timeout=600) == 0, writer.stderr.read().decode()
    single = tmp_path / "single"
    alone = CliRunner().invoke(main, [str(a) for a in ["--output", single, *few]])
    assert alone.exit_code == 0, alone.output
    assert contents(raced) == contents(single)
    assert not list(raced.rglob("*.tmp"))


def test_verify_needs_a_dataset_folder(tmp_path):
    check = CliRunner().invoke(main, ["verify", str(tmp_path)])
    assert check.exit_code == 2 and f"{tmp_path}: no job.json" in check.output


def test_a_take_does_not_depend_on_the_bad_files_its_process_met_before(tmp_path):
    """A truncated JPEG (header whole, data cut) among the backgrounds: a fresh process rendering
    only shard 1 writes the bytes a single process writes after meeting that file in shard 0."""
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)).save(photos / "a.jpg")
    data = (photos / "a.jpg").read_bytes()
    (photos / "b.jpg").write_bytes(data[: len(data) // 2])
    common = [
        "--takes",
        4,
        "--takes-per-shard",
        2,
        "--views",
        2,
        "--frames",
        1,
        "--size",
        48,
        "--background",
        f"images:{photos}",
        "--seed",
        3,
    ]
    single = tmp_path / "single"
    run = CliRunner().invoke(main, [str(a) for a in ["--output", single, *common]])
    assert run.exit_code == 0, run.output
    split = tmp_path / "split"
    fresh = subprocess.run(
        croco_render("--output", split, *common, "--num-shards", 2, "--shard-index", 1), capture_output=True, text=True
    )
    assert fresh.returncode == 0, fresh.stderr
    assert (split / shard_name(1)).read_bytes() == (single / shard_name(1)).read_bytes()
    for shard in range(2):  # the premise: both shards drew the bad file
        record = json.loads((single / "records" / f"shard-00000{shard}.json").read_text())
        assert record["skipped_inputs"] == [str(photos / "b.jpg")]
    assert (split / "records/shard-000001.json").read_bytes() == (single / "records/shard-000001.json").read_bytes()
