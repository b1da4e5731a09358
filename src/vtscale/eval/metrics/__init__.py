"""Rule-based scorers, one per dataset type: ``score(rows, predictions, rules) -> {metric:
value}``, ``rules`` one of ``vtscale.eval.rules.RULE_SETS``."""

from collections import Counter

from vtscale.eval.metrics.caption import caption_scores
from vtscale.eval.metrics.mcq import circular_mcq_scores, mcq_scores
from vtscale.eval.metrics.vqa import (chartqa_scores, docvqa_scores, ocrbench_scores,
                                      ocrvqa_scores, textvqa_scores)
from vtscale.eval.metrics.yorn import hallusion_scores, mme_scores, pope_scores, yorn_scores
from vtscale.eval.rules import LATEST

SCORERS = {
    "yorn": yorn_scores, "pope": pope_scores, "mme": mme_scores,
    "hallusionbench": hallusion_scores, "mcq": mcq_scores, "textvqa": textvqa_scores,
    "chartqa": chartqa_scores, "ocrvqa": ocrvqa_scores, "docvqa": docvqa_scores,
    "ocrbench": ocrbench_scores, "caption": caption_scores,
}


def score(type_: str, rows, predictions, rules: str = LATEST, circular: bool = False) -> dict[str, float]:
    """``circular``: an MCQ scored per question over its option shifts (MMBench)."""
    if circular:
        return circular_mcq_scores(rows, predictions, rules=rules)
    return SCORERS[type_](rows, predictions, rules=rules)


# The headline metric of each benchmark type, most preferred first (first one present wins).
HEADLINE_PRIORITY = ("Overall", "overall", "accuracy", "acc", "F1", "f1", "CIDEr", "Cider",
                     "vqa_accuracy", "relaxed_accuracy", "exact_match", "score")


def headline_metric(names: list[str]) -> str:
    """The metric a benchmark is reported in: first of the priority list, else the first seen."""
    for name in HEADLINE_PRIORITY:
        if name in names:
            return name
    return names[0]


def answer_spread(predictions: list[str]) -> dict[str, float]:
    """How varied the answers are, in % (not a score: written apart from the metrics). A
    model that ignores its vision tokens gives (nearly) the same answer to every question
    of a kind, whatever the image."""
    answers = [" ".join(str(p).split()).lower() for p in predictions]
    if not answers:
        return {}
    top = Counter(answers).most_common(1)[0][1]
    return {"most_common_share": 100.0 * top / len(answers),
            "distinct_share": 100.0 * len(set(answers)) / len(answers)}
