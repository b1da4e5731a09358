"""The pieces of a standard error a dataset type names (vtscale.eval.dataset_types): a
closed form, ``(bench, predictions, headline) -> error`` where ``headline()`` gives the
(metric, score) of the predictions, or, for a type bootstrapped over images
(vtscale.eval.uncertainty), a faster scorer of a draw.

- accuracy-type scores (a percentage of right rows, or of right questions for a circular
  MCQ): binomial, sqrt(p(1 − p)/rows or questions);
- captions: the spread of the per-image CIDEr over the images (the score is their mean);
- POPE's Overall (F1) of a draw from the counts of true and false positives of the
  clusters drawn, its yes/no answers read once.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np

from vtscale.eval.benchmark import Benchmark, Row
from vtscale.eval.metrics import yorn
from vtscale.eval.metrics.caption import cider_per_image
from vtscale.eval.metrics.mcq import circular_groups

Headline = Callable[[], tuple[str, float]]
ClosedForm = Callable[[Benchmark, list[str], Headline], float]
# (rows, predictions, rules, clusters) -> the score of a draw (the clusters drawn, repeats included)
DrawScorer = Callable[[Sequence[Row], Sequence[str], str, list[list[int]]], Callable[[np.ndarray], float]]


def binomial(bench: Benchmark, predictions: list[str], headline: Headline) -> float:
    return binomial_error(headline()[1], scored_units(bench))


def per_image_cider(bench: Benchmark, predictions: list[str], headline: Headline) -> float:
    per_image = 100.0 * np.asarray(cider_per_image(bench.rows, predictions))
    return float(per_image.std(ddof=1) / math.sqrt(len(per_image))) if len(per_image) > 1 else math.nan


def binomial_error(percent: float, units: int) -> float:
    """Standard error (in points) of a percentage of ``units`` right: sqrt(p(1 − p)/units)."""
    p = min(max(percent / 100.0, 0.0), 1.0)
    return 100.0 * math.sqrt(p * (1 - p) / units) if units else math.nan


def scored_units(bench: Benchmark) -> int:
    """What an accuracy averages over: the rows, or the questions of a circular MCQ."""
    return len(circular_groups(bench.rows)) if bench.circular else len(bench.rows)


def pope_overall_draws(rows: Sequence[Row], predictions: Sequence[str], rules: str,
                       groups: list[list[int]]) -> Callable[[np.ndarray], float]:
    return PopeCounts.of(rows, [yorn.extract_yes_no(p, rules) for p in predictions], groups).f1


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
