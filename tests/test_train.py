"""Pretraining on freshly rendered takes: learning, exact resume, DDP, CLI, bad inputs."""

from __future__ import annotations

import json
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
from click.testing import CliRunner
from safetensors.torch import load_file

from crocohuman.model.cli import main as train_cli
from crocohuman.model.criterion import masked_mse
from crocohuman.model.croco import CroCoNet, preset_config
from crocohuman.model.masking import uniform_mask
from crocohuman.model.pairs.mixture import PairMixture, SourceConfig
from crocohuman.model.pairs.transforms import PairTransform
from crocohuman.model.pretrain import pretrain
from crocohuman.model.train_config import TrainConfig

from fake_pretrain import TINY, render_tiny_takes, tiny_config


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return render_tiny_takes(tmp_path_factory.mktemp("takes"))


def test_tiny_model_overfits_two_rendered_pairs(rendered):
    """Memorising two pairs: the masked-patch error falls below half of the best prediction that
    knows nothing about a patch but its statistics (zero, the mean of a norm_pix target), whose
    error is the targets' mean square (~1). 120 steps, one thread: a few seconds (the loss is ~0.52 at
    80 steps and ~0.32 at 120 on the takes rendered at c0840d8)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    dataset = PairMixture.from_configs(
        [SourceConfig("rendered", str(rendered))], transform=PairTransform(size=64), seed=0
    )
    batch = torch.utils.data.default_collate([dataset[i] for i in range(2)])
    model = CroCoNet(preset_config("croco-v2-base-small", **{**TINY, "dec_embed_dim": 64, "dec_depth": 2}))
    optimizer = model.configure_optimizers(0.0, 3e-3, (0.9, 0.95))
    mask = uniform_mask(2, (TINY["img_size"] // TINY["patch_size"]) ** 2, 0.75, torch.Generator().manual_seed(0))
    try:
        for _ in range(120):
            pred, mask, target = model(batch["img1"], batch["img2"], mask=mask)
            loss = masked_mse(pred, target, mask)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    finally:
        torch.set_num_threads(threads)
    trivial = masked_mse(torch.zeros_like(pred), target, mask).item()
    assert 0.9 < trivial < 1.1  # a norm_pix target has unit variance per patch
    assert loss.item() < 0.5 * trivial, (loss.item(), trivial)


def test_resume_equals_the_uninterrupted_run(rendered, tmp_path):
    straight = tiny_config(tmp_path / "straight", rendered)
    pretrain(straight)
    interrupted = tiny_config(tmp_path / "resumed", rendered, optim={**straight.optim.__dict__, "max_steps": 3})
    pretrain(interrupted)
    resumed = tiny_config(tmp_path / "resumed", rendered)
    pretrain(resumed)
    a = torch.load(tmp_path / "straight" / "checkpoint-last.pt", weights_only=True)
    b = torch.load(tmp_path / "resumed" / "checkpoint-last.pt", weights_only=True)
    assert a["step"] == b["step"] == 6
    for key in a["model"]:
        torch.testing.assert_close(a["model"][key], b["model"][key], rtol=0, atol=0)
    lines = [json.loads(line) for line in (tmp_path / "straight" / "log.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [1, 2, 3, 4, 5, 6]
    assert {"loss", "lr", "samples_per_s", "data_s", "step_s"} <= set(lines[0])
    assert (tmp_path / "straight" / "grids" / "step-0000003.png").exists()


def test_uniform_masking_hides_three_quarters_of_each_row():
    mask = uniform_mask(4, 64, 0.75, torch.Generator().manual_seed(0))
    assert mask.shape == (4, 64) and mask.dtype == torch.bool
    assert mask.sum(1).tolist() == [48] * 4  # int(0.75 x 64) per row
    assert len({tuple(row.tolist()) for row in mask}) == 4  # each row its own choice


def test_tiny_model_overfits_two_rendered_images_with_the_mae_objective(rendered):
    """No second view (MAE): the masked-patch error still falls below half of the trivial one.
    120 steps: at 60 the margin depended on the rendered bytes (0.57 of trivial on some seeds)."""
    torch.manual_seed(0)
    dataset = PairMixture.from_configs(
        [SourceConfig("rendered", str(rendered))], transform=PairTransform(size=64), seed=0
    )
    images = torch.utils.data.default_collate([dataset[i] for i in range(2)])["img1"]
    model = CroCoNet(preset_config("croco-v2-base-small", **{**TINY, "dec_embed_dim": 64, "dec_depth": 2}))
    optimizer = model.configure_optimizers(0.0, 3e-3, (0.9, 0.95))
    mask = uniform_mask(2, (TINY["img_size"] // TINY["patch_size"]) ** 2, 0.75, torch.Generator().manual_seed(0))
    for _ in range(120):
        pred, mask, target = model(images, None, mask=mask)
        loss = masked_mse(pred, target, mask)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    trivial = masked_mse(torch.zeros_like(pred), target, mask).item()
    assert loss.item() < 0.5 * trivial, (loss.item(), trivial)


def test_mae_objective_with_uniform_masking_runs_in_the_trainer(rendered, tmp_path):
    """The trainer's MAE path end to end (DDP's unused cross-attention, uniform masks): six logged steps,
    the returned values being the last step's."""
    out = tmp_path / "mae"
    values = pretrain(tiny_config(out, rendered, objective="mae", masking="uniform"))
    lines = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [1, 2, 3, 4, 5, 6]
    assert values["loss"] == pytest.approx(lines[-1]["loss"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, port: int, config: TrainConfig) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE="2", RANK=str(rank), LOCAL_RANK=str(rank)
    )
    torch.set_num_threads(1)
    pretrain(config)


