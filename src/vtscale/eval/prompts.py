"""Benchmark prompts and generation lengths per dataset type, as VLMEvalKit builds them
for a model without custom prompts (the paper's model has none).

Under the rule set ``vlmevalkit-0ff0c3e`` a yes/no question goes out bare, as that
commit's ``ImageBaseDataset.build_prompt`` sends it; under ``vlmevalkit-latest`` (the demo)
it carries the answer-form suffix the demo's training conversations use. MCQ, short-answer
VQA, OCRBench and caption prompts are the same under both (docs/design.md §5)."""

from __future__ import annotations

from collections.abc import Mapping

from vtscale import prompts
from vtscale.eval.rules import LATEST, PINNED
from vtscale.eval.tsv import YES_NO_TYPES, Row

# The authors' generation lengths (their adjust_kwargs): 32 for yes/no, MCQ and captions, 10 for
# TextVQA, 100 for OCRVQA/ChartQA/DocVQA, 512 otherwise. Their 3-token branch for "seedbench"
# never fires: the SEEDBench sets are MCQ, caught by the first branch, and VLMEvalKit's
# listinstr is case-sensitive, so "seedbench" is not in "SEEDBench2". SEEDBench gets 32.
MAX_NEW_TOKENS = {"yorn": 32, "pope": 32, "mme": 32, "hallusionbench": 32, "mcq": 32,
                  "caption": 32, "textvqa": 10, "ocrvqa": 100, "chartqa": 100, "docvqa": 100}
DEFAULT_MAX_NEW_TOKENS = 512
SHORT_ANSWER_TYPES = ("textvqa", "ocrvqa", "chartqa", "docvqa")


def build_prompt(row: Row, type_: str, rules: str = LATEST) -> str:
    if type_ in YES_NO_TYPES and rules == PINNED:
        return row.question
    if type_ in YES_NO_TYPES:
        # MME's questions already carry the suffix; adding it only when absent keeps
        # POPE/HallusionBench prompts in the form the model was trained on.
        q = row.question.rstrip()
        return q if q.endswith(prompts.YES_NO_SUFFIX.strip()) else prompts.yes_no(q)
    if type_ == "mcq":
        return prompts.multiple_choice(row.question, row.options, row.hint)
    if type_ in SHORT_ANSWER_TYPES:
        return prompts.short_answer(row.question)
    if type_ == "caption":
        return row.question or prompts.CAPTION_PROMPT
    return row.question  # ocrbench: the bare question


def max_new_tokens(type_: str, overrides: Mapping[str, int] | None = None) -> int:
    if overrides and type_ in overrides:
        return int(overrides[type_])
    return MAX_NEW_TOKENS.get(type_, DEFAULT_MAX_NEW_TOKENS)
