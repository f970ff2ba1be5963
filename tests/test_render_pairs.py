"""Pretraining pairs rendered on the fly (``--data render:SETTINGS``): the shards' pixels without the
shards, one take for several neighbouring samples, exact resume, the same learning as from disk."""

from __future__ import annotations

import itertools
import json
import os
import re

import numpy as np
import pytest
import torch
import yaml

from crocohuman.model.pairs.mixture import PairMixture, SourceConfig, build_source, make_loader
from crocohuman.model.pairs.rendered import RenderedShards
from crocohuman.model.pairs.transforms import PairTransform
from crocohuman.model.pretrain import pretrain
from crocohuman.render.egl_device import choose_egl_device
from crocohuman.render.take_stream import TakeStream, read_settings

from fake_pretrain import render_tiny_takes, tiny_config

TAKE = re.compile(r"#(\d{9}) ")


@pytest.fixture(scope="module")
def png_takes(tmp_path_factory):
    """PNG takes (lossless, so disk and memory hold the same pixels)."""
    return render_tiny_takes(tmp_path_factory.mktemp("live") / "takes", rgb_format="png")


def live(root, **options):
    return build_source(SourceConfig("render", str(root), options=options))


def test_live_pairs_are_the_pairs_of_the_shards(png_takes):
    disk, stream = RenderedShards(png_takes), live(png_takes, pairs_per_take=1)
    assert len(stream) == len(disk) == 4
    for seed in range(8):
        a, b = disk.get(seed % 4, np.random.default_rng(seed)), stream.get(seed % 4, np.random.default_rng(seed))
        assert a.kind == b.kind and a.source.split("#")[1] == b.source.split("#")[1]
        for field in ("img1", "img2", "mask1", "mask2"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=f"{field} of {a.source}")


def test_a_settings_file_renders_what_its_folder_holds(png_takes, tmp_path):
    job = json.loads((png_takes / "job.json").read_text())["config"]
    path = tmp_path / "takes.yaml"
    path.write_text(yaml.safe_dump({**job, "takes": 1000}))
    from_file, from_folder = TakeStream(path), TakeStream(png_takes)
    assert len(from_file) == 1000 and len(from_folder) == 4
    np.testing.assert_array_equal(from_file.take(2).rgb, from_folder.take(2).rgb)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("takes: 4\nsizes: 64\n", r"unknown render settings \['sizes'\]"),
        ("takes: 0\n", "--takes"),
        ("- 1\n- 2\n", "must be a mapping"),
        ("rig: {views: 0}\n", "--views"),
    ],
)
def test_bad_settings_name_the_file_and_the_problem(tmp_path, content, message):
    path = tmp_path / "settings.yaml"
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as error:
        read_settings(path)
    assert str(path) in str(error.value)


def test_missing_settings_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such render settings"):
        read_settings(tmp_path / "nothing.yaml")
    with pytest.raises(ValueError, match=r"no job\.json"):
        read_settings(tmp_path)


def test_neighbouring_samples_share_a_take_and_the_stream_resumes_exactly(png_takes):
    dataset = PairMixture([live(png_takes, pairs_per_take=4)], [1.0], transform=PairTransform(size=32), seed=1)

    def sources(start, batches, workers):
        loader = make_loader(dataset, batch_size=4, start=start, num_workers=workers)
        return [s for batch in itertools.islice(loader, batches) for s in batch["source"]]

    whole = sources(0, 4, workers=2)  # rendered in two forked DataLoader workers
    takes = [TAKE.search(source).group(1) for source in whole]
    assert all(len(set(takes[i : i + 4])) == 1 for i in range(0, 16, 4)), takes
    assert len(set(takes)) > 1
    assert sources(8, 2, workers=0) == whole[8:]  # resumed at sample 8, in this process
    assert dataset[13]["source"] == whole[13]


