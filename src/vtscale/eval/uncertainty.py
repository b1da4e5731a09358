"""Standard error of a benchmark's headline score, from its rows and one answer sheet.

- accuracy-type scores (a percentage of right rows, or of right questions for a
  circular MCQ): binomial, sqrt(p(1 − p)/rows or questions);
- captions: the spread of the per-image CIDEr over the images (the score is their mean);
- every other score (MME's acc + acc+, POPE's F1, HallusionBench's set-level scores):
  a bootstrap over images, rows that share an image or a HallusionBench set drawn
  together, each draw scored by the benchmark's own scorer.

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
from vtscale.eval.metrics import yorn
from vtscale.eval.metrics.caption import cider_per_image
from vtscale.eval.metrics.mcq import circular_groups
from vtscale.eval.rules import LATEST
from vtscale.eval.tsv import Benchmark, Row

# Types whose headline metric is a plain percentage of right rows.
BINOMIAL_TYPES = ("mcq", "ocrvqa", "yorn", "textvqa", "chartqa", "docvqa")
BOOTSTRAP_DRAWS = 200
HALLUSION_OVERALL_TERMS = 3      # Overall = (aAcc + fAcc + qAcc) / 3


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
        return binomial_error(value, scored_units(bench))
    spread = _bootstrap(bench, predictions, seed, rules, name)
    if bench.type == "hallusionbench":
        return hallusion_floored(spread, bench, predictions, rules)
    return spread


def binomial_error(percent: float, units: int) -> float:
    """Standard error (in points) of a percentage of ``units`` right: sqrt(p(1 − p)/units)."""
    p = min(max(percent / 100.0, 0.0), 1.0)
    return 100.0 * math.sqrt(p * (1 - p) / units) if units else math.nan


def hallusion_floored(spread: float, bench: Benchmark, predictions: list[str], rules: str) -> float:
    """The bootstrap spread of Overall, at least the binomial error of its aAcc term (aAcc
    smoothed by Laplace's rule, so that all right or all wrong still has an error)."""
    hits = yorn.correct(bench.rows, predictions, rules)
    smoothed = 100.0 * (sum(hits) + 1) / (len(hits) + 2)
    floor = binomial_error(smoothed, len(hits)) / HALLUSION_OVERALL_TERMS
    return floor if not math.isfinite(spread) else max(spread, floor)


def scored_units(bench: Benchmark) -> int:
    """What an accuracy averages over: the rows, or the questions of a circular MCQ."""
    return len(circular_groups(bench.rows)) if bench.circular else len(bench.rows)


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
    if bench.type == "pope" and name == "Overall":
        return PopeCounts.of(bench.rows, [yorn.extract_yes_no(p, rules) for p in predictions], groups).f1
    if bench.type in HIT_SCORERS:
        hits = yorn.correct(bench.rows, predictions, rules)
        scorer = partial(HIT_SCORERS[bench.type], rules=rules)
        return partial(_rescored, bench.rows, hits, groups, scorer, name)
    scorer = partial(metrics.score, bench.type, rules=rules)
    return partial(_rescored, bench.rows, predictions, groups, scorer, name)


HIT_SCORERS = {"mme": yorn.mme_scores_from_hits, "hallusionbench": yorn.hallusion_scores_from_hits}


def _rescored(rows: Sequence[Row], per_row: Sequence, groups: list[list[int]],
              scorer: Callable[[list[Row], list], dict[str, float]], name: str, drawn: np.ndarray) -> float:
    """The draw's rows (each drawn copy relabelled) and their predictions or hits, scored."""
    draw_rows, draw_values = [], []
    for copy, g in enumerate(drawn):
        for i in groups[g]:
            draw_rows.append(_relabel(rows[i], copy))
            draw_values.append(per_row[i])
    return scorer(draw_rows, draw_values).get(name, float("nan"))


@dataclasses.dataclass(frozen=True)
class PopeCounts:
    """Per cluster, its true positives, false positives and false negatives ("Yes" the
    positive answer), each row counted once per category it lists, as POPE's Overall
    counts it."""
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray

    @classmethod
    def of(cls, rows: Sequence[Row], extracted: Sequence[str], groups: list[list[int]]) -> PopeCounts:
        cluster = np.empty(len(rows), dtype=np.int64)
        for k, group in enumerate(groups):
            cluster[group] = k
        weight = np.array([len(yorn.pope_categories(row)) for row in rows], dtype=np.int64)
        truth = np.array([row.answer == "Yes" for row in rows], dtype=bool)
        guess = np.array([answer == "Yes" for answer in extracted], dtype=bool)

        def per_cluster(mask: np.ndarray) -> np.ndarray:
            return np.bincount(cluster, weights=weight * mask, minlength=len(groups)).astype(np.int64)

        return cls(per_cluster(truth & guess), per_cluster(~truth & guess), per_cluster(truth & ~guess))

    def f1(self, drawn: np.ndarray) -> float:
        """POPE's Overall (F1 x 100) of the clusters drawn."""
        times = np.bincount(drawn, minlength=len(self.tp))
        f1, _, _ = yorn.f1_from_counts(int(times @ self.tp), int(times @ self.fp), int(times @ self.fn))
        return f1 * 100


def _relabel(row: Row, copy: int) -> Row:
    """A drawn copy of a row: its own index, image and set, so scorers that group rows
    keep repeated draws apart."""
    extra = {**row.extra, "set_id": f"{row.extra['set_id']}#{copy}"} if "set_id" in row.extra else row.extra
    return dataclasses.replace(row, index=f"{row.index}#{copy}", image_key=f"{row.image_key}#{copy}", extra=extra)
