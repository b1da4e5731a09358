"""Config loading and validation.

The whole pipeline config is one YAML file validated against ``config/schema.yaml``;
each stage receives its own section as JSON on the command line and turns it into a
dataclass with :func:`from_dict`, which names the offending key on bad input.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any, Mapping, TypeVar

import jsonschema
import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A config problem, with the dotted key that caused it in the message."""


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
    _check_grid(config)


def _check_grid(config: Mapping[str, Any]) -> None:
    grid = config["grid"]
    if grid["m_default"] > max(grid["n"]):
        raise ConfigError(
            f"config error: grid.m_default={grid['m_default']} exceeds the largest n "
            f"({max(grid['n'])}); m must not exceed n")


def load(path: str | Path, schema_path: str | Path | None = None) -> dict[str, Any]:
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"config error: {path} is not valid YAML: {err}") from None
    if schema_path is not None:
        validate(config, schema_path)
    return config


def m_for(n: int, m_default: int) -> int:
    """Tokens for later questions: m = min(m_default, n) (paper: n = 1 gives m = 1)."""
    return min(m_default, n)


def grid_settings(grid: Mapping[str, Any]) -> list[tuple[int, int]]:
    """All (n, m) settings of the grid, in config order."""
    return [(n, m_for(n, grid["m_default"])) for n in grid["n"]]


def from_dict(cls: type[T], data: Mapping[str, Any] | None, where: str = "") -> T:
    """Build dataclass ``cls`` from ``data``; unknown keys and wrong types name the key."""
    data = dict(data or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"config error: unknown key {_join(where, unknown[0])}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(hints[name], value, _join(where, name))
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ConfigError(f"config error: {where or cls.__name__}: {err}") from None


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _coerce(hint: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
        return from_dict(hint, value, where)
    origin = typing.get_origin(hint)
    if origin is typing.Union or str(origin) == "types.UnionType":
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, where) if len(inner) == 1 else value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and not isinstance(value, hint):
        raise ConfigError(f"config error: {where}: expected {hint.__name__}, got {value!r}")
    if hint is int and isinstance(value, bool):
        raise ConfigError(f"config error: {where}: expected int, got {value!r}")
    return value


def parse_json_arg(text: str, what: str = "--cfg") -> dict[str, Any]:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{what}: not valid JSON ({err.msg})") from None
