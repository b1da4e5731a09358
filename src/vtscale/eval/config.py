"""The ``eval`` config section as dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vtscale.config import ConfigError, from_dict
from vtscale.variants import EVAL_VARIANTS


@dataclass
class BenchmarkConfig:
    tsv: str = ""
    type: str | None = None        # detected from the columns when absent
    limit: int | None = None       # first rows only (smoke runs)


@dataclass
class EvalConfig:
    backend: str = "builtin"       # builtin | vlmevalkit
    batch_size: int = 32
    variants: list = field(default_factory=lambda: list(EVAL_VARIANTS))
    benchmarks: dict = field(default_factory=dict)
    max_new_tokens: dict = field(default_factory=dict)  # type -> override
    strict: bool = False           # a bad benchmark row raises instead of being skipped

    def benchmark(self, name: str) -> BenchmarkConfig:
        return from_dict(BenchmarkConfig, self.benchmarks[name], where=f"eval.benchmarks.{name}")


def eval_config(payload: dict[str, Any]) -> EvalConfig:
    """Accept the rule's ``{"eval": {...}}`` payload or the bare section."""
    section = payload.get("eval", payload) if isinstance(payload, dict) else None
    if not isinstance(section, dict):
        raise ConfigError("config error: --cfg must hold the eval section")
    cfg = from_dict(EvalConfig, section, where="eval")
    if cfg.backend not in ("builtin", "vlmevalkit"):
        raise ConfigError(f"config error: eval.backend: {cfg.backend!r} is not builtin or vlmevalkit")
    for name in cfg.benchmarks:
        if not cfg.benchmark(name).tsv:
            raise ConfigError(f"config error: eval.benchmarks.{name}.tsv is missing")
    return cfg
