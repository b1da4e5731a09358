"""Rule-based scorers, one per dataset type (vtscale.eval.dataset_types names each type's):
``score(rows, predictions, rules) -> {metric: value}``, ``rules`` one of
``vtscale.eval.rules.RULE_SETS``. Here: which metric is the headline, and how varied the
answers are."""

from collections import Counter

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
