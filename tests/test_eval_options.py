"""croco-eval checks every option before any work: one line naming the option, exit status 2.

The checkpoint here is not a checkpoint at all, so each expected message also shows that the check
ran before the model was loaded (loading it would fail with another message)."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from crocohuman.core.atomic_files import write_atomic_with
from crocohuman.eval.cli import main as eval_cli
from crocohuman.eval.report import write_json

CUDA_DEVICES = torch.cuda.device_count() if torch.cuda.is_available() else 0


@pytest.fixture
def bogus(tmp_path):
    """A checkpoint path that exists (but holds text) and an existing data root."""
    (tmp_path / "data").mkdir()
    (tmp_path / "model.pt").write_text("not a checkpoint")
    return tmp_path


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("croco-eval: error: "), result.output
    return lines[0][len("croco-eval: error: ") :]


OPTION_ERRORS = [
    (["--batch-size", "0"], "--batch-size must be >= 1, got 0"),
    (["--batch-size", "-3"], "--batch-size must be >= 1, got -3"),
    (["--workers", "-1"], "--workers must be >= 0, got -1"),
    (["--limit", "0"], "--limit must be >= 1, got 0"),
    (["--device", "tpu"], "--device must be cpu, cuda or cuda:N, got 'tpu'"),
    (["--device", "cuda:1x"], "--device must be cpu, cuda or cuda:N, got 'cuda:1x'"),
    (["--precision", "fp16"], "--precision must be one of fp32, bf16, got 'fp16'"),
    (["--precision", "bf16", "--device", "cpu"], "--precision bf16 needs a CUDA device, got --device cpu"),
    (["--option", "nope=1"], "--option nope: not an option of synthetic; known: frames, views"),
    (["--option", "views"], "--option 'views': expected KEY=VALUE"),
    (["--option", "=3"], "--option '=3': expected KEY=VALUE"),
    (["--smpl-model", "{data}"], "--smpl-model and --h36m-regressor go together"),
    (
        ["--smpl-model", "{root}/none", "--h36m-regressor", "{root}/model.pt"],
        "--smpl-model {root}/none: no such folder",
    ),
    (["--smpl-model", "{data}", "--h36m-regressor", "{root}/J.npy"], "--h36m-regressor {root}/J.npy: no such file"),
    (["--model-path", "{root}/mano"], "--model-path {root}/mano: no such file or folder (your MANO model files)"),
    (["--predictions", "{root}/model.pt"], "give exactly one of --checkpoint"),
    (["--out", "{root}/model.pt"], "--out {root}/model.pt: a file, not a folder"),
]


@pytest.mark.parametrize("args,message", OPTION_ERRORS, ids=[" ".join(a) for a, _ in OPTION_ERRORS])
def test_bad_options_fail_in_one_line_before_loading_the_model(bogus, args, message):
    values = {"root": bogus, "data": bogus / "data"}
    result = CliRunner().invoke(
        eval_cli,
        [
            "synthetic",
            "--checkpoint",
            str(bogus / "model.pt"),
            "--data-root",
            str(bogus / "data"),
            *[a.format(**values) for a in args],
        ],
    )
    assert one_line_error(result).startswith(message.format(**values))


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:7"])
def test_a_cuda_device_that_is_not_here_is_refused(bogus, device):
    if int(device.partition(":")[2] or 0) < CUDA_DEVICES:
        pytest.skip("that CUDA device exists here")
    result = CliRunner().invoke(
        eval_cli,
        ["synthetic", "--checkpoint", str(bogus / "model.pt"), "--data-root", str(bogus / "data"), "--device", device],
    )
    expected = "CUDA is not available here" if CUDA_DEVICES == 0 else f"only {CUDA_DEVICES} CUDA device(s) visible"
    assert one_line_error(result).startswith(f"--device {device}: {expected}")


@pytest.mark.parametrize(
    "source,message",
    [
        ([], "give exactly one of --checkpoint (a fine-tuned model to run) or --predictions"),
        (["--checkpoint", "{root}/missing.pt"], "--checkpoint {root}/missing.pt: no such file"),
        (["--checkpoint", "{data}"], "--checkpoint {data}: a folder, not a file"),
        (["--predictions", "{root}/missing.npz"], "--predictions {root}/missing.npz: no such file"),
    ],
)
def test_the_scored_file_must_be_one_existing_file(bogus, source, message):
    values = {"root": bogus, "data": bogus / "data"}
    result = CliRunner().invoke(
        eval_cli, ["synthetic", "--data-root", str(bogus / "data"), *[a.format(**values) for a in source]]
    )
    assert one_line_error(result).startswith(message.format(**values))


def test_densepose_needs_its_evaluation_assets_up_front(bogus):
    command = ["densepose", "--checkpoint", str(bogus / "model.pt"), "--data-root", str(bogus / "data")]
    missing = one_line_error(CliRunner().invoke(eval_cli, command))
    assert missing.startswith("--option densepose_assets=DIR is required") and "Pdist_matrix.pkl" in missing
    absent = one_line_error(CliRunner().invoke(eval_cli, [*command, "--option", f"densepose_assets={bogus}/dp"]))
    assert absent.startswith(f"--option densepose_assets=DIR {bogus}/dp: no such folder")


def test_a_missing_data_root_gets_the_readers_layout(bogus):
    result = CliRunner().invoke(
        eval_cli, ["3dpw", "--checkpoint", str(bogus / "model.pt"), "--data-root", str(bogus / "none")]
    )
    assert result.exit_code == 2 and f"3DPW: no folder {bogus / 'none'}" in result.output
    assert "sequenceFiles/<split>/<seq>.pkl" in result.output


def test_a_failed_write_leaves_the_previous_file_whole(tmp_path):
    path = tmp_path / "results.json"
    write_json(path, {"samples": 1})

    def killed_half_way(handle):
        handle.write(b'{"samples": ')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic_with(path, killed_half_way)
    assert json.loads(path.read_text()) == {"samples": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary left behind
