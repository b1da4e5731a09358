"""Multiple choice: VLMEvalKit's exact-matching option extraction (no judge LLM), as of
each rule set, scored per row or (MMBench) per circular group of option shifts."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from vtscale.eval.benchmark import Row
from vtscale.eval.metrics.splits import has_splits, split_key, split_positions
from vtscale.eval.rules import LATEST, PINNED

_SEPARATORS = ".()[],:;!*#{}"
_ANSWER_IS = re.compile(r"(?i)(?:correct\s+)?answer\s+is\s+\**([ABCD])\**")
REFUSALS = ("Sorry, I can't help with images of people yet.", "I can't process this file.",
            "I'm sorry, but without the image provided", "Cannot determine the answer")
# 0ff0c3e's answer for a refusal or a standalone "Z": never an option, so scored wrong.
NO_OPTION = "Z"
# VLMEvalKit's circular MMBench: row index = shift * 1e6 + question index.
CIRCULAR_OFFSET = 1_000_000


def _tokens(prediction: str) -> list[str]:
    text = prediction
    for ch in _SEPARATORS:
        text = text.replace(ch, " ")
    return text.split()


def infer_option_letter(prediction: str, options: Mapping[str, str]) -> str | None:
    """An option letter standing as its own token, unique, among the last four tokens;
    else an "answer is X" phrase."""
    if any(r in prediction for r in REFUSALS):
        return None
    tokens = _tokens(prediction)
    letters = [c for c in options if c in tokens]
    if len(letters) == 1 and tokens.index(letters[0]) > len(tokens) - 5:
        return letters[0]
    match = _ANSWER_IS.search(prediction)
    if match and match.group(1).upper() in options:
        return match.group(1).upper()
    return None


def infer_option_text(prediction: str, options: Mapping[str, str]) -> str | None:
    """The one option whose text occurs in a (not overly long) prediction."""
    lowered = prediction.lower()
    if len(lowered) > 2 * sum(len(str(v)) for v in options.values()):
        return None
    return _unique_option_text(lowered, options)


def _unique_option_text(lowered: str, options: Mapping[str, str]) -> str | None:
    found = [k for k, v in options.items() if str(v).lower() in lowered]
    return found[0] if len(found) == 1 else None


def pinned_option_letter(prediction: str, options: Mapping[str, str]) -> str | None:
    """0ff0c3e's ``can_infer_option``: a refusal is "Z"; one option letter standing as its
    own token anywhere is the answer; with none, a standalone "Z" is "Z"."""
    if any(r in prediction for r in REFUSALS):
        return NO_OPTION
    tokens = _tokens(prediction)
    letters = [c for c in options if c in tokens]
    if len(letters) == 1:
        return letters[0]
    if not letters and NO_OPTION in tokens:
        return NO_OPTION
    return None


def pinned_option(prediction: str, options: Mapping[str, str]) -> str | None:
    """0ff0c3e's ``can_infer``: the letter rule, else the one option whose text occurs in
    the prediction, however long."""
    return pinned_option_letter(prediction, options) or _unique_option_text(prediction.lower(), options)


def infer_option(prediction: str, options: Mapping[str, str], rules: str = LATEST) -> str | None:
    prediction = str(prediction)
    if rules == PINNED:
        return pinned_option(prediction, options)
    return infer_option_letter(prediction, options) or infer_option_text(prediction, options)


def row_hits(rows: Sequence[Row], preds: Sequence[str], rules: str = LATEST) -> list[bool]:
    return [infer_option(p, r.options, rules) == r.answer for r, p in zip(rows, preds)]


def accuracy_table(rows: Sequence[Row], hits: Sequence[bool]) -> dict[str, float]:
    """Accuracy in %, as VLMEvalKit's report_acc: Overall and per l2-category / category;
    where the TSV has a ``split`` column, its table has one row per split instead, here
    ``<split>/Overall``, ``<split>/<category>``..., and Overall is over every row."""
    overall = {"Overall": float(np.mean(hits) * 100) if hits else 0.0}
    if not has_splits(rows):
        return {**overall, **_group_accuracies(rows, hits)}
    for split, positions in split_positions(rows).items():
        table = {"Overall": float(np.mean([hits[i] for i in positions]) * 100),
                 **_group_accuracies([rows[i] for i in positions], [hits[i] for i in positions])}
        overall.update({split_key(split, column): value for column, value in table.items()})
    return overall


def _group_accuracies(rows: Sequence[Row], hits: Sequence[bool]) -> dict[str, float]:
    """Accuracy per category and per l2-category present in ``rows``."""
    metrics = {}
    for attr in ("category", "l2_category"):
        for group in sorted({getattr(r, attr) for r in rows} - {None}):
            sub = [h for r, h in zip(rows, hits) if getattr(r, attr) == group]
            metrics[group] = float(np.mean(sub) * 100)
    return metrics


def mcq_scores(rows: Sequence[Row], preds: Sequence[str], rules: str = LATEST) -> dict[str, float]:
    return accuracy_table(rows, row_hits(rows, preds, rules))


def circular_groups(rows: Sequence[Row]) -> dict[int, list[int]]:
    """Position of each question's row -> positions of all its rows. VLMEvalKit's circular
    MMBench: a row with index >= 1e6 is a shift of the options of question ``index % 1e6``;
    the questions are the rows below 1e6, so a shift whose question is absent is ignored."""
    question_pos = {int(r.index): pos for pos, r in enumerate(rows) if int(r.index) < CIRCULAR_OFFSET}
    groups: dict[int, list[int]] = {pos: [] for pos in question_pos.values()}
    for pos, row in enumerate(rows):
        question = question_pos.get(int(row.index) % CIRCULAR_OFFSET)
        if question is not None:
            groups[question].append(pos)
    return groups


def circular_mcq_scores(rows: Sequence[Row], preds: Sequence[str], rules: str = LATEST) -> dict[str, float]:
    """A question is right only if every shift of it is (exact matching, no judge LLM);
    accuracies over the questions."""
    hits = row_hits(rows, preds, rules)
    groups = circular_groups(rows)
    return accuracy_table([rows[q] for q in groups], [all(hits[p] for p in g) for g in groups.values()])
