"""Each row's own score and the answer extracted from its prediction, for ``vtscale score
--rows``: the hit (0 or 1) or the fractional score the benchmark's metric averages.
A dataset type's row scorer is ``(rows, predictions, rules) -> [(score, extracted)]``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from vtscale.eval.benchmark import Row
from vtscale.eval.metrics.caption import cider_per_image
from vtscale.eval.metrics.mcq import infer_option
from vtscale.eval.metrics.text import normalize_vqa_answer
from vtscale.eval.metrics.vqa import (anls, exact_match, ocrbench_hit, relaxed_accuracy,
                                      vqa_accuracy)
from vtscale.eval.metrics.yorn import extract_yes_no

ScoredRow = tuple[float, str]
RowsScorer = Callable[[Sequence[Row], Sequence[str], str], list[ScoredRow]]


@dataclass(frozen=True)
class RowScore:
    index: str
    score: float
    extracted: str


def each_row(score_row: Callable[[Row, str, str], ScoredRow]) -> RowsScorer:
    """The row scorer of a type whose rows are scored one by one."""
    return partial(_each, score_row)


def _each(score_row: Callable[[Row, str, str], ScoredRow], rows: Sequence[Row],
          preds: Sequence[str], rules: str) -> list[ScoredRow]:
    return [score_row(r, p, rules) for r, p in zip(rows, preds)]


def yes_no_row(row: Row, prediction: str, rules: str) -> ScoredRow:
    extracted = extract_yes_no(prediction, rules)
    return float(extracted == row.answer), extracted


def mcq_row(row: Row, prediction: str, rules: str) -> ScoredRow:
    extracted = infer_option(prediction, row.options, rules) or ""
    return float(extracted == row.answer), extracted


def textvqa_row(row: Row, prediction: str, rules: str) -> ScoredRow:
    return vqa_accuracy(prediction, row.answers, rules), normalize_vqa_answer(prediction, rules)


def chartqa_row(row: Row, prediction: str, rules: str) -> ScoredRow:
    return relaxed_accuracy(prediction, row.answers, rules), prediction.strip()


def ocrvqa_row(row: Row, prediction: str, rules: str) -> ScoredRow:
    return exact_match(prediction, row.answers), prediction.strip()


def docvqa_row(row: Row, prediction: str, rules: str) -> ScoredRow:
    return anls(prediction, row.answers, rules), prediction.strip()


def ocrbench_row(row: Row, prediction: str, rules: str) -> ScoredRow:
    return float(ocrbench_hit(prediction, row.answers, row.category)), prediction.strip()


def caption_rows(rows: Sequence[Row], preds: Sequence[str], rules: str) -> list[ScoredRow]:
    """Each row's image's CIDEr (a fraction, not x100): document frequencies come from the
    whole set, so rows are not scored one by one."""
    cider = cider_per_image(rows, preds) if rows else []
    return [(c, p.strip()) for p, c in zip(preds, cider)]
