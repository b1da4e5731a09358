"""Benchmark prompts and generation lengths per dataset type (vtscale.eval.dataset_types
names each type's prompt form, vtscale.eval.prompt_forms, and length)."""

from __future__ import annotations

from collections.abc import Mapping

from vtscale.eval.benchmark import Row
from vtscale.eval.dataset_types import DATASET_TYPES, DEFAULT_MAX_NEW_TOKENS
from vtscale.eval.rules import LATEST


def build_prompt(row: Row, type_: str, rules: str = LATEST) -> str:
    return DATASET_TYPES[type_].prompt(row, rules)


def max_new_tokens(type_: str, overrides: Mapping[str, int] | None = None) -> int:
    """The configured length (eval.max_new_tokens), else the type's; a type that is none of
    ours (a VLMEvalKit dataset's "other") gets the default."""
    if overrides and type_ in overrides:
        return int(overrides[type_])
    kind = DATASET_TYPES.get(type_)
    return kind.max_new_tokens if kind else DEFAULT_MAX_NEW_TOKENS
