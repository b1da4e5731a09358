"""How much of a multi-cell answer a model got right, from one eval folder's predictions
(docs/experiments.md, 2026-12-07 late night). From the root of a finished demo run:

    python experiments/detail_scores.py results/demo/eval/question/n32_m4

Captions: the share of "<colour> <kind> <place>" items in the prediction that the first
reference also names (precision), the share of the reference's items the prediction names
(recall), and how often it names as many shapes. All-words reading: exact match on the
one-word and the two-word rows apart, and how often a two-word row gets a two-word answer.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd

BENCHMARKS = Path("data/demo/benchmarks")
ITEM = re.compile(r"an? (\w+ \w+) ((?:in|on|at) the [a-z ]+?)(?=,| and|\.|$)")


def shape_items(caption: str) -> set[tuple[str, str]]:
    return set(ITEM.findall(caption.split(", with")[0]))


def mean(values) -> float:
    return round(sum(values) / len(values), 3)


def caption_item_scores(references: list[str], captions: list[str]) -> dict[str, float]:
    """Precision and recall of the captions' shape items against each first reference,
    and how often a caption names as many shapes."""
    precision, recall, same_count = [], [], []
    for reference, caption in zip(references, captions):
        truth, said = shape_items(reference), shape_items(caption)
        precision.append(len(truth & said) / max(1, len(said)))
        recall.append(len(truth & said) / len(truth))
        same_count.append(len(said) == len(truth))
    return {"precision": mean(precision), "recall": mean(recall), "same_count": mean(same_count)}


def caption_detail(eval_dir: Path) -> dict[str, float]:
    refs = pd.read_csv(BENCHMARKS / "DemoCaption.tsv", sep="\t")["answer"]
    preds = pd.read_csv(eval_dir / "DemoCaption.preds.tsv", sep="\t")["prediction"].astype(str)
    return caption_item_scores([json.loads(r)[0] for r in refs], list(preds))


def reading_scores(answers: list[str], predictions: list[str]) -> dict[str, float]:
    """Exact all-words reads on the one-word and the two-word rows apart, and how often a
    two-word row gets a two-word answer."""
    answers = pd.Series(answers).str.lower()
    preds = pd.Series(predictions).astype(str)
    two = answers.str.split().str.len() == 2
    hit = preds.str.strip().str.lower() == answers
    return {"one_word_rows": round(hit[~two].mean(), 3), "two_word_rows": round(hit[two].mean(), 3),
            "two_word_answers": round((preds[two].str.split().str.len() == 2).mean(), 3)}


def reading_detail(eval_dir: Path) -> dict[str, float]:
    answers = pd.read_csv(BENCHMARKS / "DemoOCRVQA.tsv", sep="\t")["answer"]
    preds = pd.read_csv(eval_dir / "DemoOCRVQA.preds.tsv", sep="\t")["prediction"]
    return reading_scores(list(answers), list(preds))


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    print(json.dumps({"caption": caption_detail(folder), "all_words": reading_detail(folder)}))