def test_two_process_gloo_ddp(rendered, tmp_path):
    config = tiny_config(
        tmp_path / "ddp", rendered, optim={"base_lr": 1e-3, "warmup_steps": 1, "schedule_steps": 4, "max_steps": 3}
    )
    mp.spawn(_ddp_worker, args=(_free_port(), config), nprocs=2, join=True)
    state = torch.load(tmp_path / "ddp" / "checkpoint-last.pt", weights_only=True)
    assert state["step"] == 3


def test_cli_pretrain_then_export(rendered, tmp_path):
    out = tmp_path / "cli"
    runner = CliRunner()
    result = runner.invoke(
        train_cli,
        [
            "pretrain",
            "--config",
            "tiny-cpu",
            "--data",
            f"rendered:{rendered}",
            "--out",
            str(out),
            "optim.max_steps=2",
            "batch_size=2",
            "num_workers=0",
            "grid_every=1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "grids" / "step-0000002.png").exists()
    exported = tmp_path / "encoder.safetensors"
    result = runner.invoke(
        train_cli,
        ["export", "--checkpoint", str(out / "checkpoint-last.pt"), "--output", str(exported), "--encoder-only"],
    )
    assert result.exit_code == 0, result.output
    trained = torch.load(out / "checkpoint-last.pt", weights_only=True)["model"]
    weights = load_file(exported)
    encoder = {key for key in trained if not key.startswith(("dec", "decoder_embed", "mask_token", "prediction_head"))}
    assert set(weights) == encoder, set(weights) ^ encoder
    for key, value in weights.items():
        torch.testing.assert_close(value, trained[key], rtol=0, atol=0, msg=key)


@pytest.mark.parametrize("case", ["missing_data", "wrong_checkpoint", "unknown_key"])
def test_bad_inputs_are_clear_errors(rendered, tmp_path, case):
    args = ["pretrain", "--config", "tiny-cpu", "--out", str(tmp_path / "bad"), "num_workers=0"]
    if case == "missing_data":
        args += ["--data", f"rendered:{tmp_path / 'nowhere'}"]
        expected = str(tmp_path / "nowhere")
    elif case == "wrong_checkpoint":
        bogus = tmp_path / "vit.pth"
        torch.save({"model": {"blocks.0.attn.qkv.weight": torch.zeros(3, 3)}}, bogus)
        args += ["--data", f"rendered:{rendered}", "--init", f"croco:{bogus}"]
        expected = str(bogus)
    else:
        args += ["--data", f"rendered:{rendered}", "learning_rate=3"]
        expected = "learning_rate"
    result = CliRunner().invoke(train_cli, args)
    assert result.exit_code == 2, result.output
    assert expected in result.output
