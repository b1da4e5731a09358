"""The ``augment`` config section (defaults: the demo profile's) and the ``--cfg`` argument."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from vtscale.config import config_section, parse_json_arg
from vtscale.config_types import Fraction, NonNegInt, OneOf, PosInt, Range
from vtscale.errors import ConfigError

QA_PROMPTS = ("demo_example", "instructions_only")


@dataclass
class QAConfig:
    generator: str = "smollm2"          # model folder or hub id of an instruct LLM
    max_descriptions: PosInt | None = None  # None: every description
    batch_size: PosInt = 8
    max_new_tokens: PosInt = 96         # yes/no lines ~15 tokens, MCQ blocks ~30
    # demo_example: a worked demo-world example | instructions_only
    prompt: Annotated[str, OneOf(QA_PROMPTS)] = "demo_example"
    eval_prompt_forms: bool = True      # ask the questions in the evaluator's exact prompt forms


@dataclass
class InstructionPool:
    """Page instructions drawn per page: one phrase from each part, joined by spaces."""
    parts: list = field(default_factory=list)   # list of lists of phrases
    period: Fraction = 0.0                       # chance the instruction ends with "."

    def __post_init__(self) -> None:
        if not self.parts or not all(isinstance(p, list) and p and all(isinstance(s, str) and s for s in p)
                                     for p in self.parts):
            raise ConfigError("config error: augment.docs.instructions.parts: a list of non-empty "
                              "lists of phrases")


@dataclass
class DocsConfig:
    parser: str = "rapidocr"            # rapidocr | nougat
    embedder: str = "minilm"            # minilm | sentence-transformers id or path
    kinds: list | None = None           # re-parse only pages of these kinds (None: every page)
    instructions: InstructionPool | None = None  # None: READ_PAGE_INSTRUCTION for every page
    min_tokens: NonNegInt = 10
    max_length_ratio: Fraction = 0.1
    tail_tokens: PosInt = 256
    min_unique_ratio: Fraction = 0.12
    min_similarity: Annotated[float, Range(-1, 1)] = 0.5

    def __post_init__(self) -> None:
        if self.kinds is not None and (not isinstance(self.kinds, list) or not self.kinds
                                       or not all(isinstance(k, str) and k for k in self.kinds)):
            raise ConfigError("config error: augment.docs.kinds: a list of page kinds, or null for all")


@dataclass
class MixtureConfig:
    stage3_fraction: Fraction = 0.1


@dataclass
class AugmentConfig:
    qa: QAConfig = field(default_factory=QAConfig)
    docs: DocsConfig = field(default_factory=DocsConfig)
    mixture: MixtureConfig = field(default_factory=MixtureConfig)


def parse_cfg(text: str) -> tuple[AugmentConfig, int]:
    """``--cfg`` is ``{"augment": {...}, "seed": N}`` (the rule's cfg_json)."""
    payload = parse_json_arg(text)
    return config_section(AugmentConfig, payload, "augment"), int(payload.get("seed", 0))
