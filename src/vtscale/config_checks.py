"""The checks a profile gets at start (workflow/rules/common.smk, model/info.py), so that
a run does not fail on them minutes in: the top level against ``config/schema.yaml``, each
section built as its dataclass (keys, types, bounds, choices and the section's own rules),
then the rules between sections. The first violation is a one-line ConfigError naming its key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from vtscale.analysis.config import AnalysisConfig, CostConfig
from vtscale.augment.config import AugmentConfig
from vtscale.config import config_section, load, locate, validate
from vtscale.data.config import DatasetsConfig
from vtscale.data.synth.config import WorldConfig
from vtscale.errors import ConfigError
from vtscale.eval.config import EvalConfig
from vtscale.grid import m_for
from vtscale.model.config import ModelConfig
from vtscale.model.setting import Setting
from vtscale.theory.config import TheoryConfig
from vtscale.train.config import BootstrapSection, TrainSection
from vtscale.train.stage_setting import stage_setting

DEMO_PROFILES = ("demo", "tiny")     # the pipeline generates the world and trains the backbones

# Every section a profile may have, as its dataclass; config/schema.yaml names the same.
SECTIONS: dict[str, type] = {
    "world": WorldConfig, "datasets": DatasetsConfig, "augment": AugmentConfig,
    "bootstrap": BootstrapSection, "model": ModelConfig, "train": TrainSection,
    "eval": EvalConfig, "analysis": AnalysisConfig, "theory": TheoryConfig, "cost": CostConfig,
}
DEMO_ONLY = ("world", "bootstrap")
PAPER_ONLY = ("datasets",)


def load_profile(path: str | Path, schema_path: str | Path) -> dict[str, Any]:
    """The profile at ``path``, checked."""
    config = load(path)
    check_profile(config, schema_path)
    return config


def check_profile(config: Mapping[str, Any], schema_path: str | Path) -> None:
    validate(config, schema_path)
    check_cross_fields(config)


def check_cross_fields(config: Mapping[str, Any]) -> None:
    """What the schema leaves to the dataclasses and the rules between keys, for a config
    whose top level passed the schema."""
    _check_stages(config)
    _build_sections(config)
    max_tokens = config_section(ModelConfig, config, "model").fusion.max_tokens
    _check_grid(config["grid"], max_tokens)
    _check_stage_tokens(config, max_tokens)
    _check_backbone_sources(config)
    _check_world_benchmarks(config)


def _stage_keys(config: Mapping[str, Any]) -> list[str]:
    keys = [f"train.stage{k}" for k in (1, 2, 3)]
    return keys + (["bootstrap.clip", "bootstrap.lm"] if config["profile"] in DEMO_PROFILES else [])


def _check_stages(config: Mapping[str, Any]) -> None:
    """Each stage set (steps or epochs: its own LoopConfig rule)."""
    for key in _stage_keys(config):
        if locate(config, key) is None:
            raise ConfigError(f"config error: {key}: missing")


def _check_grid(grid: Mapping[str, Any], max_tokens: int) -> None:
    largest = max(grid["n"])
    Setting(largest, m_for(largest, grid["m_default"])).check(max_tokens, "grid.")
    if grid["m_default"] > largest:
        raise ConfigError(f"config error: grid.m_default: {grid['m_default']} is more than the "
                          f"largest grid.n ({largest})")


def _check_stage_tokens(config: Mapping[str, Any], max_tokens: int) -> None:
    """The settings stages 1 and 2 train at; stage 3 trains at the grid's. Stage 2 first:
    stage 1 on whole conversations takes its n and m, so a bad one is named where it is set."""
    for stage in ("stage2", "stage1"):
        stage_setting(config, stage).check(max_tokens, f"train.{stage}.")


def _check_backbone_sources(config: Mapping[str, Any]) -> None:
    if config["profile"] in DEMO_PROFILES:
        return
    for key in ("model.vision.source", "model.llm.source"):
        if locate(config, key) == "bootstrap":
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
    for name, bench in (locate(config, "eval.benchmarks") or {}).items():
        tsv = bench.get("tsv") if isinstance(bench, Mapping) else None
        if tsv and tsv not in written:
            raise ConfigError(f"config error: eval.benchmarks.{name}.tsv: {tsv} is not a benchmark the "
                              f"demo world writes ({', '.join(written)})")


def _build_sections(config: Mapping[str, Any]) -> None:
    """Each section the run reads, built as its dataclass: its own rules run now."""
    for name, cls in _section_classes(config["profile"]).items():
        config_section(cls, config, name)


def _section_classes(profile: str) -> dict[str, type]:
    left_out = PAPER_ONLY if profile in DEMO_PROFILES else DEMO_ONLY
    return {name: cls for name, cls in SECTIONS.items() if name not in left_out}
