"""The ``augment`` config section (defaults: the demo profile's) and the ``--cfg`` argument."""

from __future__ import annotations

from dataclasses import dataclass, field

from vtscale.config import config_section, parse_json_arg


@dataclass
class QAConfig:
    generator: str = "smollm2"          # model folder or hub id of an instruct LLM
    max_descriptions: int | None = None  # None: every description
    batch_size: int = 8
    max_new_tokens: int = 96            # yes/no lines ~15 tokens, MCQ blocks ~30


@dataclass
class DocsConfig:
    parser: str = "rapidocr"            # rapidocr | nougat
    embedder: str = "minilm"            # minilm | sentence-transformers id or path
    min_tokens: int = 10
    max_length_ratio: float = 0.1
    tail_tokens: int = 256
    min_unique_ratio: float = 0.12
    min_similarity: float = 0.5


@dataclass
class MixtureConfig:
    stage3_fraction: float = 0.1


@dataclass
class AugmentConfig:
    qa: QAConfig = field(default_factory=QAConfig)
    docs: DocsConfig = field(default_factory=DocsConfig)
    mixture: MixtureConfig = field(default_factory=MixtureConfig)


def parse_cfg(text: str) -> tuple[AugmentConfig, int]:
    """``--cfg`` is ``{"augment": {...}, "seed": N}`` (the rule's cfg_json)."""
    payload = parse_json_arg(text)
    return config_section(AugmentConfig, payload, "augment"), int(payload.get("seed", 0))
