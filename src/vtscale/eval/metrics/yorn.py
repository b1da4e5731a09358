"""Yes/no benchmarks: answer extraction and the POPE, MME, HallusionBench ratings."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from vtscale.eval.benchmark import HALLUSION_IDS, Row
from vtscale.eval.metrics.text import strip_punctuation
from vtscale.eval.rules import LATEST, PINNED

log = logging.getLogger(__name__)

# The official MME categories (VLMEvalKit calls the second group "reasoning").
MME_PERCEPTION = ("OCR", "artwork", "celebrity", "color", "count", "existence", "landmark",
                  "position", "posters", "scene")
MME_COGNITION = ("code_reasoning", "commonsense_reasoning", "numerical_calculation",
                 "text_translation")


def extract_yes_no(prediction: str, rules: str = LATEST) -> str:
    """'Yes' if the words contain yes and not no, 'No' for the reverse, else 'Unknown'."""
    words = strip_punctuation(str(prediction).lower(), rules).split()
    if ("yes" in words) != ("no" in words):
        return "Yes" if "yes" in words else "No"
    return "Unknown"


def correct(rows: Sequence[Row], preds: Sequence[str], rules: str = LATEST) -> list[bool]:
    return [extract_yes_no(p, rules) == r.answer for r, p in zip(rows, preds)]


def _pct(values) -> float:
    return float(np.mean(values) * 100) if len(values) else 0.0


def _by(rows: Sequence[Row], key: Callable[[Row], str | None]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        k = key(row)
        if k is not None:
            groups[k].append(i)
    return dict(sorted(groups.items()))


def yorn_scores(rows: Sequence[Row], preds: Sequence[str], rules: str = LATEST) -> dict[str, float]:
    """Accuracy overall and per category / l2-category (VLMEvalKit's default rating)."""
    hits = correct(rows, preds, rules)
    metrics = {"Overall": _pct(hits)}
    for key in (lambda r: r.category, lambda r: r.l2_category):
        for split, idx in _by(rows, key).items():
            metrics[split] = _pct([hits[i] for i in idx])
    return metrics


def _f1_precision_recall(answers: list[str], extracted: list[str]) -> tuple[float, float, float]:
    truth = np.array([a == "Yes" for a in answers])
    guess = np.array([e == "Yes" for e in extracted])
    return f1_from_counts(int((truth & guess).sum()), int((~truth & guess).sum()), int((truth & ~guess).sum()))


def f1_from_counts(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """(F1, precision, recall) of "Yes" as the positive answer, from the counts of true
    positives, false positives and false negatives."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f1, precision, recall


def pope_scores(rows: Sequence[Row], preds: Sequence[str], rules: str = LATEST) -> dict[str, float]:
    """F1 (Yes positive) as Overall, with acc, precision, recall. A question listed in
    several comma-separated categories counts once per category, overall too (VLMEvalKit)."""
    items = []  # (category, answer, extracted)
    for row, pred in zip(rows, preds):
        for cat in pope_categories(row):
            items.append((cat, row.answer, extract_yes_no(pred, rules)))
    metrics = _pope_block(items, "")
    for cat in sorted({c for c, _, _ in items if c}):
        metrics.update(_pope_block([it for it in items if it[0] == cat], f"{cat}/"))
    return metrics


def pope_categories(row: Row) -> list[str | None]:
    """The categories a POPE row counts in: each of its comma-separated ones, or None."""
    return row.category.split(",") if row.category else [None]


def _pope_block(items, prefix: str) -> dict[str, float]:
    answers, extracted = [a for _, a, _ in items], [e for _, _, e in items]
    f1, precision, recall = _f1_precision_recall(answers, extracted)
    acc = _pct([a == e for a, e in zip(answers, extracted)])
    return {f"{prefix}Overall": f1 * 100, f"{prefix}acc": acc,
            f"{prefix}precision": precision * 100, f"{prefix}recall": recall * 100}


def mme_scores(rows: Sequence[Row], preds: Sequence[str], rules: str = LATEST) -> dict[str, float]:
    """Per category acc and acc+ (an image's questions all right), score = acc + acc+;
    perception and cognition sums (by l2-category if given, else the official lists; the
    lists only under 0ff0c3e). Overall = perception + cognition (0ff0c3e reports the two
    sums, calling cognition "reasoning", and no Overall)."""
    return mme_scores_from_hits(rows, correct(rows, preds, rules), rules)


def mme_scores_from_hits(rows: Sequence[Row], hits: Sequence[bool], rules: str = LATEST) -> dict[str, float]:
    """``mme_scores`` from each row's hit."""
    metrics: dict[str, float] = {}
    sums = {"perception": 0.0, "cognition": 0.0}
    for cat, idx in _by(rows, lambda r: r.category or "all").items():
        per_image = defaultdict(list)
        for i in idx:
            per_image[rows[i].image_key].append(hits[i])
        acc = _pct([hits[i] for i in idx])
        acc_plus = _acc_plus(list(per_image.values()), rules)
        metrics[f"{cat}/acc"], metrics[f"{cat}/acc+"] = acc, acc_plus
        metrics[cat] = acc + acc_plus
        group = _mme_group(cat, rows[idx[0]].l2_category, rules)
        if group:
            sums[group] += acc + acc_plus
        else:
            log.warning("MME category %r is neither perception nor cognition", cat)
    metrics.update(sums)
    metrics["Overall"] = sums["perception"] + sums["cognition"]
    return metrics


def _acc_plus(per_image: list[list[bool]], rules: str) -> float:
    """% of images with all their questions right; under 0ff0c3e, their first two (it
    multiplies the first two scores: a third is ignored; a lone question, on which 0ff0c3e
    fails, counts alone)."""
    if rules != PINNED:
        return _pct([all(hits) for hits in per_image])
    odd = sum(len(hits) != 2 for hits in per_image)
    if odd:
        log.warning("%d MME images without exactly 2 questions: 0ff0c3e's acc+ expects 2", odd)
    return _pct([all(hits[:2]) for hits in per_image])


def _mme_group(category: str, l2: str | None, rules: str = LATEST) -> str | None:
    """perception or cognition: by the l2-category if given, else by the official lists
    (0ff0c3e uses the lists only)."""
    if l2 and rules != PINNED:
        l2 = l2.lower()
        return "perception" if l2 == "perception" else "cognition" if l2 in ("cognition", "reasoning") else None
    if category in MME_PERCEPTION:
        return "perception"
    return "cognition" if category in MME_COGNITION else None


def _hallusion_block(rows, hits, prefix: str) -> dict[str, float]:
    figures, questions = defaultdict(list), defaultdict(list)
    for row, hit in zip(rows, hits):
        set_id, figure_id, question_id = (row.extra[k] for k in HALLUSION_IDS)
        figures[(row.l2_category, set_id, figure_id)].append(hit)
        questions[(row.l2_category, set_id, question_id)].append(hit)
    a = _pct(hits)
    f = _pct([all(v) for v in figures.values()])
    q = _pct([all(v) for v in questions.values()])
    return {f"{prefix}aAcc": a, f"{prefix}fAcc": f, f"{prefix}qAcc": q,
            f"{prefix}Overall": (a + f + q) / 3}


def hallusion_scores(rows: Sequence[Row], preds: Sequence[str], rules: str = LATEST) -> dict[str, float]:
    """aAcc, fAcc (figure groups all right), qAcc (question groups all right), Overall = mean;
    also per category and l2-category."""
    return hallusion_scores_from_hits(rows, correct(rows, preds, rules))


def hallusion_scores_from_hits(rows: Sequence[Row], hits: Sequence[bool], rules: str = LATEST) -> dict[str, float]:
    """``hallusion_scores`` from each row's hit (``rules``: for a common signature)."""
    metrics = _hallusion_block(rows, hits, "")
    for key in (lambda r: r.category, lambda r: r.l2_category):
        for split, idx in _by(rows, key).items():
            metrics.update(_hallusion_block([rows[i] for i in idx], [hits[i] for i in idx],
                                            f"{split}/"))
    return metrics
