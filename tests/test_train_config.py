"""Presets, key=value overrides and typed command values become checked configs; a bad value
fails before any work, with one line that starts with its key or option."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from crocohuman.model.cli import main as train_cli
from crocohuman.model.train_config import ConfigError, load_config


def test_overrides_in_exponent_notation_are_numbers():
    config = load_config("finetune-tiny-cpu", ["optim.base_lr=1e-2", "optim.max_steps=4e3", "finetune.shots=16"])
    assert config.optim.base_lr == 0.01 and isinstance(config.optim.base_lr, float)  # YAML alone says '1e-2'
    assert config.optim.max_steps == 4000 and isinstance(config.optim.max_steps, int)
    assert config.finetune.shots == 16 and config.finetune.mirror is True
    nested = load_config(
        "tiny-cpu",
        ["model_overrides={img_size: 112, mask_ratio: 9e-1}", "data=[{kind: rendered, root: out/demo, weight: 5e-1}]"],
    )
    assert nested.model_overrides["mask_ratio"] == 0.9 and nested.data[0].weight == 0.5  # nested values too


@pytest.mark.parametrize("text", ["off", "2024", "it's", "yes: no", "[a]", "~"])
def test_text_fields_take_the_text_as_written(text):
    config = load_config("finetune-tiny-cpu", [f"out_dir={text}", f"finetune.root={text}", f"init=croco:{text}"])
    assert (config.out_dir, config.finetune.root, config.init) == (text, text, f"croco:{text}")


def test_typed_values_are_set_without_parsing():
    config = load_config(
        "tiny-cpu", [], {"out_dir": "off", "data": [{"kind": "rendered", "root": "it's: [x]"}], "optim.max_steps": 7}
    )
    assert config.out_dir == "off" and config.data[0].root == "it's: [x]" and config.optim.max_steps == 7


# (override, the message's start): every rule of train_config, each refused with its key and value
BAD_OVERRIDES = [
    ("optim.base_lr=fast", "optim.base_lr must be a number, got 'fast'"),
    ("optim.max_steps=12.5", "optim.max_steps must be a whole number, got 12.5"),
    ("batch_size=many", "batch_size must be a number, got 'many'"),
    ("batch_size=true", "batch_size must be a number, got True"),
    ("batch_size=0", "batch_size must be >= 1, got 0"),
    ("accum_steps=0", "accum_steps must be >= 1, got 0"),
    ("optim.max_steps=0", "optim.max_steps must be >= 1, got 0"),
    ("optim.base_lr=-1e-3", "optim.base_lr must be a finite number >= 0, got -0.001"),
    ("optim.min_lr=.nan", "optim.min_lr must be a finite number >= 0, got nan"),
    ("optim.weight_decay=-1", "optim.weight_decay must be a finite number >= 0, got -1.0"),
    ("optim.betas=[0.9, 1.0]", "optim.betas must be two numbers in [0, 1), got [0.9, 1.0]"),
    ("optim.warmup_steps=700", "optim.warmup_steps must be <= optim.schedule_steps (600), got 700"),
    ("optim.schedule_steps=0", "optim.schedule_steps must be >= 1, got 0"),
    ("optim.learning_rate=1", "optim.learning_rate is not a config key; valid keys of optim: base_lr, betas, "),
    ("mask_ratio=1", "mask_ratio must be in [0, 1), got 1.0"),
    ("mask_ratio=-0.1", "mask_ratio must be in [0, 1), got -0.1"),
    ("image_size=100", "image_size must be a multiple of the patch size 16, got 100"),
    ("image_size=224", "image_size must be the model's img_size (112"),
    ("model=croco-v3", "model must be one of croco-v1, "),
    ("model_overrides={enc_dim: 3}", "model_overrides must be a mapping of CroCoConfig keys"),
    ("model_overrides.enc_num_heads=5", "model_overrides must make a valid network"),
    ("objective=simclr", "objective must be one of croco, mae, got 'simclr'"),
    ("masking=random", "masking must be one of human, uniform, got 'random'"),
    ("pad_to=longest", "pad_to must be one of max_human, max_visible, got 'longest'"),
    ("dtype=fp16", "dtype must be one of bf16, fp32, got 'fp16'"),
    ("device=gpu", "device must be auto, cpu, cuda or cuda:N, got 'gpu'"),
    ("compile=maybe", "compile must be true or false, got 'maybe'"),
    ("num_workers=-1", "num_workers must be >= 0, got -1"),
    ("seed=-3", "seed must be >= 0, got -3"),
    ("log_every=0", "log_every must be >= 1, got 0"),
    ("grid_every=-1", "grid_every must be >= 0, got -1"),
    ("ckpt_every=0", "ckpt_every must be >= 1, got 0"),
    ("keep_every=-1", "keep_every must be >= 0, got -1"),
    ("max_bad_steps=0", "max_bad_steps must be >= 1, got 0"),
    ("init=imagenet:x.pth", "init must be random, croco:PATH or weights:PATH, got 'imagenet:x.pth'"),
    ("init=croco:", "init must be random, croco:PATH or weights:PATH, got 'croco:'"),
    ("init=random:x", "init must be random, croco:PATH or weights:PATH, got 'random:x'"),
    ("data=[]", "data must list at least one source for pretraining"),
    ("data=[{kind: imagenet, root: x}]", "data[0].kind must be one of rendered, render, humbi, "),
    ("data=[{kind: rendered, root: x, weight: 0}]", "data[0].weight must be a finite number > 0, got 0.0"),
    ("data=[{kind: rendered, root: ''}]", "data[0].root must be a folder, got ''"),
    ("data=[{kind: rendered, root: 12}]", "data[0].root must be text (quote it in YAML), got 12"),
    ("data=[{kind: rendered, path: x}]", "data[0].path is not a config key; valid keys of data[0]: kind, options, "),
    ("data=oops", "data must be a list, got 'oops'"),
    ("learning_rate=3", "learning_rate is not a config key; valid keys: accum_steps, batch_size, "),
    ("batch_size", "an override must be key=value, got 'batch_size'"),
    ("model_overrides={a: [}", "model_overrides must be a YAML value"),
]
BAD_FINETUNE = [
    ("finetune.task=pose", "finetune.task must be one of hmr, hmr-free, "),
    ("finetune.mode=stereo", "finetune.mode must be one of monocular, binocular, got 'stereo'"),
    ("finetune.benchmark=h36m", "finetune.benchmark must be one of 3dpw, "),
    ("finetune.shots=-1", "finetune.shots must be >= 0, got -1"),
    ("finetune.num_classes=-2", "finetune.num_classes must be >= 0, got -2"),
    ("finetune.backbone_lr_scale=-1", "finetune.backbone_lr_scale must be a finite number >= 0, got -1.0"),
    ("finetune.top_crop=2", "finetune.top_crop must be a fraction of the box height in [0, 1], got 2.0"),
    ("finetune.mirror=sometimes", "finetune.mirror must be true or false, got 'sometimes'"),
    ("finetune.task=gesture", "finetune.benchmark must be one of hagrid for task 'gesture', got 'synthetic'"),
]


@pytest.mark.parametrize("override,message", BAD_OVERRIDES)
def test_a_bad_pretraining_value_names_its_key(override, message):
    with pytest.raises(ConfigError) as error:
        load_config("tiny-cpu", [override])
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("override,message", BAD_FINETUNE)
def test_a_bad_finetuning_value_names_its_key(override, message):
    with pytest.raises(ConfigError) as error:
        load_config("finetune-tiny-cpu", [override])
    assert message in str(error.value)


# command lines that must fail before any model or data is built: (arguments, the error line's start)
BAD_COMMANDS = [
    (["pretrain", "--data", "rendered"], "--data must be KIND:ROOT or KIND:ROOT:WEIGHT"),
    (["pretrain", "--data", "rendered:{tmp}:heavy"], "--data's WEIGHT must be a number, got 'heavy'"),
    (["pretrain", "--data", "rendered:{tmp}:0"], "data[0].weight must be a finite number > 0, got 0.0"),
    (["pretrain", "--data", "flickr:{tmp}"], "data[0].kind must be one of"),
    (
        ["pretrain", "--data", "rendered:{tmp}/nowhere"],
        "data[0].root (--data rendered:ROOT) must be an existing folder",
    ),
    (["pretrain", "--data", "rendered:{tmp}", "--init", "croco:{tmp}/none.pth"], "init must name an existing file"),
    (["pretrain", "--data", "rendered:{tmp}", "--init", "croco"], "init must be random, croco:PATH or weights:PATH"),
    (["pretrain", "--data", "rendered:{tmp}", "--config", "huge"], "--config must be a preset"),
    (["pretrain", "--data", "rendered:{tmp}", "optim.max_steps=0"], "optim.max_steps must be >= 1, got 0"),
    (["finetune", "--task", "hmr", "--data", "synthetic"], "--data must be BENCHMARK:ROOT"),
    (["finetune", "--task", "hmr", "--data", "mpii:{tmp}"], "finetune.benchmark must be one of"),
    (["finetune", "--task", "hmr", "--data", "synthetic:{tmp}/nowhere"], "finetune.root (--data BENCHMARK:ROOT) must"),
    (
        ["finetune", "--task", "hand-mesh", "--data", "freihand:{tmp}", "--model-path", "{tmp}/mano.pkl"],
        "finetune.model_path (--model-path) must be an existing MANO folder or file",
    ),
    (
        ["finetune", "--task", "hmr", "--data", "synthetic:{tmp}", "--init", "weights:{tmp}/w.safetensors"],
        "init must name an existing file",
    ),
    (["finetune", "--task", "grasp", "--data", "gun71:{tmp}"], "finetune.num_classes must be >= 2 for task 'grasp'"),
]


@pytest.mark.parametrize("args,message", BAD_COMMANDS)
def test_bad_command_lines_fail_at_once_with_one_line(tmp_path, args, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args] + ["--out", str(tmp_path / "run")]
    start = time.perf_counter()
    result = CliRunner().invoke(train_cli, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith(f"croco-train: error: {message}"), result.output
    assert time.perf_counter() - start < 5 and not (tmp_path / "run").exists()  # nothing was built or written
