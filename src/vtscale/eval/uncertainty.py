"""Standard error of a benchmark's headline score, from its rows and one answer sheet.

A dataset type (vtscale.eval.dataset_types) names its closed form where it has one
(vtscale.eval.standard_errors: binomial for accuracies, the per-image CIDEr spread for
captions). Every other score (MME's acc + acc+, POPE's F1, HallusionBench's set-level
scores, OCRBench's counts) gets a bootstrap over images here, rows that share an image or
a HallusionBench set drawn together, each draw scored by the benchmark's own scorer.

HallusionBench's bootstrap is floored by the error its Overall = (aAcc + fAcc + qAcc)/3
has from the aAcc term alone: the binomial error of aAcc over 3, the share of rows right
taken as (right + 1)/(rows + 2) so that it is never 0. Where every answer is the same,
every draw can score the same (each set with as many Yes as No questions) and the spread of
the draws is 0, which says nothing about how well the score is known.

Yes/no answers are read once, not once per draw: POPE's F1 of a draw comes from the
counts of true and false positives of the clusters drawn; MME and HallusionBench score
each draw from the rows' hits. Each draw's score is the same number as rescoring the
resampled predictions gives (tests/test_uncertainty.py).
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from vtscale.eval import metrics
from vtscale.eval.benchmark import Benchmark, Row
from vtscale.eval.dataset_types import DATASET_TYPES
from vtscale.eval.metrics import yorn
from vtscale.eval.rules import LATEST
from vtscale.eval.standard_errors import binomial_error

BOOTSTRAP_DRAWS = 200


def headline_score(bench: Benchmark, predictions: list[str], rules: str = LATEST) -> tuple[str, float]:
    scores = DATASET_TYPES[bench.type].score(bench.rows, predictions, rules, bench.circular)
    name = metrics.headline_metric(list(scores))
    return name, scores[name]


def standard_error(bench: Benchmark, predictions: list[str], seed: int = 0, rules: str = LATEST,
                   headline: tuple[str, float] | None = None) -> float:
    """``headline``: the (metric, score) of these predictions when the caller has it."""
    if not bench.rows:
        return math.nan
    kind = DATASET_TYPES[bench.type]
    measured = (lambda: headline) if headline else partial(headline_score, bench, predictions, rules)
    if kind.standard_error:
        return kind.standard_error(bench, predictions, measured)
    name, _ = measured()
    spread = _bootstrap(bench, predictions, seed, rules, name)
    if kind.overall_terms:
        return hallusion_floored(spread, bench, predictions, rules, kind.overall_terms)
    return spread


def hallusion_floored(spread: float, bench: Benchmark, predictions: list[str], rules: str,
                      terms: int) -> float:
    """The bootstrap spread of Overall, the mean of ``terms`` scores, at least the binomial
    error of its aAcc term (aAcc smoothed by Laplace's rule, so that all right or all
    wrong still has an error)."""
    hits = yorn.correct(bench.rows, predictions, rules)
    smoothed = 100.0 * (sum(hits) + 1) / (len(hits) + 2)
    floor = binomial_error(smoothed, len(hits)) / terms
    return floor if not math.isfinite(spread) else max(spread, floor)


def _bootstrap(bench: Benchmark, predictions: list[str], seed: int, rules: str, name: str) -> float:
    groups = clusters(bench.rows)
    score_draw = draw_scorer(bench, predictions, rules, name, groups)
    rng = np.random.default_rng(seed)
    draws = [score_draw(rng.integers(len(groups), size=len(groups))) for _ in range(BOOTSTRAP_DRAWS)]
    return float(np.nanstd(draws, ddof=1))


def clusters(rows: Sequence[Row]) -> list[list[int]]:
    """Row positions drawn together: those of one HallusionBench set, else of one image."""
    found = defaultdict(list)
    for i, row in enumerate(rows):
        found[row.extra.get("set_id") or row.image_key or row.index].append(i)
    return list(found.values())


def draw_scorer(bench: Benchmark, predictions: list[str], rules: str, name: str,
                groups: list[list[int]]) -> Callable[[np.ndarray], float]:
    """Metric ``name`` of one draw (the positions in ``groups`` drawn, repeats included),
    with the answers read here once."""
    kind = DATASET_TYPES[bench.type]
    if kind.overall_draws and name == "Overall":
        return kind.overall_draws(bench.rows, predictions, rules, groups)
    if kind.hit_scorer:
        hits = yorn.correct(bench.rows, predictions, rules)
        scorer = partial(kind.hit_scorer, rules=rules)
        return partial(_rescored, bench.rows, hits, groups, scorer, name)
    scorer = partial(kind.scorer, rules=rules)
    return partial(_rescored, bench.rows, predictions, groups, scorer, name)


def _rescored(rows: Sequence[Row], per_row: Sequence, groups: list[list[int]],
              scorer: Callable[[list[Row], list], dict[str, float]], name: str, drawn: np.ndarray) -> float:
    """The draw's rows (each drawn copy relabelled) and their predictions or hits, scored."""
    draw_rows, draw_values = [], []
    for copy, g in enumerate(drawn):
        for i in groups[g]:
            draw_rows.append(_relabel(rows[i], copy))
            draw_values.append(per_row[i])
    return scorer(draw_rows, draw_values).get(name, float("nan"))


def _relabel(row: Row, copy: int) -> Row:
    """A drawn copy of a row: its own index, image and set, so scorers that group rows
    keep repeated draws apart."""
    extra = {**row.extra, "set_id": f"{row.extra['set_id']}#{copy}"} if "set_id" in row.extra else row.extra
    return dataclasses.replace(row, index=f"{row.index}#{copy}", image_key=f"{row.image_key}#{copy}", extra=extra)
