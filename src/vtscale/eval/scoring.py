"""One answer sheet of a benchmark scored: the part of the scores JSON that ``vtscale
eval`` and ``vtscale score`` share (docs/formats.md)."""

from __future__ import annotations

from vtscale.eval import metrics
from vtscale.eval.tsv import Benchmark
from vtscale.eval.uncertainty import standard_error


def score_benchmark(bench: Benchmark, preds: list[str], rules: str) -> dict:
    """``metrics``, ``answers``, ``se``, ``rows`` and ``skipped`` of the predictions, one per
    scored row of ``bench`` in its order, under the rule set ``rules``."""
    scored = metrics.score(bench.type, bench.rows, preds, rules, bench.circular)
    se = {}
    if scored:
        name = metrics.headline_metric(list(scored))
        se[name] = standard_error(bench, preds, rules=rules, headline=(name, scored[name]))
    return {"metrics": scored, "answers": metrics.answer_spread(preds), "se": se,
            "rows": bench.rows_summary(), "skipped": bench.skipped_list()}
