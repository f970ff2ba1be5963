"""Presets and key=value overrides become typed configs; a bad value names its key."""

from __future__ import annotations

import pytest

from crocohuman.model.train_config import load_config


def test_overrides_in_exponent_notation_are_numbers():
    config = load_config("finetune-tiny-cpu", ["optim.base_lr=1e-2", "optim.max_steps=4e3", "finetune.shots=16"])
    assert config.optim.base_lr == 0.01 and isinstance(config.optim.base_lr, float)  # YAML alone says '1e-2'
    assert config.optim.max_steps == 4000 and isinstance(config.optim.max_steps, int)
    assert config.finetune.shots == 16 and config.finetune.mirror is True
    nested = load_config("tiny-cpu", ["model_overrides={img_size: 112, mask_ratio: 9e-1}",
                                      "data=[{kind: rendered, root: out/demo, weight: 5e-1}]"])
    assert nested.model_overrides["mask_ratio"] == 0.9 and nested.data[0].weight == 0.5  # nested values too


@pytest.mark.parametrize("override,message", [("optim.base_lr=fast", "OptimConfig.base_lr must be a number"),
                                              ("optim.max_steps=12.5", "OptimConfig.max_steps must be a whole"),
                                              ("batch_size=many", "TrainConfig.batch_size must be a number")])
def test_a_bad_number_names_its_key(override, message):
    with pytest.raises(ValueError, match=message):
        load_config("tiny-cpu", [override])
