"""The ``theory`` config section as dataclasses."""

from __future__ import annotations

import dataclasses

from vtscale.config_types import PosInt, PosNum


@dataclasses.dataclass
class TheoryLLM:
    source: str                  # hub id or local folder (the workflow reads it)


@dataclasses.dataclass
class TheoryConfig:
    llms: dict[str, TheoryLLM] = dataclasses.field(default_factory=dict)   # name -> its source
    dataset: str = "Intel/orca_dpo_pairs"
    max_pairs: PosInt = 64
    max_tokens: PosInt = 64
    beta: PosNum = 1.0
    batch_size: PosInt = 8
