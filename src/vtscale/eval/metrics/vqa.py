"""Open-answer VQA metrics: VQA accuracy (TextVQA), relaxed accuracy (ChartQA), exact match
(OCRVQA), ANLS (DocVQA) and OCRBench hit counts. Exact match is the same under every rule
set; it takes ``rules`` for a common signature."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
from nltk.metrics.distance import edit_distance

from vtscale.eval.benchmark import Row
from vtscale.eval.metrics.splits import has_splits, split_positions
from vtscale.eval.metrics.text import normalize_vqa_answer
from vtscale.eval.rules import LATEST, PINNED

log = logging.getLogger(__name__)

ANLS_THRESHOLD = 0.5
# OCRBench's "Final Score Norm" (VLMEvalKit, 0ff0c3e and today): the Final Score over 10,
# a percentage on the benchmark's 1,000 questions.
OCRBENCH_NORM_DIVISOR = 10
HMER = "Handwritten Mathematical Expression Recognition"
# OCRBench's categories; 0ff0c3e's Final Score sums these only, the first six as one
# "Text Recognition".
OCRBENCH_TEXT_RECOGNITION = (
    "Regular Text Recognition", "Irregular Text Recognition", "Artistic Text Recognition",
    "Handwriting Recognition", "Digit String Recognition", "Non-Semantic Text Recognition")
OCRBENCH_CATEGORIES = (*OCRBENCH_TEXT_RECOGNITION, "Scene Text-centric VQA", "Doc-oriented VQA",
                       "Key Information Extraction", HMER)


def vqa_accuracy(prediction: str, answers: Sequence[str], rules: str = LATEST) -> float:
    """Mean over references of min(1, #other references equal to the prediction / 3)."""
    pred = normalize_vqa_answer(prediction, rules)
    gts = [normalize_vqa_answer(a, rules) for a in answers]
    scores = [min(1.0, sum(g == pred for j, g in enumerate(gts) if j != i) / 3)
              for i in range(len(gts))]
    return float(np.mean(scores))


def _to_float(text: str) -> float | None:
    try:
        return float(text.rstrip("%")) / 100 if text.endswith("%") else float(text)
    except ValueError:
        return None


def relaxed_correct(prediction: str, target: str, tolerance: float = 0.05,
                    rules: str = LATEST) -> bool:
    """Numbers within 5% of a non-zero target (under 0ff0c3e: of a non-zero prediction);
    anything else exact, case-insensitive."""
    prediction = prediction.strip()
    if rules == PINNED:  # 0ff0c3e passed the two the other way round
        return _relaxed_to_reference(target, prediction, tolerance)
    return _relaxed_to_reference(prediction, target, tolerance)


def _relaxed_to_reference(value: str, reference: str, tolerance: float) -> bool:
    """Within ``tolerance`` of ``reference``, relative to it; exact if either is no number
    or the reference is zero."""
    number, reference_number = _to_float(value), _to_float(reference)
    if number is not None and reference_number:
        return abs(number - reference_number) / abs(reference_number) <= tolerance
    return value.lower() == reference.lower()


def relaxed_accuracy(prediction: str, answers: Sequence[str], rules: str = LATEST) -> float:
    return float(max(relaxed_correct(prediction, a, rules=rules) for a in answers))


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    pred = prediction.strip().lower()
    return float(max(a.strip().lower() == pred for a in answers))


def anls(prediction: str, answers: Sequence[str], rules: str = LATEST) -> float:
    """1 - the smallest normalised edit distance to a reference, 0 below the threshold.
    The lengths are those of the upper-cased strings ("ß" counts 2), as VLMEvalKit's.
    ``rules``: for a common signature; the same under both."""
    def distance(gt: str) -> float:
        a, b = " ".join(gt.strip().lower().split()), " ".join(prediction.strip().lower().split())
        length = max(len(gt.upper()), len(prediction.upper()))
        return edit_distance(a, b) / length if length else 0.0
    score = 1 - min(distance(a) for a in answers)
    return score if score >= ANLS_THRESHOLD else 0.0


def _score_table(rows: Sequence[Row], preds: Sequence[str],
                  score: Callable[[str, Sequence[str]], float]) -> dict[str, float]:
    """Overall and, as VLMEvalKit's VQA evaluation reports it, a score per split where
    the TSV has a ``split`` column (keyed by the split's name), else per category."""
    values = [score(str(p), r.answers) for r, p in zip(rows, preds)]
    metrics = {"Overall": _mean_pct(values)}
    if has_splits(rows):
        for split, positions in split_positions(rows).items():
            metrics[split] = _mean_pct([values[i] for i in positions])
        return metrics
    for cat in sorted({r.category for r in rows} - {None}):
        metrics[cat] = _mean_pct([v for r, v in zip(rows, values) if r.category == cat])
    return metrics


def _mean_pct(values: Sequence[float]) -> float:
    return float(np.mean(values) * 100) if len(values) else 0.0


def textvqa_scores(rows, preds, rules: str = LATEST):
    return _score_table(rows, preds, partial(vqa_accuracy, rules=rules))


def chartqa_scores(rows, preds, rules: str = LATEST):
    return _score_table(rows, preds, partial(relaxed_accuracy, rules=rules))


def ocrvqa_scores(rows, preds, rules: str = LATEST):
    return _score_table(rows, preds, exact_match)


def docvqa_scores(rows, preds, rules: str = LATEST):
    return _score_table(rows, preds, partial(anls, rules=rules))


def ocrbench_hit(prediction: str, answers: Sequence[str], category: str | None) -> bool:
    """A reference contained in the prediction (case-insensitive; spaces ignored for
    handwritten maths)."""
    for answer in answers:
        if category == HMER:
            if answer.strip().replace("\n", " ").replace(" ", "") in \
                    prediction.strip().replace("\n", " ").replace(" ", ""):
                return True
        elif answer.lower().strip().replace("\n", " ") in prediction.lower().strip().replace("\n", " "):
            return True
    return False


def ocrbench_scores(rows: Sequence[Row], preds: Sequence[str], rules: str = LATEST) -> dict[str, float]:
    """Hit counts per category; Overall is the total count (OCRBench's "Final Score"),
    "Final Score Norm" that over 10. Under 0ff0c3e the total is over OCRBench's ten
    categories only, with their "Text Recognition" sum."""
    counts: dict[str, int] = defaultdict(int)
    total = 0
    for row, pred in zip(rows, preds):
        hit = ocrbench_hit(str(pred), row.answers, row.category)
        total += hit
        if row.category:
            counts[row.category] += hit
    metrics = {"Overall": float(total), **{c: float(v) for c, v in sorted(counts.items())}}
    if rules == PINNED:
        metrics.update(_ocrbench_sums_0ff0c3e(counts, total))
    metrics["Final Score Norm"] = metrics["Overall"] / OCRBENCH_NORM_DIVISOR
    return metrics


def _ocrbench_sums_0ff0c3e(counts: dict[str, int], total: int) -> dict[str, float]:
    """0ff0c3e's Final Score and Text Recognition. A hit outside the ten categories made
    0ff0c3e fail (KeyError); here it stays out of the Final Score."""
    final = sum(counts.get(c, 0) for c in OCRBENCH_CATEGORIES)
    if final != total:
        log.warning("%d OCRBench hits in rows outside its ten categories: left out of Overall",
                    total - final)
    return {"Overall": float(final),
            "Text Recognition": float(sum(counts.get(c, 0) for c in OCRBENCH_TEXT_RECOGNITION))}
