"""Dataclass configs filled from YAML trees and ``key=value`` overrides, converted by their annotations.

Every value is converted (or refused) by its field's type hint, so choices are ``Literal``s, numbers
are numbers and an unknown key anywhere names the valid ones; no value goes through text twice:

- ``convert(value, hint, key)``: one value to its hint, or ``ConfigError`` naming ``key``;
- ``convert_fields(config, prefix)``: every field of a dataclass, called from its ``__post_init__``
  so that configs built in Python are checked like those read from files;
- ``from_mapping(cls, data, key)``: a dataclass from a mapping, refusing unknown keys;
- ``override_value(cls, dotted, text)``: a command-line ``key=value``: text fields (``str``,
  ``Path``, ``Literal``) take the text as written, anything else reads it as YAML 1.2 first;
- ``set_dotted(tree, dotted, value)``: put a value at a dotted path of a YAML tree.

Generic: imports nothing of this project, so any package's configs can use it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml


class ConfigError(ValueError):
    """A config value of the wrong type, out of its range or under an unknown key; the message starts with the key."""


class Yaml12Loader(yaml.SafeLoader):
    """YAML with YAML 1.2's numbers: PyYAML follows YAML 1.1, where ``1e-4`` (no dot) is a string."""


Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"), list("-+.0123456789")
)


def read_yaml(text: str, key: str) -> Any:
    """``text`` as YAML 1.2 (numbers) or ``ConfigError`` naming ``key``."""
    try:
        return yaml.load(text, Loader=Yaml12Loader)
    except yaml.YAMLError as error:
        raise ConfigError(f"{key} must be a YAML value, got {text!r} ({str(error).splitlines()[0]})") from None


def require(ok: bool, key: str, rule: str, value: Any) -> None:
    """Raise ``<key> must be <rule>, got <value>`` unless ``ok``."""
    if not ok:
        raise ConfigError(f"{key} must be {rule}, got {value!r}")


def without_none(hint: Any) -> Any:
    """``X | None`` -> X; other hints unchanged."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        kinds = [k for k in typing.get_args(hint) if k is not type(None)]
        return kinds[0] if len(kinds) == 1 else hint
    return hint


def choices(hint: Any) -> tuple:
    """The values of a ``Literal`` hint (``Literal["a", "b"]`` -> ("a", "b"))."""
    return typing.get_args(hint)


@functools.cache
def field_hints(cls: type) -> dict[str, Any]:
    """A dataclass's resolved field annotations (string annotations evaluated once)."""
    hints = typing.get_type_hints(cls)
    return {spec.name: hints[spec.name] for spec in dataclasses.fields(cls)}


def _number(value: Any, kind: type, key: str) -> int | float:
    """``4e3`` for an int field is 4000; text, bools and fractions for an int field are refused."""
    if isinstance(value, kind) and not isinstance(value, bool):
        return value
    require(isinstance(value, (int, float)) and not isinstance(value, bool), key, "a number", value)
    if kind is int:
        require(math.isfinite(value) and value == int(value), key, "a whole number", value)
        return int(value)
    return float(value)


