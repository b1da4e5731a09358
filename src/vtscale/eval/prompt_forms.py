"""The forms a benchmark row's prompt takes, as VLMEvalKit builds them for a model without
custom prompts (the paper's model has none): ``form(row, rules) -> prompt``.

Under the rule set ``vlmevalkit-0ff0c3e`` a yes/no question goes out bare, as that
commit's ``ImageBaseDataset.build_prompt`` sends it; under ``vlmevalkit-latest`` (the demo)
it carries the answer-form suffix the demo's training conversations use. MCQ, short-answer
VQA, OCRBench and caption prompts are the same under both (docs/paper_profile.md §1.4)."""

from __future__ import annotations

from vtscale import prompts
from vtscale.eval.benchmark import Row
from vtscale.eval.rules import PINNED


def yes_no_prompt(row: Row, rules: str) -> str:
    if rules == PINNED:
        return row.question
    # MME's questions already carry the suffix; adding it only when absent keeps
    # POPE/HallusionBench prompts in the form the model was trained on.
    q = row.question.rstrip()
    return q if q.endswith(prompts.YES_NO_SUFFIX.strip()) else prompts.yes_no(q)


def multiple_choice_prompt(row: Row, rules: str) -> str:
    return prompts.multiple_choice(row.question, row.options, row.hint)


def short_answer_prompt(row: Row, rules: str) -> str:
    return prompts.short_answer(row.question)


def caption_prompt(row: Row, rules: str) -> str:
    return row.question or prompts.CAPTION_PROMPT


def bare_question(row: Row, rules: str) -> str:
    return row.question
