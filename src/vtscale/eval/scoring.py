"""One answer sheet of a benchmark scored: the part of the scores JSON that ``vtscale
eval`` and ``vtscale score`` share (docs/formats.md), and the one way it is written."""

from __future__ import annotations

import math
import os

from vtscale.eval import metrics
from vtscale.eval.tsv import Benchmark, as_text, check_scorable
from vtscale.eval.uncertainty import standard_error
from vtscale.io import write_json


def score_benchmark(bench: Benchmark, preds: list[str], rules: str) -> dict:
    """``metrics``, ``answers``, ``se``, ``rows`` and ``skipped`` of the predictions, one per
    scored row of ``bench`` in its order, under the rule set ``rules``; a missing prediction
    (empty, "None"...) scored as the "nan" VLMEvalKit reads. A benchmark without a scorable
    row is an InputError naming its file; an undefined standard error is None."""
    check_scorable(bench)
    preds = [as_text(str(p)) for p in preds]
    scored = metrics.score(bench.type, bench.rows, preds, rules, bench.circular)
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
