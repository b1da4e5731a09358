"""The paper's three headline findings, checked on one run's fits and scores.

Each check says whether the finding holds and gives the numbers it rests on, so the
report states plainly what this run shows, whichever way it goes:

1. growth: for the ``question`` variant, α < 0 (score grows with n) on all benchmarks
   but at most one, and a good power-law fit (R² ≥ 0.8) on at least half of them;
2. reading: the steepest α (most negative) belongs to a text-reading benchmark, and
   its power law fits (R² ≥ 0.8; a noise-level slope is not a finding);
3. fusion: at the smallest n, fusing the question beats the fine-tuned no-question
   variant on more than half of the benchmarks.
Before them, a check of the run itself: the model answers from the image, i.e. at the
largest n the question variant beats both image-blind baselines (vtscale.analysis.
baselines) by more than 3 standard errors on at least two thirds of the benchmarks.
A run that fails it scores at chance, and then nothing can be read from its curves.
Only each benchmark's headline metric counts (vtscale.analysis.scores.main_metric_rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from vtscale.analysis.fit import FLAT_ALPHA, is_flat
from vtscale.analysis.scores import main_metric_rows
from vtscale.eval.dataset_types import DATASET_TYPES
from vtscale.variants import QUESTION

GOOD_FIT_R2 = 0.8
BASELINE_MARGIN_SE = 3.0


def reading_benchmarks(types: dict[str, str]) -> list[str]:
    """Names of the benchmarks (name -> dataset type) whose type is text reading."""
    return sorted(name for name, type_ in types.items()
                  if type_ in DATASET_TYPES and DATASET_TYPES[type_].reads_text)


@dataclass
class Finding:
    claim: str
    holds: bool | None          # None: not enough data to decide
    evidence: str


def headline_fits(fits: pd.DataFrame, variant: str = QUESTION) -> pd.DataFrame:
    return main_metric_rows(fits[fits["variant"] == variant]).sort_values("benchmark")


def _alpha(alpha: float, r2: float) -> str:
    return "flat" if is_flat(alpha) else f"α={alpha:+.3g} (R² {r2:.2f})"


def _alphas(frame: pd.DataFrame) -> str:
    return ", ".join(f"{r.benchmark} {_alpha(r.alpha, r.r2)}" for r in frame.itertuples())


def growth(fits: pd.DataFrame) -> Finding:
    claim = "Performance grows with n for the question variant (α < 0)"
    rows = headline_fits(fits)
    if rows.empty:
        return Finding(claim, None, "no fits for the question variant")
    total = len(rows)
    negative = int((rows["alpha"] < -FLAT_ALPHA).sum())
    good = int((rows["r2"].fillna(0) >= GOOD_FIT_R2).sum())
    holds = negative >= total - 1 and good >= total / 2
    return Finding(claim, holds, f"α < 0 on {negative} of {total} benchmarks, R² ≥ {GOOD_FIT_R2} "
                                 f"on {good} of {total}: {_alphas(rows)}")


def reading_steepest(fits: pd.DataFrame, reading: list[str]) -> Finding:
    claim = "The text-reading benchmark has the steepest α"
    rows = headline_fits(fits)
    if rows.empty or not reading:
        return Finding(claim, None, "no fits, or no reading benchmark in the config")
    steepest = rows.loc[rows["alpha"].idxmin()]
    holds = bool(steepest["benchmark"] in reading and steepest["alpha"] < -FLAT_ALPHA
                 and steepest["r2"] >= GOOD_FIT_R2)
    return Finding(claim, holds, f"steepest: {steepest['benchmark']} "
                                 f"{_alpha(steepest['alpha'], steepest['r2'])}; "
                                 f"reading benchmarks: {', '.join(reading)}")


def fusion_helps(deltas: pd.DataFrame) -> Finding:
    claim = "Fusing the question helps at small n (P_question > P_no_question)"
    if deltas.empty:
        return Finding(claim, None, "no question/no-question pairs")
    n = int(deltas["n"].min())
    rows = main_metric_rows(deltas[deltas["n"] == n]).sort_values("benchmark")
    better = int((rows["delta_ft"] > 0).sum())
    listed = ", ".join(f"{r.benchmark} {r.delta_ft:+.3g}" for r in rows.itertuples())
    return Finding(claim, better > len(rows) / 2,
                   f"at n = {n}, question beats no-question (fine-tuned) on {better} of "
                   f"{len(rows)} benchmarks; P_question − P_no_question: {listed}")


def versus_baselines(scores: pd.DataFrame, baselines: pd.DataFrame) -> pd.DataFrame:
    """Per benchmark: the question variant's score at the largest n beside the baselines,
    and its margin over the better one in standard errors."""
    question = scores[scores["variant"] == QUESTION]
    top = question[question["n"] == question["n"].max()]
    merged = baselines.merge(top[["benchmark", "metric", "n", "score"]], on=["benchmark", "metric"])
    merged["better_baseline"] = merged[["majority", "question_alone"]].max(axis=1)
    merged["margin_se"] = (merged["score"] - merged["better_baseline"]) / merged["se"].where(merged["se"] > 0)
    return merged[["benchmark", "metric", "rows", "n", "score", "majority", "question_alone", "se",
                   "margin_se"]].sort_values("benchmark")


def image_use(scores: pd.DataFrame | None, baselines: pd.DataFrame | None) -> Finding:
    claim = (f"The model answers from the image (question variant at the largest n above both "
             f"image-blind baselines by more than {BASELINE_MARGIN_SE:g} standard errors)")
    if scores is None or baselines is None or scores.empty or baselines.empty:
        return Finding(claim, None, "no scores or no baselines.csv")
    rows = versus_baselines(scores, baselines)
    if rows.empty:
        return Finding(claim, None, "no question-variant score in a baseline's metric")
    above = int((rows["margin_se"] > BASELINE_MARGIN_SE).sum())
    listed = ", ".join(f"{r.benchmark} {r.score:.3g} vs {max(r.majority, r.question_alone):.3g} "
                       f"({r.margin_se:+.1f} SE)" for r in rows.itertuples())
    return Finding(claim, above * 3 >= len(rows) * 2,
                   f"above on {above} of {len(rows)} benchmarks at n = {int(rows['n'].max())}: {listed}")


def check_all(fits: pd.DataFrame | None, deltas: pd.DataFrame | None,
              reading: list[str]) -> list[Finding]:
    fits = fits if fits is not None else pd.DataFrame(columns=["variant", "benchmark", "metric",
                                                               "alpha", "r2"])
    deltas = deltas if deltas is not None else pd.DataFrame(columns=["benchmark", "metric", "n",
                                                                     "delta_ft"])
    return [growth(fits), reading_steepest(fits, reading), fusion_helps(deltas)]
