"""Open-answer VQA metrics: VQA accuracy (TextVQA), relaxed accuracy (ChartQA), exact match
(OCRVQA), ANLS (DocVQA) and OCRBench hit counts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np
from nltk.metrics.distance import edit_distance

from vtscale.eval.metrics.text import normalize_vqa_answer
from vtscale.eval.tsv import Row

ANLS_THRESHOLD = 0.5
HMER = "Handwritten Mathematical Expression Recognition"


def vqa_accuracy(prediction: str, answers: Sequence[str]) -> float:
    """Mean over references of min(1, #other references equal to the prediction / 3)."""
    pred = normalize_vqa_answer(prediction)
    gts = [normalize_vqa_answer(a) for a in answers]
    scores = [min(1.0, sum(g == pred for j, g in enumerate(gts) if j != i) / 3)
              for i in range(len(gts))]
    return float(np.mean(scores))


def _to_float(text: str) -> float | None:
    try:
        return float(text.rstrip("%")) / 100 if text.endswith("%") else float(text)
    except ValueError:
        return None


def relaxed_correct(prediction: str, target: str, tolerance: float = 0.05) -> bool:
    """Numbers within 5% of a non-zero target; anything else (a zero target too) exact,
    case-insensitive."""
    prediction = prediction.strip()
    pred_value, target_value = _to_float(prediction), _to_float(target)
    if pred_value is not None and target_value:
        return abs(pred_value - target_value) / abs(target_value) <= tolerance
    return prediction.lower() == target.lower()


def relaxed_accuracy(prediction: str, answers: Sequence[str]) -> float:
    return float(max(relaxed_correct(prediction, a) for a in answers))


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    pred = prediction.strip().lower()
    return float(max(a.strip().lower() == pred for a in answers))


def anls(prediction: str, answers: Sequence[str]) -> float:
    """1 - the smallest normalised edit distance to a reference, 0 below the threshold."""
    def distance(gt: str) -> float:
        a, b = " ".join(gt.strip().lower().split()), " ".join(prediction.strip().lower().split())
        length = max(len(gt), len(prediction))
        return edit_distance(a, b) / length if length else 0.0
    score = 1 - min(distance(a) for a in answers)
    return score if score >= ANLS_THRESHOLD else 0.0


def _per_category(rows: Sequence[Row], preds: Sequence[str],
                  score: Callable[[str, Sequence[str]], float]) -> dict[str, float]:
    values = [score(str(p), r.answers) for r, p in zip(rows, preds)]
    metrics = {"Overall": float(np.mean(values) * 100) if values else 0.0}
    for cat in sorted({r.category for r in rows} - {None}):
        metrics[cat] = float(np.mean([v for r, v in zip(rows, values) if r.category == cat]) * 100)
    return metrics


def textvqa_scores(rows, preds):
    return _per_category(rows, preds, vqa_accuracy)


def chartqa_scores(rows, preds):
    return _per_category(rows, preds, relaxed_accuracy)


def ocrvqa_scores(rows, preds):
    return _per_category(rows, preds, exact_match)


def docvqa_scores(rows, preds):
    return _per_category(rows, preds, anls)


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


def ocrbench_scores(rows: Sequence[Row], preds: Sequence[str]) -> dict[str, float]:
    """Hit counts per category; Overall is the total count (OCRBench's "Final Score")."""
    counts: dict[str, int] = defaultdict(int)
    total = 0
    for row, pred in zip(rows, preds):
        hit = ocrbench_hit(str(pred), row.answers, row.category)
        total += hit
        if row.category:
            counts[row.category] += hit
    return {"Overall": float(total), **{c: float(v) for c, v in sorted(counts.items())}}
