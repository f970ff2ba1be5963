"""The fine-tuning tasks, registered once: every list of task names and every per-task fact comes from here.

Torch-free on purpose: ``croco-train --help``, the config checks and ``croco-eval``'s checks of a
predictions file read these facts without building a network. How a task trains (head, loss,
predictions, baseline) is its ``TaskSpec`` in ``crocohuman.model.tasks``, imported on first use by
``task_spec(name)``; how it is scored is the scorer ``crocohuman.eval.scoring.SCORERS`` registers for
its ``score_kind`` (model never imports eval).
"""

from __future__ import annotations

import functools
import importlib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

TaskName = Literal["hmr", "hmr-free", "hand-mesh", "hand-mesh-free", "hand-joints", "densepose", "gesture", "grasp"]
HeadMode = Literal["monocular", "binocular"]  # encoder only | encoder + decoder on two images (paper Table 6)
ScoreKind = Literal[
    "body_joints", "hand_mesh", "hand_joints", "densepose", "classes"
]  # which scorer family reads the predictions

TASK_NAMES: tuple[str, ...] = typing.get_args(TaskName)
HEAD_MODES: tuple[str, ...] = typing.get_args(HeadMode)
SCORE_KINDS: tuple[str, ...] = typing.get_args(ScoreKind)

_JOINTS = {"joints": (None, 3)}
_HAND = {"joints": (None, 3), "vertices": (None, 3)}
_BODY_BENCHMARKS = ("synthetic", "3dpw", "eft-coco")
# reader options a task needs on a benchmark: our renders read as whole people, or as hand crops
_BODY_READS = {"synthetic": {"focus": "body"}}
_HAND_READS = {"synthetic": {"focus": "hands"}}
_HAND_KEYPOINTS = 21  # len(conventions.HAND_KEYPOINT_NAMES), not imported: the command line loads no numpy


@dataclass(frozen=True)
class TaskInfo:
    """What is known of a task without torch: what it predicts, from what, where it runs, how it is scored."""

    name: TaskName
    summary: str  # one line for --help and the docs
    score_kind: ScoreKind
    benchmarks: tuple[str, ...]  # benchmarks (crocohuman.datasets names) it fine-tunes and is scored on
    targets: tuple[str, ...]  # batch entries (finetune_data) its loss supervises, each where the data has it
    predictions: Mapping[str, tuple[int | None, ...]]  # arrays it predicts, shape after the sample axis
    implementation: str  # "module:Class" of its TaskSpec in crocohuman.model.tasks
    image_level: bool = True  # a pooled-token head; False: the dense DPT head on every block's tokens
    needs_classes: bool = False  # a classifier: finetune.num_classes >= 2
    smpl_params: bool = False  # predicts SMPL rotations and betas: the SPIN 3DPW protocol (--smpl-model) applies
    reader_options: Mapping[str, Mapping[str, object]] = field(default_factory=dict)  # benchmark -> options


TASK_INFO: dict[str, TaskInfo] = {
    info.name: info
    for info in (
        TaskInfo(
            "hmr",
            "HMR-style iterative regressor of SMPL-tree 6D rotations, scale, camera and shape",
            "body_joints",
            _BODY_BENCHMARKS,
            ("joints", "joints2d", "global_orient", "body_pose", "betas", "phenotypes"),
            _JOINTS,
            "body_joints:HMR",
            smpl_params=True,
            reader_options=_BODY_READS,
        ),
        TaskInfo(
            "hmr-free",
            "model-free: a pooled MLP regresses the 24 SMPL-order joints",
            "body_joints",
            _BODY_BENCHMARKS,
            ("joints",),
            _JOINTS,
            "body_joints:HMRFree",
            reader_options=_BODY_READS,
        ),
        TaskInfo(
            "hand-mesh",
            "iterative regressor of MANO parameters posed by your MANO file (21 joints, 778 vertices)",
            "hand_mesh",
            ("freihand",),
            ("joints", "vertices", "global_orient", "hand_pose", "betas"),
            _HAND,
            "hand_mesh:HandMesh",
        ),
        TaskInfo(
            "hand-mesh-free",
            "model-free (METRO-style): 195 coarse vertices upsampled to MANO's 778",
            "hand_mesh",
            ("freihand",),
            ("joints", "vertices"),
            _HAND,
            "hand_mesh:HandMeshFree",
        ),
        TaskInfo(
            "hand-joints",
            "model-free: a pooled MLP regresses FreiHAND's 21 hand keypoints (no MANO needed)",
            "hand_joints",
            ("synthetic", "freihand"),
            ("joints",),
            {"joints": (_HAND_KEYPOINTS, 3)},
            "hand_mesh:HandJoints",
            reader_options=_HAND_READS,
        ),
        TaskInfo(
            "densepose",
            "DPT head: 25-way part logits and 24 x (U, V)",
            "densepose",
            ("densepose", "synthetic"),
            ("parts", "uv"),
            {"parts": (None, None), "uv": (2, None, None)},
            "densepose:DensePose",
            image_level=False,
            reader_options=_BODY_READS,
        ),
        TaskInfo(
            "gesture",
            "pooled MLP classifier of hand gestures",
            "classes",
            ("hagrid",),
            ("label",),
            {"logits": (None,)},
            "classes:Classify",
            needs_classes=True,
        ),
        TaskInfo(
            "grasp",
            "pooled MLP classifier of grasp types",
            "classes",
            ("gun71",),
            ("label",),
            {"logits": (None,)},
            "classes:Classify",
            needs_classes=True,
        ),
    )
}
assert tuple(TASK_INFO) == TASK_NAMES, "every TaskName is registered once, in the Literal's order"


def tasks_on(benchmark: str) -> tuple[str, ...]:
    """The tasks that fine-tune and are scored on ``benchmark``."""
    return tuple(name for name, info in TASK_INFO.items() if benchmark in info.benchmarks)


def task_reader_options(task: str, benchmark: str, options: Mapping[str, object]) -> dict:
    """The reader options of ``benchmark`` for ``task``: the user's ``options`` and those the task
    needs there (``hand-joints`` reads our renders as hand crops, ``focus=hands``); an option that
    contradicts the task's is an error, not a silent override."""
    needed = TASK_INFO[task].reader_options.get(benchmark, {})
    for key, value in needed.items():
        if key in options and options[key] != value:
            raise ValueError(
                f"task {task} reads {benchmark} with {key}={value}, got the reader option {key}={options[key]}"
            )
    return {**options, **needed}


@functools.cache
def task_spec(name: str):
    """The ``TaskSpec`` of task ``name`` (imports its module, and torch, on first use)."""
    if name not in TASK_INFO:
        raise ValueError(f"unknown task {name!r}; tasks: {', '.join(TASK_NAMES)}")
    info = TASK_INFO[name]
    module, cls = info.implementation.split(":")
    return getattr(importlib.import_module(f"crocohuman.model.tasks.{module}"), cls)(info)


__all__ = [
    "HEAD_MODES",
    "SCORE_KINDS",
    "TASK_INFO",
    "TASK_NAMES",
    "HeadMode",
    "ScoreKind",
    "TaskInfo",
    "TaskName",
    "task_reader_options",
    "task_spec",
    "tasks_on",
]
