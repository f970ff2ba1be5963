"""Every fine-tuning task is registered once, completely, and every list of task or benchmark
names (command-line choices, scorers, dense surfaces) is that registry's."""

from __future__ import annotations

import inspect
import typing

import click
import pytest
import torch

from crocohuman.datasets import BENCHMARKS
from crocohuman.eval.cli import main as eval_cli
from crocohuman.eval.evaluate import check_task_fits
from crocohuman.eval.scoring import DENSE_SURFACES, SCORERS
from crocohuman.model.cli import main as train_cli
from crocohuman.model.croco import preset_config
from crocohuman.model.task_catalog import SCORE_KINDS, TASK_INFO, TASK_NAMES, TaskName, task_spec, tasks_on
from crocohuman.model.tasks.losses import POINT_TARGETS, ROTATION_TARGETS, SHAPE_WEIGHTS
from crocohuman.model.tasks.spec import TaskSpec
from crocohuman.model.train_config import FinetuneConfig

SUPERVISED = {*POINT_TARGETS, *ROTATION_TARGETS, *SHAPE_WEIGHTS, "joints2d"}  # what prediction_loss can read


def _choices(command: click.Command, name: str) -> list:
    return list(next(p for p in command.params if p.name == name).type.choices)


@pytest.mark.parametrize("name", typing.get_args(TaskName))
def test_every_task_name_has_a_complete_spec(name):
    info = TASK_INFO[name]
    spec = task_spec(name)
    assert isinstance(spec, TaskSpec) and spec.info is info and not inspect.isabstract(type(spec))
    assert info.score_kind in SCORERS and info.benchmarks and set(info.benchmarks) <= set(BENCHMARKS)
    assert info.summary and info.targets and info.predictions


def test_command_choices_are_the_registries():
    assert _choices(train_cli.commands["finetune"], "task") == list(TASK_NAMES)
    assert _choices(eval_cli, "benchmark") == list(BENCHMARKS)
    assert set(SCORERS) == set(SCORE_KINDS)
    dense = {
        benchmark for info in TASK_INFO.values() if info.score_kind == "densepose" for benchmark in info.benchmarks
    }
    assert set(DENSE_SURFACES) == dense


@pytest.mark.parametrize("name", [name for name, info in TASK_INFO.items() if info.score_kind != "hand_mesh"])
def test_a_head_predicts_the_registered_arrays_and_its_targets_cover_them(name):
    """MANO-free tasks on a tiny backbone: ``predict`` gives exactly ``TaskInfo.predictions`` (the
    predictions-file contract), and every prediction the loss could supervise is in ``targets``."""
    info = TASK_INFO[name]
    finetune = FinetuneConfig(task=name, benchmark=info.benchmarks[0], num_classes=5 if info.needs_classes else 0)
    backbone = preset_config("tiny", enc_depth=4)  # DPT hooks four encoder blocks
    head = task_spec(name).make_head(finetune, backbone).eval()
    tokens = (64 // backbone.patch_size) ** 2
    width = task_spec(name).head_width(finetune, backbone)
    features = (
        [torch.randn(2, tokens, backbone.enc_embed_dim)] * backbone.enc_depth
        if not info.image_level
        else torch.randn(2, tokens, width)
    )
    with torch.no_grad():
        predictions = task_spec(name).predict(head(features))
    assert set(info.predictions) <= set(predictions)
    for array, shape in info.predictions.items():
        assert predictions[array].ndim == 1 + len(shape), array
        assert all(s is None or s == t for s, t in zip(shape, predictions[array].shape[1:])), array
    assert set(predictions) & SUPERVISED <= set(info.targets)


def test_a_task_is_scored_only_on_its_benchmarks():
    check_task_fits("3dpw", "hmr", "run.pt")  # an hmr fine-tuned on renders is scored on 3DPW
    with pytest.raises(ValueError, match="croco-eval freihand, not hagrid") as error:
        check_task_fits("hagrid", "hand-mesh", "run.pt")
    assert "--task gesture" in str(error.value)
    with pytest.raises(ValueError, match="--task hand-mesh or --task hand-mesh-free"):
        check_task_fits("freihand", "gesture", "run.pt")
    with pytest.raises(ValueError, match="no task is scored on interhand"):
        check_task_fits("interhand", "hmr-free", "run.pt")
    assert tasks_on("synthetic") == ("hmr", "hmr-free", "hand-joints", "densepose")
