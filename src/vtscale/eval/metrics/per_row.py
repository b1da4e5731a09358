"""Each row's own score and the answer extracted from its prediction, for ``vtscale score
--rows``: the hit (0 or 1) or the fractional score the benchmark's metric averages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vtscale.eval.metrics.caption import cider_per_image
from vtscale.eval.metrics.mcq import infer_option
from vtscale.eval.metrics.text import normalize_vqa_answer
from vtscale.eval.metrics.vqa import (anls, exact_match, ocrbench_hit, relaxed_accuracy,
                                      vqa_accuracy)
from vtscale.eval.metrics.yorn import extract_yes_no
from vtscale.eval.tsv import YES_NO_TYPES, Row


@dataclass(frozen=True)
class RowScore:
    index: str
    score: float
    extracted: str


def _yes_no(row: Row, prediction: str, rules: str) -> tuple[float, str]:
    extracted = extract_yes_no(prediction, rules)
    return float(extracted == row.answer), extracted


def _mcq(row: Row, prediction: str, rules: str) -> tuple[float, str]:
    extracted = infer_option(prediction, row.options, rules) or ""
    return float(extracted == row.answer), extracted


def _textvqa(row: Row, prediction: str, rules: str) -> tuple[float, str]:
    return vqa_accuracy(prediction, row.answers, rules), normalize_vqa_answer(prediction, rules)


def _chartqa(row: Row, prediction: str, rules: str) -> tuple[float, str]:
    return relaxed_accuracy(prediction, row.answers, rules), prediction.strip()


def _ocrvqa(row: Row, prediction: str, rules: str) -> tuple[float, str]:
    return exact_match(prediction, row.answers), prediction.strip()


def _docvqa(row: Row, prediction: str, rules: str) -> tuple[float, str]:
    return anls(prediction, row.answers, rules), prediction.strip()


def _ocrbench(row: Row, prediction: str, rules: str) -> tuple[float, str]:
    return float(ocrbench_hit(prediction, row.answers, row.category)), prediction.strip()


ROW_SCORERS: dict[str, Callable[[Row, str, str], tuple[float, str]]] = {
    **{t: _yes_no for t in YES_NO_TYPES}, "mcq": _mcq, "textvqa": _textvqa,
    "chartqa": _chartqa, "ocrvqa": _ocrvqa, "docvqa": _docvqa, "ocrbench": _ocrbench,
}


def row_scores(type_: str, rows: Sequence[Row], preds: Sequence[str], rules: str) -> list[RowScore]:
    """One RowScore per row; a caption row's score is its image's CIDEr (a fraction, not x100)."""
    preds = [str(p) for p in preds]
    if type_ == "caption":
        cider = cider_per_image(rows, preds) if rows else []
        return [RowScore(r.index, c, p.strip()) for r, p, c in zip(rows, preds, cider)]
    scorer = ROW_SCORERS[type_]
    return [RowScore(r.index, *scorer(r, p, rules)) for r, p in zip(rows, preds)]
