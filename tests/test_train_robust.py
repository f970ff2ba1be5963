"""Runs that scale without surprises (issue 10): re-running finished work changes no byte, command
values stay text, bad steps never reach a checkpoint, bad data and bad files end with one line."""

from __future__ import annotations

import json
import pickle
import tarfile
import time

import pytest
import torch
from click.testing import CliRunner
from test_train import TINY, tiny_config

from crocohuman.model.cli import main as train_cli
from crocohuman.model.croco import CroCoNet, preset_config
from crocohuman.model.pretrain import PretrainTask, pretrain
from crocohuman.model.training_loop import NonFiniteTrainingError, run
from crocohuman.render.camera_rig import RigConfig
from crocohuman.render.config import RenderConfig
from crocohuman.render.pipeline import run as render

SMALL = [
    "model_overrides={img_size: 64, patch_size: 8, enc_embed_dim: 64, enc_depth: 2, enc_num_heads: 2, "
    "dec_embed_dim: 32, dec_depth: 1, dec_num_heads: 2}",
    "image_size=64",
    "batch_size=2",
    "num_workers=0",
]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("takes")
    render(
        RenderConfig(
            output=root,
            takes=2,
            takes_per_shard=2,
            frames=2,
            width=64,
            height=64,
            rig=RigConfig(views=2),
            texture_size=128,
            seed=3,
            preview_takes=1,
        )
    )
    return root


def folder_bytes(folder) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("command", ["pretrain", "finetune"])
def test_rerunning_a_finished_command_changes_no_byte(rendered, tmp_path, command):
    out = tmp_path / "run"
    if command == "pretrain":
        args = ["pretrain", "--data", f"rendered:{rendered}", "grid_every=1", "log_every=1", "ckpt_every=2"]
    else:
        args = ["finetune", "--task", "hmr-free", "--data", f"synthetic:{rendered}", "ckpt_every=2"]
    args += ["--out", str(out), *SMALL, "optim.max_steps=3", "optim.warmup_steps=1"]
    first = CliRunner().invoke(train_cli, args)
    assert first.exit_code == 0 and "done, loss" in first.output, first.output
    before = folder_bytes(out)
    assert {"checkpoint-last.pt", "config.json", "log.jsonl"} <= set(before)
    assert sum(name.startswith("tensorboard/events") for name in before) == 1
    start = time.perf_counter()
    second = CliRunner().invoke(train_cli, args)
    assert second.exit_code == 0, second.output
    assert "already complete at step 3, nothing to do" in second.output
    assert folder_bytes(out) == before  # no rewritten checkpoint, appended log, new event file or baseline
    assert time.perf_counter() - start < 5


def test_a_finished_run_with_other_settings_names_them(rendered, tmp_path):
    pretrain(tiny_config(tmp_path / "run", rendered, optim={"warmup_steps": 1, "schedule_steps": 4, "max_steps": 2}))
    before = folder_bytes(tmp_path / "run")
    with pytest.raises(
        ValueError,
        match=r"checkpoint-last\.pt: cannot resume, the run is complete at step 2 with other settings "
        r"\(mask_ratio, optim\.base_lr changed\)",
    ):
        pretrain(
            tiny_config(
                tmp_path / "run",
                rendered,
                mask_ratio=0.5,
                optim={"base_lr": 1.0, "warmup_steps": 1, "schedule_steps": 4, "max_steps": 2},
            )
        )
    assert folder_bytes(tmp_path / "run") == before


@pytest.mark.parametrize("name", ["off", "2024", "it's"])
def test_out_folders_are_named_as_typed(rendered, tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        train_cli,
        [
            "pretrain",
            "--data",
            f"rendered:{rendered}",
            "--out",
            name,
            *SMALL,
            "optim.max_steps=1",
            "optim.warmup_steps=1",
            "grid_every=0",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / name / "config.json").read_text())["out_dir"] == name
    assert (tmp_path / name / "checkpoint-last.pt").is_file()


class PoisonedTask(PretrainTask):
    """Pretraining whose loss is NaN on the given (0-based) loss calls: a diverging step, made on purpose."""

    def __init__(self, config, poisoned):
        super().__init__(config)
        self.poisoned, self.calls = set(poisoned), 0

    def loss(self, *args):
        loss, outputs = super().loss(*args)
        self.calls += 1
        return (loss * float("nan") if self.calls - 1 in self.poisoned else loss), outputs


def test_a_non_finite_step_is_skipped_and_counted(rendered, tmp_path):
    config = tiny_config(
        tmp_path / "run",
        rendered,
        ckpt_every=1,
        keep_every=1,
        grid_every=0,
        optim={"warmup_steps": 1, "schedule_steps": 8, "max_steps": 4},
    )
    run(PoisonedTask(config, poisoned={2}), config)  # step 3
    states = [torch.load(tmp_path / "run" / f"checkpoint-{s:07d}.pt", weights_only=True) for s in (2, 3, 4)]
    for key in states[0]["model"]:  # step 3 did not move a weight, step 4 did
        assert torch.equal(states[0]["model"][key], states[1]["model"][key]), key
        assert torch.isfinite(states[2]["model"][key]).all(), key
    assert any(not torch.equal(states[1]["model"][k], states[2]["model"][k]) for k in states[1]["model"])
    lines = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [(line["step"], line["loss"] is None, line["skipped_steps"]) for line in lines] == [
        (1, False, 0),
        (2, False, 0),
        (3, True, 1),
        (4, False, 1),
    ]


