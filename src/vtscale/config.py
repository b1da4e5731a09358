"""Config loading and validation.

The whole pipeline config is one YAML file validated against ``config/schema.yaml``;
rules that span keys (:func:`check_cross_fields`) are checked with it at start. Each
command receives its sections as ``--cfg`` JSON and turns each one into its dataclass
with :func:`config_section`, the one way from config to dataclass.
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

T = TypeVar("T")

DEMO_PROFILES = ("demo", "tiny")     # the pipeline generates the world and trains the backbones


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


def load(path: str | Path, schema_path: str | Path | None = None) -> dict[str, Any]:
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"config error: {path} is not valid YAML: {err}") from None
    if schema_path is not None:
        validate(config, schema_path)
        check_cross_fields(config)
    return config


def check_choice(key: str, value: Any, choices: tuple) -> None:
    """A config value that must be one of ``choices``: else one line naming the key."""
    if value not in choices:
        raise ConfigError(f"config error: {key}={value!r}: expected one of {', '.join(map(str, choices))}")


def m_for(n: int, m_default: int) -> int:
    """Tokens for later questions: m = min(m_default, n) (paper: n = 1 gives m = 1)."""
    return min(m_default, n)


def grid_settings(grid: Mapping[str, Any]) -> list[tuple[int, int]]:
    """All (n, m) settings of the grid, in config order."""
    return [(n, m_for(n, grid["m_default"])) for n in grid["n"]]


def check_cross_fields(config: Mapping[str, Any]) -> None:
    """The rules the schema cannot state, for a config that passed it: checked at start
    (workflow/rules/common.smk, :func:`load`) so that a run does not fail on them minutes
    in. The first violation is a one-line ConfigError naming its key."""
    from vtscale.model.config import ModelConfig

    _check_stages(config)
    max_tokens = config_section(ModelConfig, config, "model").fusion.max_tokens
    _check_grid(config["grid"], max_tokens)
    _check_stage_tokens(config, max_tokens)
    _check_backbone_sources(config)
    _check_world_benchmarks(config)
    _build_sections(config)


def _stage_keys(config: Mapping[str, Any]) -> list[str]:
    keys = [f"train.stage{k}" for k in (1, 2, 3)]
    return keys + (["bootstrap.clip", "bootstrap.lm"] if config["profile"] in DEMO_PROFILES else [])


def _check_stages(config: Mapping[str, Any]) -> None:
    for key in _stage_keys(config):
        stage = _locate(config, key)
        if stage is None:
            raise ConfigError(f"config error: {key}: missing")
        if ("steps" in stage) == ("epochs" in stage):
            raise ConfigError(f"config error: {key}: set exactly one of steps or epochs")


def _check_grid(grid: Mapping[str, Any], max_tokens: int) -> None:
    from vtscale.model.setting import Setting

    largest = max(grid["n"])
    Setting(largest, m_for(largest, grid["m_default"])).check(max_tokens, "grid.")
    if grid["m_default"] > largest:
        raise ConfigError(f"config error: grid.m_default: {grid['m_default']} is more than the "
                          f"largest grid.n ({largest})")


def _check_stage_tokens(config: Mapping[str, Any], max_tokens: int) -> None:
    """The settings stages 1 and 2 train at; stage 3 trains at the grid's. Stage 2 first:
    stage 1 on whole conversations takes its n and m, so a bad one is named where it is set."""
    from vtscale.train.stage_setting import stage_setting

    for stage in ("stage2", "stage1"):
        stage_setting(config, stage).check(max_tokens, f"train.{stage}.")


def _check_backbone_sources(config: Mapping[str, Any]) -> None:
    if config["profile"] in DEMO_PROFILES:
        return
    for key in ("model.vision.source", "model.llm.source"):
        if _locate(config, key) == "bootstrap":
            raise ConfigError(f"config error: {key}: bootstrap backbones are trained by the "
                              f"{' and '.join(DEMO_PROFILES)} profiles only")


def _check_world_benchmarks(config: Mapping[str, Any]) -> None:
    """In the demo and tiny profiles every benchmark TSV is an output of synth_world: a
    path the world does not write (a typo) would be planned as one, fail the job and have
    Snakemake delete the whole world."""
    if config["profile"] not in DEMO_PROFILES:
        return
    from vtscale.data.synth.benchmarks import FILES

    written = list(FILES.values())
    for name, bench in (_locate(config, "eval.benchmarks") or {}).items():
        tsv = bench.get("tsv") if isinstance(bench, Mapping) else None
        if tsv and tsv not in written:
            raise ConfigError(f"config error: eval.benchmarks.{name}.tsv: {tsv} is not a benchmark the "
                              f"demo world writes ({', '.join(written)})")


def _build_sections(config: Mapping[str, Any]) -> None:
    """Each section the run reads, built as its dataclass: its own rules run now."""
    for name, cls in _section_classes(config["profile"]).items():
        config_section(cls, config, name)


def _section_classes(profile: str) -> dict[str, type]:
    from vtscale.analysis.settings import AnalysisConfig
    from vtscale.augment.config import AugmentConfig
    from vtscale.eval.config import EvalConfig
    from vtscale.train.config import BootstrapClipConfig, BootstrapLMConfig, TrainSection

    classes: dict[str, type] = {"train": TrainSection, "eval": EvalConfig,
                                "augment": AugmentConfig, "analysis": AnalysisConfig}
    if profile in DEMO_PROFILES:
        from vtscale.data.synth.config import WorldConfig
        classes.update({"world": WorldConfig, "bootstrap.clip": BootstrapClipConfig,
                        "bootstrap.lm": BootstrapLMConfig})
    else:
        from vtscale.data.prepare import DatasetsConfig
        classes["datasets"] = DatasetsConfig
    return classes


def config_section(cls: type[T], payload: Mapping[str, Any] | None, name: str) -> T:
    """Section ``name`` (dotted: ``"train.stage1"``) of a config or ``--cfg`` payload as
    dataclass ``cls``, nested dataclasses included; a section missing or null gives the
    defaults. An unknown key or a wrong type is a one-line ConfigError naming the key;
    rules within the section are the dataclass's own (``__post_init__``)."""
    return _build(cls, _locate(payload, name), name)


def _locate(payload: Mapping[str, Any] | None, name: str) -> Any:
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
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"config error: unknown key {_join(where, unknown[0])}")
    hints = typing.get_type_hints(cls)
    kwargs = {name: _coerce(hints[name], value, _join(where, name)) for name, value in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ConfigError(f"config error: {where or cls.__name__}: {err}") from None


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _coerce(hint: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return _coerce_union(typing.get_args(hint), value, where)
    if origin is dict and value is not None:
        return _coerce_dict(typing.get_args(hint)[1], value, where)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and not isinstance(value, hint):
        raise ConfigError(f"config error: {where}: expected {hint.__name__}, got {value!r}")
    if hint is int and isinstance(value, bool):
        raise ConfigError(f"config error: {where}: expected int, got {value!r}")
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


def parse_json_arg(text: str, what: str = "--cfg") -> dict[str, Any]:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{what}: not valid JSON ({err.msg})") from None