def test_live_takes_mix_with_shards_by_weight(png_takes):
    live_source = live(png_takes, pairs_per_take=4)
    mixed = PairMixture([live_source, RenderedShards(png_takes)], [1.0, 1.0], transform=PairTransform(size=32), seed=2)
    drawn = [mixed[i]["source"] for i in range(64)]
    kinds = [source.split(":")[0] for source in drawn]
    assert 16 < kinds.count("render") < 48, kinds  # 32 expected, binomial sd 4
    for block in range(0, 64, 4):  # the live samples of a block of 4 share a take
        takes = {TAKE.search(s).group(1) for s in drawn[block : block + 4] if s.startswith("render:")}
        assert len(takes) <= 1, drawn[block : block + 4]


def test_pretraining_on_live_takes_matches_pretraining_on_their_shards(png_takes, tmp_path):
    """16 steps. With one pair per take the batches are those of the shards, so the losses are equal;
    with four pairs per take (fewer takes per step) they stay within twice the spread that another
    data seed gives from the shards."""

    optim = {"base_lr": 2e-2, "warmup_steps": 2, "schedule_steps": 16, "max_steps": 16}

    def losses(name, source, **overrides):
        pretrain(tiny_config(tmp_path / name, png_takes, data=[source], optim=optim, **overrides))
        lines = (tmp_path / name / "log.jsonl").read_text().splitlines()
        values = np.array([json.loads(line)["loss"] for line in lines])
        assert values[-4:].mean() < values[:4].mean() - 0.05, values  # it learns (1.28 -> 1.13 measured)
        return values

    disk = losses("disk", SourceConfig("rendered", str(png_takes)))
    same = losses("live", SourceConfig("render", str(png_takes), options={"pairs_per_take": 1}), num_workers=1)
    np.testing.assert_allclose(same, disk, rtol=1e-5, atol=1e-6)
    other_seed = losses("disk-seed", SourceConfig("rendered", str(png_takes)), seed=7)
    grouped = losses("grouped", SourceConfig("render", str(png_takes), options={"pairs_per_take": 4}))
    noise = np.abs(other_seed - disk).mean()
    assert noise > 0
    assert np.abs(grouped - disk).mean() < 2 * noise, (grouped, disk, other_seed)  # 0.020 vs 2 x 0.029 measured
    assert torch.load(tmp_path / "grouped" / "checkpoint-last.pt", weights_only=True)["step"] == len(disk)


@pytest.mark.parametrize(
    ("environ", "index", "explicit"),
    [
        ({}, None, False),
        ({"LOCAL_RANK": "1"}, 1, False),
        ({"LOCAL_RANK": "1", "CUDA_VISIBLE_DEVICES": "4,6"}, 6, False),
        ({"LOCAL_RANK": "1", "CUDA_VISIBLE_DEVICES": "GPU-5e2a,GPU-77f1"}, 1, False),
        ({"LOCAL_RANK": "0", "CROCO_EGL_DEVICE": "3"}, 3, True),
    ],
)
def test_each_rank_renders_on_its_own_gpu(environ, index, explicit):
    device = choose_egl_device(environ)
    assert (device.index, device.explicit) == (index, explicit)


def test_a_missing_rank_device_falls_back_to_the_default_one(monkeypatch, caplog):
    """On this machine EGL has one device (llvmpipe): rank 1 of a CPU job still renders."""
    from crocohuman.render.raster import create_context

    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.delenv("CROCO_EGL_DEVICE", raising=False)
    context = create_context()
    assert context.info["GL_RENDERER"] and "no EGL device 1 (LOCAL_RANK=1)" in caplog.text
    context.release()
    monkeypatch.setenv("CROCO_EGL_DEVICE", "7")
    with pytest.raises(RuntimeError, match="CROCO_EGL_DEVICE=7"):
        create_context()


def test_a_cpu_trainer_leaves_cores_to_rendering_workers(png_takes):
    """Torch threads drop to cores - workers with render: workers, and stay with shard readers."""
    from crocohuman.model.training_loop import leave_cores_to_workers

    cores = len(os.sched_getaffinity(0))
    threads = torch.get_num_threads()
    try:
        for dataset, expected in ((RenderedShards(png_takes), cores + 1), (live(png_takes), max(1, cores - 1))):
            torch.set_num_threads(cores + 1)
            leave_cores_to_workers(PairMixture([dataset], [1.0]), workers=1)
            assert torch.get_num_threads() == expected, dataset.name
    finally:
        torch.set_num_threads(threads)
