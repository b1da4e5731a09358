"""The ``analysis`` config section as a dataclass."""

from __future__ import annotations

import dataclasses

from vtscale.config import ConfigError


@dataclasses.dataclass
class AnalysisConfig:
    exclude: dict = dataclasses.field(default_factory=dict)   # benchmark -> list of n left out
    kmeans_k: int = 4

    def __post_init__(self) -> None:
        for bench, ns in self.exclude.items():
            if not isinstance(ns, list) or not all(isinstance(n, int) for n in ns):
                raise ConfigError(f"config error: analysis.exclude.{bench}: expected a list of n")
        if self.kmeans_k < 1:
            raise ConfigError("config error: analysis.kmeans_k: must be >= 1")

