"""Config loading: the YAML profile, its top level checked against ``config/schema.yaml``
(:func:`validate`), and each section turned into its dataclass with :func:`config_section`,
the one way from config to dataclass. The dataclasses declare the sections' keys, types,
defaults, bounds and choices (vtscale.config_types); vtscale.config_checks builds every
section of a profile at start, with the rules between keys. Each command receives its
sections as ``--cfg`` JSON (:func:`parse_json_arg`).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, Mapping, TypeVar

import jsonschema
import yaml

from vtscale.errors import ConfigError, SectionError

T = TypeVar("T")


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path]
    return "".join(parts).lstrip(".") or "<top>"


def _describe(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        prefix = _key_path(error)
        keys = ", ".join((f"{prefix}.{k}" if prefix != "<top>" else k) for k in extra)
        return f"unknown key {keys}"
    return f"{_key_path(error)}: {error.message}"


def validate(config: Mapping[str, Any], schema_path: str | Path) -> None:
    """Validate ``config`` against the JSON schema; raise one-line ConfigError."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        raise ConfigError(f"config error: {_describe(best)}")


def load(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"config error: {path} is not valid YAML: {err}") from None


def config_section(cls: type[T], payload: Mapping[str, Any] | None, name: str) -> T:
    """Section ``name`` (dotted: ``"train.stage1"``) of a config or ``--cfg`` payload as
    dataclass ``cls``, nested dataclasses included; a section missing or null gives the
    defaults. An unknown key, a wrong type, a value out of its field's bounds or choices
    (vtscale.config_types) is a one-line ConfigError naming the key; rules between keys
    of the section are the dataclass's own (``__post_init__``)."""
    return _build(cls, locate(payload, name), name)


def profile_keys(cls: type) -> list[str]:
    """The keys a profile may set in a section of dataclass ``cls``."""
    return [f.name for f in dataclasses.fields(cls) if f.init and not f.metadata.get("inherited")]


def locate(payload: Mapping[str, Any] | None, name: str) -> Any:
    """The value at dotted key ``name`` of ``payload``; None where a part is missing."""
    value: Any = payload
    for depth, part in enumerate(name.split(".")):
        if value is None:
            return None
        if not isinstance(value, Mapping):
            parent = ".".join(name.split(".")[:depth]) or "--cfg"
            raise ConfigError(f"config error: {parent}: expected a mapping, got {value!r}")
        value = value.get(part)
    return value


def _build(cls: type[T], data: Any, where: str) -> T:
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"config error: {where}: expected a mapping, got {data!r}")
    unknown = sorted(set(data) - set(profile_keys(cls)))
    if unknown:
        raise ConfigError(f"config error: unknown key {_join(where, unknown[0])}")
    hints = typing.get_type_hints(cls, include_extras=True)
    kwargs = {name: _coerce(hints[name], value, _join(where, name)) for name, value in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, SectionError) as err:     # a missing argument, or a rule naming no key
        raise ConfigError(f"config error: {where or cls.__name__}: {err}") from None


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _coerce(hint: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _coerce_annotated(typing.get_args(hint), value, where)
    if origin is typing.Union or origin is types.UnionType:
        return _coerce_union(typing.get_args(hint), value, where)
    if origin is dict and value is not None:
        return _coerce_dict(typing.get_args(hint)[1], value, where)
    if origin in (list, tuple) and value is not None:
        return origin(_coerce_items(typing.get_args(hint)[0], value, where))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and not isinstance(value, hint):
        raise ConfigError(f"config error: {where}: expected {hint.__name__}, got {value!r}")
    if hint is int and isinstance(value, bool):
        raise ConfigError(f"config error: {where}: expected int, got {value!r}")
    return value


def _coerce_annotated(args: tuple, value: Any, where: str) -> Any:
    """``Annotated[type, rule, ...]``: the value as its type, then each rule's check."""
    value = _coerce(args[0], value, where)
    for rule in args[1:]:
        rule.check(value, where)
    return value


def _coerce_union(args: tuple, value: Any, where: str) -> Any:
    if value is None and type(None) in args:
        return None
    inner = [a for a in args if a is not type(None)]
    return _coerce(inner[0], value, where) if len(inner) == 1 else value


def _coerce_dict(value_hint: Any, value: Any, where: str) -> dict:
    """``dict[str, X]``: every entry an X (e.g. eval.benchmarks.<name>)."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"config error: {where}: expected a mapping, got {value!r}")
    return {key: _coerce(value_hint, item, _join(where, key)) for key, item in value.items()}


def _coerce_items(item_hint: Any, value: Any, where: str) -> list:
    """``list[X]`` or ``tuple[X, ...]``: every item an X (e.g. world.turns)."""
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"config error: {where}: expected a list, got {value!r}")
    return [_coerce(item_hint, item, f"{where}[{index}]") for index, item in enumerate(value)]


def parse_json_arg(text: str, what: str = "--cfg") -> dict[str, Any]:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{what}: not valid JSON ({err.msg})") from None
