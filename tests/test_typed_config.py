"""Configs are converted by their annotations: choices are Literals, unknown keys at any depth
name the valid ones, command-line text becomes the field's type once, presets ship with the package."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from crocohuman.core.typed_config import ConfigError, convert, convert_fields, from_mapping, override_value
from crocohuman.model.train_config import TrainConfig, load_config, preset_names
from crocohuman.render.config import RenderConfig


@dataclass
class Inner:
    size: int = 1
    ratio: float = 0.5

    def __post_init__(self) -> None:
        convert_fields(self, "inner.")


@dataclass
class Outer:
    name: str = "a"
    kind: Literal["fast", "slow"] = "fast"
    folder: Path | None = None
    pair: tuple[float, float] = (0.0, 1.0)
    inner: Inner = field(default_factory=Inner)
    items: list[Inner] = field(default_factory=list)
    table: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        convert_fields(self)


def test_a_mapping_becomes_typed_fields_at_every_depth():
    outer = from_mapping(
        Outer, {"folder": "x/y", "pair": [1, 2], "inner": {"size": 4e3}, "items": [{"ratio": 1}], "table": {"a": 2.0}}
    )
    assert outer.folder == Path("x/y") and outer.pair == (1.0, 2.0) and isinstance(outer.pair[0], float)
    assert outer.inner == Inner(4000, 0.5) and isinstance(outer.inner.size, int)
    assert outer.items == [Inner(1, 1.0)] and outer.table == {"a": 2}


@pytest.mark.parametrize(
    "data,message",
    [
        ({"nmae": "b"}, "nmae is not a config key; valid keys: folder, inner, items, kind, name, pair, table"),
        ({"inner": {"sise": 2}}, "inner.sise is not a config key; valid keys of inner: ratio, size"),
        ({"items": [{}, {"sise": 2}]}, "items[1].sise is not a config key; valid keys of items[1]: ratio, size"),
        ({"kind": "medium"}, "kind must be one of fast, slow, got 'medium'"),
        ({"pair": [1, 2, 3]}, "pair must be a list of 2 values, got [1, 2, 3]"),
        ({"table": {"a": "b"}}, "table.a must be a number, got 'b'"),
        ({"inner": {"size": 2.5}}, "inner.size must be a whole number, got 2.5"),
    ],
)
def test_unknown_keys_and_wrong_values_name_the_key_and_what_it_takes(data, message):
    with pytest.raises(ConfigError) as error:
        from_mapping(Outer, data)
    assert str(error.value) == message


def test_a_literal_is_refused_with_its_choices():
    with pytest.raises(ConfigError, match=r"^mode must be one of a, b, got 'c'$"):
        convert("c", Literal["a", "b"], "mode")
    with pytest.raises(ValueError, match=r"--body must be one of anny, smpl, smplh, smplx, mano, got 'smpl-x'"):
        RenderConfig(output=Path("out"), body="smpl-x")


def test_override_text_is_converted_once_by_the_fields_type():
    assert override_value(TrainConfig, "out_dir", "1e-2") == "1e-2"  # a text field keeps the text
    assert override_value(TrainConfig, "optim.base_lr", "1e-2") == 0.01  # YAML 1.1 alone would say '1e-2'
    assert override_value(TrainConfig, "compile", "true") is True
    assert override_value(TrainConfig, "finetune.mode", "binocular") == "binocular"
    assert override_value(TrainConfig, "model_overrides.mask_ratio", "9e-1") == 0.9  # free-form: YAML 1.2
    with pytest.raises(ConfigError, match=r"optim\.lr is not a config key; valid keys of optim: base_lr, betas"):
        override_value(TrainConfig, "optim.lr", "1")


def test_unknown_keys_in_a_config_file_name_the_valid_ones(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("batch_size: 2\ndata: [{kind: rendered, root: x}]\nfinetune: {task: hmr, colour: red}\n")
    with pytest.raises(
        ConfigError,
        match=r"^finetune.colour is not a config key; valid keys of finetune: "
        r"backbone_lr_scale, benchmark, ",
    ):
        load_config(str(path))
    path.write_text("batch_size: 2\nbatchsize: 3\n")
    with pytest.raises(ConfigError, match=r"^batchsize is not a config key; valid keys: accum_steps, batch_size, "):
        load_config(str(path))


def test_presets_are_package_data_found_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert {"tiny-cpu", "finetune-tiny-cpu", "croco-body", "croco-hand"} <= set(preset_names())
    assert load_config("tiny-cpu").image_size == 112
    with pytest.raises(FileNotFoundError, match=r"--config must be a preset \(croco-body, croco-hand, "):
        load_config("huge")
