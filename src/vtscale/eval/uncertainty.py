"""Standard error of a benchmark's headline score, from its rows and one answer sheet.

- accuracy-type scores (a percentage of right rows, or of right questions for a
  circular MCQ): binomial, sqrt(p(1 − p)/rows or questions);
- captions: the spread of the per-image CIDEr over the images (the score is their mean);
- every other score (MME's acc + acc+, POPE's F1, HallusionBench's set-level scores):
  a bootstrap over images, rows that share an image or a HallusionBench set drawn
  together, each draw scored by the benchmark's own scorer.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict

import numpy as np

from vtscale.eval import metrics
from vtscale.eval.metrics.caption import cider_per_image
from vtscale.eval.metrics.mcq import circular_groups
from vtscale.eval.rules import LATEST
from vtscale.eval.tsv import Benchmark, Row

# Types whose headline metric is a plain percentage of right rows.
BINOMIAL_TYPES = ("mcq", "ocrvqa", "yorn", "textvqa", "chartqa", "docvqa")
BOOTSTRAP_DRAWS = 200


def headline_score(bench: Benchmark, predictions: list[str], rules: str = LATEST) -> tuple[str, float]:
    scores = metrics.score(bench.type, bench.rows, predictions, rules, bench.circular)
    name = metrics.headline_metric(list(scores))
    return name, scores[name]


def standard_error(bench: Benchmark, predictions: list[str], seed: int = 0, rules: str = LATEST,
                   headline: tuple[str, float] | None = None) -> float:
    """``headline``: the (metric, score) of these predictions when the caller has it."""
    if not bench.rows:
        return math.nan
    if bench.type == "caption":
        per_image = 100.0 * np.asarray(cider_per_image(bench.rows, predictions))
        return float(per_image.std(ddof=1) / math.sqrt(len(per_image))) if len(per_image) > 1 else math.nan
    name, value = headline or headline_score(bench, predictions, rules)
    if bench.type in BINOMIAL_TYPES:
        p, units = min(max(value / 100.0, 0.0), 1.0), scored_units(bench)
        return 100.0 * math.sqrt(p * (1 - p) / units) if units else math.nan
    return _bootstrap(bench, predictions, seed, rules, name)


def scored_units(bench: Benchmark) -> int:
    """What an accuracy averages over: the rows, or the questions of a circular MCQ."""
    return len(circular_groups(bench.rows)) if bench.circular else len(bench.rows)


def _bootstrap(bench: Benchmark, predictions: list[str], seed: int, rules: str, name: str) -> float:
    clusters = defaultdict(list)
    for i, row in enumerate(bench.rows):
        clusters[row.extra.get("set_id") or row.image_key or row.index].append(i)
    groups = list(clusters.values())
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(BOOTSTRAP_DRAWS):
        rows, preds = [], []
        for copy, g in enumerate(rng.integers(len(groups), size=len(groups))):
            for i in groups[g]:
                rows.append(_relabel(bench.rows[i], copy))
                preds.append(predictions[i])
        draws.append(metrics.score(bench.type, rows, preds, rules).get(name, float("nan")))
    return float(np.nanstd(draws, ddof=1))


def _relabel(row: Row, copy: int) -> Row:
    """A drawn copy of a row: its own index, image and set, so scorers that group rows
    keep repeated draws apart."""
    extra = {**row.extra, "set_id": f"{row.extra['set_id']}#{copy}"} if "set_id" in row.extra else row.extra
    return dataclasses.replace(row, index=f"{row.index}#{copy}", image_key=f"{row.image_key}#{copy}", extra=extra)