def test_too_many_bad_steps_stop_and_keep_the_last_good_checkpoint(rendered, tmp_path):
    config = tiny_config(
        tmp_path / "run",
        rendered,
        ckpt_every=2,
        grid_every=0,
        max_bad_steps=3,
        optim={"warmup_steps": 1, "schedule_steps": 8, "max_steps": 8},
    )
    with pytest.raises(NonFiniteTrainingError, match=r"3 steps in a row \(to step 6\).*last good state, step 4"):
        run(PoisonedTask(config, poisoned=range(3, 100)), config)  # steps 4, 5, 6 ...
    state = torch.load(tmp_path / "run" / "checkpoint-last.pt", weights_only=True)
    assert state["step"] == 4  # the regular save (step 4 skipped, weights as after step 3), not step 6
    assert all(torch.isfinite(v).all() for v in state["model"].values())


def corrupt_every_image(source, target) -> None:
    """A copy of a rendered folder whose images are all zero bytes (tar headers intact)."""
    target.mkdir()
    for shard in sorted(source.glob("*.tar")):
        data = bytearray(shard.read_bytes())
        with tarfile.open(shard) as archive:
            for member in archive.getmembers():
                if member.name.endswith((".jpg", ".png")):
                    data[member.offset_data : member.offset_data + member.size] = bytes(member.size)
        (target / shard.name).write_bytes(bytes(data))


@pytest.mark.parametrize("workers", [0, 1])
def test_an_all_corrupt_source_ends_with_one_line_naming_it(rendered, tmp_path, workers):
    broken = tmp_path / "broken"
    corrupt_every_image(rendered, broken)
    result = CliRunner().invoke(
        train_cli,
        [
            "pretrain",
            "--data",
            f"rendered:{broken}",
            "--out",
            str(tmp_path / "run"),
            *SMALL,
            f"num_workers={workers}",
            "optim.max_steps=1",
        ],
    )
    assert result.exit_code == 2, result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith(f"croco-train: error: data source rendered:{broken}: 101 corrupt samples in a row"), line
    assert "Traceback" not in result.output


def test_a_cut_off_log_line_does_not_block_resuming(rendered, tmp_path):
    optim = {"warmup_steps": 1, "schedule_steps": 8}
    pretrain(tiny_config(tmp_path / "run", rendered, grid_every=0, optim={**optim, "max_steps": 2}))
    log_path = tmp_path / "run" / "log.jsonl"
    with open(log_path, "a") as handle:
        handle.write('{"step": 3, "loss": 0.9')  # a write cut by a power loss
    pretrain(tiny_config(tmp_path / "run", rendered, grid_every=0, optim={**optim, "max_steps": 4}))
    assert [json.loads(line)["step"] for line in log_path.read_text().splitlines()] == [1, 2, 3, 4]
    log_path.write_text('{"step": 1}\nnot json\n{"step": 2}\n')
    with pytest.raises(ValueError, match=r"log\.jsonl:2: not a log entry"):
        pretrain(tiny_config(tmp_path / "run", rendered, grid_every=0, optim={**optim, "max_steps": 6}))


def test_init_with_another_network_is_refused_naming_the_keys(rendered, tmp_path):
    checkpoint = tmp_path / "other.pt"
    torch.save(
        {
            "model": CroCoNet(preset_config("croco-v2-base-small", **TINY)).state_dict(),
            "croco_config": {**preset_config("croco-v2-base-small", **TINY).__dict__},
        },
        checkpoint,
    )
    result = CliRunner().invoke(
        train_cli,
        [
            "pretrain",
            "--data",
            f"rendered:{rendered}",
            "--out",
            str(tmp_path / "run"),
            "--init",
            f"croco:{checkpoint}",
            "num_workers=0",
        ],
    )
    assert result.exit_code == 2, result.output
    assert f"init {checkpoint} holds another network" in result.output
    assert "img_size 64 vs 112" in result.output and "enc_embed_dim 64 vs 192" in result.output
    assert not (tmp_path / "run").exists()


class Opaque:
    """A class a plain pickle names: loading it would import and run this module's code."""


@pytest.mark.parametrize("kind", ["module", "pickled_object", "plain_pickle"])
def test_pickled_init_files_say_why_they_are_refused(rendered, tmp_path, kind):
    path = tmp_path / f"{kind}.pth"
    if kind == "module":
        torch.save(CroCoNet(preset_config("croco-v2-base-small", **TINY)), path)
        expected = [
            "a pickled checkpoint that needs code execution",
            "crocohuman.model.croco.CroCoNet",
            "weights_only refused: Unsupported global",
            "torch.save({'model': model.state_dict()",
        ]
    elif kind == "pickled_object":
        path.write_bytes(pickle.dumps({"model": Opaque()}))
        expected = ["a pickled checkpoint that needs code execution", "test_train_robust.Opaque"]
    else:
        path.write_bytes(pickle.dumps({"model": {"w": [1.0, 2.0]}}))
        expected = ["a plain Python pickle, not a torch.save file", "re-save its weights with torch.save("]
    result = CliRunner().invoke(
        train_cli,
        [
            "pretrain",
            "--data",
            f"rendered:{rendered}",
            "--out",
            str(tmp_path / "run"),
            "--init",
            f"croco:{path}",
            "num_workers=0",
        ],
    )
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"croco-train: error: {path}: ") and len(result.output.strip().splitlines()) == 1
    for text in expected:
        assert text in result.output, (text, result.output)
