"""A new dataset type is one DatasetType in the registry: registered here alone (for one
test), ``vtscale score`` reads its TSV, scores it, gives its standard error and scores it
row by row."""

import json
import math
import re

import pandas as pd
import pytest

from vtscale import cli
from vtscale.errors import InputError
from vtscale.eval.config import BenchmarkConfig, EvalConfig
from vtscale.eval.dataset_types import DATASET_TYPES, DatasetType
from vtscale.eval.metrics.per_row import each_row
from vtscale.eval.metrics.ranges import percent_range
from vtscale.eval.prompt_forms import bare_question
from vtscale.eval.rules import LATEST
from vtscale.eval.standard_errors import binomial
from vtscale.eval.tsv import read_benchmark


def first_number(text: str) -> str:
    found = re.search(r"\d+", text)
    return found.group() if found else ""


def count_answer(text: str) -> tuple[list[str], str | None]:
    return ([text], None) if text.isdigit() else ([], f"answer {text!r} is not a count")


def count_row(row, prediction: str, rules: str) -> tuple[float, str]:
    extracted = first_number(prediction)
    return float(extracted == row.answer), extracted


def count_scores(rows, predictions, rules: str = LATEST) -> dict[str, float]:
    hits = [first_number(p) == r.answer for r, p in zip(rows, predictions)]
    return {"Overall": 100.0 * sum(hits) / len(hits), "said_a_number": 100.0 * sum(
        bool(first_number(p)) for p in predictions) / len(predictions)}


COUNT = DatasetType("count", count_scores, each_row(count_row), bare_question, count_answer,
                    standard_error=binomial, metric_range=percent_range)

ROWS = [
    {"index": 1, "question": "How many cats?", "answer": "3", "prediction": "3"},
    {"index": 2, "question": "How many dogs?", "answer": "5", "prediction": "There are 5 dogs."},
    {"index": 3, "question": "How many birds?", "answer": "2", "prediction": "4"},
    {"index": 4, "question": "How many cows?", "answer": "7", "prediction": "seven"},
    {"index": 5, "question": "How many ants?", "answer": "many", "prediction": "12"},
]


@pytest.fixture
def predictions_tsv(tmp_path):
    path = tmp_path / "Counts.tsv"
    pd.DataFrame(ROWS).to_csv(path, sep="\t", index=False)
    return path


def test_a_registered_type_is_scored_by_vtscale_score(predictions_tsv, tmp_path, monkeypatch):
    monkeypatch.setitem(DATASET_TYPES, "count", COUNT)
    out, rows = tmp_path / "scores.json", tmp_path / "rows.tsv"
    assert cli.main(["score", str(predictions_tsv), "--type", "count", "--out", str(out),
                     "--rows", str(rows)]) == 0
    scores = json.loads(out.read_text())
    assert scores["type"] == "count"
    assert scores["metrics"] == {"Overall": 50.0, "said_a_number": 75.0}
    assert scores["se"]["Overall"] == pytest.approx(100 * math.sqrt(0.5 * 0.5 / 4))
    assert scores["skipped"] == [{"index": "5", "reason": "answer 'many' is not a count"}]
    per_row = pd.read_csv(rows, sep="\t", dtype=str, keep_default_na=False)
    assert per_row.values.tolist() == [["1", "1", "3"], ["2", "1", "5"], ["3", "0", "4"], ["4", "0", ""]]
    EvalConfig(benchmarks={"Counts": BenchmarkConfig(tsv="Counts.tsv", type="count")})


def test_an_unregistered_type_is_unknown(predictions_tsv):
    assert "count" not in DATASET_TYPES
    with pytest.raises(InputError, match=r"unknown benchmark type 'count' \(one of yorn, pope, "):
        read_benchmark(predictions_tsv, "Counts", "count", with_images=False)
