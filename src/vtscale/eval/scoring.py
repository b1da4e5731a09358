"""One answer sheet of a benchmark scored: the part of the scores JSON that ``vtscale
eval`` and ``vtscale score`` share (docs/formats.md), each row's own score, and the one way
a scores JSON is written."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from vtscale.eval import metrics
from vtscale.eval.benchmark import Benchmark, Row, check_scorable
from vtscale.eval.dataset_types import DATASET_TYPES
from vtscale.eval.metrics.per_row import RowScore
from vtscale.eval.rules import LATEST
from vtscale.eval.tsv import as_text
from vtscale.eval.uncertainty import standard_error
from vtscale.io import write_json


def score(type_: str, rows: Sequence[Row], predictions: Sequence[str], rules: str = LATEST,
          circular: bool = False) -> dict[str, float]:
    """``circular``: an MCQ scored per question over its option shifts (MMBench)."""
    return DATASET_TYPES[type_].score(rows, predictions, rules, circular)


def row_scores(type_: str, rows: Sequence[Row], preds: Sequence[str], rules: str) -> list[RowScore]:
    """One RowScore per row; a caption row's score is its image's CIDEr (a fraction, not x100)."""
    scored = DATASET_TYPES[type_].row_scorer(rows, [str(p) for p in preds], rules)
    return [RowScore(row.index, value, extracted) for row, (value, extracted) in zip(rows, scored)]


def score_benchmark(bench: Benchmark, preds: list[str], rules: str) -> dict:
    """``metrics``, ``answers``, ``se``, ``rows`` and ``skipped`` of the predictions, one per
    scored row of ``bench`` in its order, under the rule set ``rules``; a missing prediction
    (empty, "None"...) scored as the "nan" VLMEvalKit reads. A benchmark without a scorable
    row is an InputError naming its file; an undefined standard error is None."""
    check_scorable(bench)
    preds = [as_text(str(p)) for p in preds]
    scored = score(bench.type, bench.rows, preds, rules, bench.circular)
    se = {}
    if scored:
        name = metrics.headline_metric(list(scored))
        se[name] = finite_or_none(standard_error(bench, preds, rules=rules, headline=(name, scored[name])))
    return {"metrics": scored, "answers": metrics.answer_spread(preds), "se": se,
            "rows": bench.rows_summary(), "skipped": bench.skipped_list()}


def finite_or_none(value: float) -> float | None:
    """JSON has no NaN: an undefined number (one image, no rows) is written as null."""
    return value if math.isfinite(value) else None


def write_scores(path: str | os.PathLike, scores: dict) -> None:
    """A scores JSON; a NaN or infinity left in it raises instead of being written."""
    write_json(path, scores, allow_nan=False)