def _sequence(value: Any, hint: Any, key: str) -> tuple | list:
    """A list or tuple of converted items: ``tuple[X, Y]`` fixed length, ``tuple[X, ...]`` and ``list[X]`` any."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    require(isinstance(value, (list, tuple)), key, "a list", value)
    if origin is tuple and args and args[-1] is not Ellipsis:
        require(len(value) == len(args), key, f"a list of {len(args)} values", list(value))
        items = [convert(v, arg, f"{key}[{i}]") for i, (v, arg) in enumerate(zip(value, args))]
    else:
        item = args[0] if args else Any
        items = [convert(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    return tuple(items) if origin is tuple else items


def convert(value: Any, hint: Any, key: str) -> Any:
    """``value`` as its ``hint`` says, or ``ConfigError`` starting with ``key``."""
    if hint is Any:
        return value
    inner = without_none(hint)
    if inner is not hint:
        return None if value is None else convert(value, inner, key)
    origin = typing.get_origin(hint)
    if origin is Literal:
        require(value in choices(hint), key, f"one of {', '.join(map(str, choices(hint)))}", value)
        return value
    if hint is bool:
        require(isinstance(value, bool), key, "true or false", value)
    elif hint in (int, float):
        return _number(value, hint, key)
    elif hint is str:
        require(isinstance(value, str), key, "text (quote it in YAML)", value)
    elif hint is Path:
        require(isinstance(value, (str, Path)), key, "a path", value)
        return Path(value)
    elif origin in (list, tuple):
        return _sequence(value, hint, key)
    elif origin is dict or hint is dict:
        require(isinstance(value, Mapping), key, "a mapping", value)
        item = typing.get_args(hint)[1] if typing.get_args(hint) else Any
        return {k: convert(v, item, f"{key}.{k}") for k, v in value.items()}
    elif dataclasses.is_dataclass(hint):
        return value if isinstance(value, hint) else from_mapping(hint, value, key)
    return value


def convert_fields(config: Any, prefix: str = "") -> None:
    """Every field of the dataclass ``config`` converted in place by its annotation; keys are ``prefix + name``."""
    for name, hint in field_hints(type(config)).items():
        setattr(config, name, convert(getattr(config, name), hint, prefix + name))


def unknown_key_error(cls: type, key: str, name: str) -> ConfigError:
    """The error for ``name`` under ``key``, listing the keys ``cls`` has."""
    where = f"{key}.{name}" if key else name
    valid = ", ".join(sorted(field_hints(cls)))
    return ConfigError(f"{where} is not a config key; valid keys{f' of {key}' if key else ''}: {valid}")


def from_mapping(cls: type, data: Any, key: str = "") -> Any:
    """A ``cls`` from the mapping ``data``; a key ``cls`` does not have is refused, naming the valid ones."""
    require(isinstance(data, Mapping), key or "the config", f"a mapping of {cls.__name__} fields", data)
    known = field_hints(cls)
    for name in data:
        if name not in known:
            raise unknown_key_error(cls, key, name)
    return cls(**data)


def dotted_hint(cls: type, dotted: str) -> Any:
    """The type hint of the dotted key ``dotted`` of ``cls`` (``optim.max_steps`` -> int); inside a
    free-form table (``model_overrides.img_size``) the table's value type; unknown keys are refused."""
    hint: Any = cls
    parents: list[str] = []
    for part in dotted.split("."):
        hint = without_none(hint)
        if dataclasses.is_dataclass(hint):
            hints = field_hints(hint)
            if part not in hints:
                raise unknown_key_error(hint, ".".join(parents), part)
            hint = hints[part]
        elif typing.get_origin(hint) is dict or hint is dict:
            hint = typing.get_args(hint)[1] if typing.get_args(hint) else Any
        elif hint is not Any:
            raise ConfigError(f"{dotted} is not a config key: {'.'.join(parents)} has no keys inside")
        parents.append(part)
    return hint


def takes_text(hint: Any) -> bool:
    """Whether a command-line value for ``hint`` is the text as written (never read as YAML)."""
    hint = without_none(hint)
    return hint in (str, Path) or (
        typing.get_origin(hint) is Literal and all(isinstance(c, str) for c in choices(hint))
    )


def override_value(cls: type, dotted: str, text: str) -> Any:
    """The value of the command-line ``dotted=text`` for a ``cls`` config, converted by the key's hint."""
    hint = dotted_hint(cls, dotted)
    return convert(text if takes_text(hint) else read_yaml(text, dotted), hint, dotted)


def split_override(item: str) -> tuple[str, str]:
    """``key=value`` -> (key, text)."""
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"an override must be key=value, got {item!r}")
    return key, text


def set_dotted(tree: dict, dotted: str, value: Any) -> None:
    """``tree[a][b] = value`` for ``dotted`` ``a.b``, making the mappings on the way."""
    *parents, leaf = dotted.split(".")
    for key in parents:
        child = tree.get(key)
        if child is None:
            child = tree[key] = {}
        require(isinstance(child, dict), dotted, f"inside a mapping, but {key} is", child)
        tree = child
    tree[leaf] = value


__all__ = [
    "ConfigError",
    "Yaml12Loader",
    "choices",
    "convert",
    "convert_fields",
    "dotted_hint",
    "from_mapping",
    "override_value",
    "read_yaml",
    "require",
    "set_dotted",
    "split_override",
    "takes_text",
    "without_none",
]
