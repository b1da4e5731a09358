"""Training settings of one run: a stage section of the config plus the shared keys."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Mapping

from vtscale.config import ConfigError, from_dict

SHARED_KEYS = ("checkpoint_every", "precision")


@dataclass
class TrainConfig:
    steps: int | None = None          # optimizer steps; exclusive with epochs
    epochs: float | None = None
    lr: float = 2e-5
    warmup: float = 0.0               # fraction of all optimizer steps
    batch_size: int = 8               # per process, per micro-batch
    grad_accum: int = 1
    max_samples: int | None = None
    n: int | None = None              # stages 1-2: fused tokens trained (default max(grid.n))
    m: int | None = None
    checkpoint_every: int = 50        # optimizer steps between resumable checkpoints
    precision: str = "fp32"           # fp32 | bf16 | fp16 (the latter two only on a GPU)
    seed: int = 0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    cache_views: bool = False         # keep the ViT frozen, its outputs computed once per image
    dense_weight: float = 0.0         # bootstrap.clip only: weight of the per-patch cell-label loss

    def __post_init__(self):
        if (self.steps is None) == (self.epochs is None):
            raise ConfigError("config error: a training stage needs exactly one of "
                              f"'steps' or 'epochs' (got steps={self.steps}, epochs={self.epochs})")

    def total_steps(self, steps_per_epoch: int) -> int:
        if self.steps is not None:
            return self.steps
        return max(1, math.ceil(self.epochs * steps_per_epoch))

    @classmethod
    def from_sections(cls, stage: Mapping[str, Any] | None, shared: Mapping[str, Any] | None,
                      seed: int, where: str) -> "TrainConfig":
        """``stage`` = e.g. train.stage2; ``shared`` = the train section (checkpoint_every, precision)."""
        config = from_dict(cls, stage, where=where)
        shared = {k: v for k, v in (shared or {}).items() if k in SHARED_KEYS}
        return replace(config, **shared, seed=int(seed))
