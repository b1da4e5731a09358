"""The ``eval`` config section as dataclasses; its rules are checked when it is built."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from vtscale.config_types import OneOf, PosInt
from vtscale.errors import ConfigError
from vtscale.eval.benchmark import Benchmark
from vtscale.eval.dataset_types import DATASET_TYPES, circular_types
from vtscale.eval.multi_image import LAST, MULTI_IMAGE
from vtscale.eval.rules import LATEST, RULE_SETS
from vtscale.eval.tsv import read_benchmark
from vtscale.variants import EVAL_VARIANTS

BACKENDS = ("builtin", "vlmevalkit")


@dataclass
class BenchmarkConfig:
    tsv: str = ""
    type: str | None = None        # detected from the columns when absent
    limit: PosInt | None = None    # first rows only (smoke runs)
    circular: bool = False         # MCQ scored per question over its option shifts (MMBench)


@dataclass
class EvalConfig:
    backend: Annotated[str, OneOf(BACKENDS)] = "builtin"
    batch_size: PosInt = 32
    variants: list[str] = field(default_factory=lambda: list(EVAL_VARIANTS))
    benchmarks: dict[str, BenchmarkConfig] = field(default_factory=dict)
    max_new_tokens: dict[str, PosInt] = field(default_factory=dict)  # type -> override
    strict: bool = False           # a bad benchmark row raises instead of being skipped
    num_processes: PosInt = 1      # GPUs per evaluate job (the workflow's launcher reads it)
    rules: Annotated[str, OneOf(RULE_SETS)] = LATEST   # scoring rule set (docs/paper_profile.md §1.4)
    # images of a multi-image row the model sees (eval/multi_image.py)
    multi_image: Annotated[str, OneOf(MULTI_IMAGE)] = LAST

    def __post_init__(self) -> None:
        if self.num_processes > 1 and self.backend != "builtin":
            raise ConfigError(f"config error: eval.num_processes: {self.num_processes} processes "
                              "need eval.backend builtin")
        unknown = [v for v in self.variants if v not in EVAL_VARIANTS]
        if unknown:
            raise ConfigError(f"config error: eval.variants: {unknown[0]!r} is not a known variant "
                              f"({', '.join(EVAL_VARIANTS)})")
        for name, bench in self.benchmarks.items():
            _check_benchmark(name, bench)

    def benchmark(self, name: str) -> BenchmarkConfig:
        return self.benchmarks[name]

    def read(self, name: str, data_dir: Path) -> Benchmark:
        """Benchmark ``name`` read as configured (its TSV under ``data_dir``)."""
        b = self.benchmark(name)
        return read_benchmark(data_dir / b.tsv, name, b.type, b.limit, strict=self.strict,
                              circular=b.circular)


def _check_benchmark(name: str, bench: BenchmarkConfig) -> None:
    if not bench.tsv:
        raise ConfigError(f"config error: eval.benchmarks.{name}.tsv is missing")
    if bench.type is not None and bench.type not in DATASET_TYPES:
        raise ConfigError(f"config error: eval.benchmarks.{name}.type: {bench.type!r} is not a known "
                          f"type ({', '.join(DATASET_TYPES)})")
    if bench.circular and bench.type not in circular_types():
        raise ConfigError(f"config error: eval.benchmarks.{name}.circular: needs type "
                          f"{' or '.join(circular_types())}, not {bench.type}")
