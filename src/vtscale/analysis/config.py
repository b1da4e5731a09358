"""The ``analysis`` and ``cost`` config sections as dataclasses."""

from __future__ import annotations

import dataclasses

from vtscale.config_types import NonNegInt, PosInt


@dataclasses.dataclass
class AnalysisConfig:
    exclude: dict[str, list[PosInt]] = dataclasses.field(default_factory=dict)   # benchmark -> n left out
    kmeans_k: PosInt = 4


@dataclasses.dataclass
class CostConfig:
    """Tables 6-7 (vtscale.analysis.cost)."""
    prompt: str = "Describe the image in detail."
    latency_repeats: PosInt = 1  # timed answers per image (its median is kept)
    new_tokens: PosInt = 256     # tokens per timed answer (paper: 256)
    images: PosInt = 1           # images timed per n (paper: 500 MSCOCO test2017 images)
    image_seed: NonNegInt = 122  # the authors' shuffle seed for picking them
    image_dir: str | None = None  # under the data folder (default images/, else pages/)
