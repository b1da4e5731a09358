"""Scores as VLMEvalKit reports them (issue #24), on small TSVs in its format through
``vtscale score``: per split, missing values read as pandas reads them, OCRBench's Final
Score Norm, letter matching that no environment variable changes, and HallusionBench's
standard error floor. The expected numbers of the missing-value cases were measured by
running VLMEvalKit's own scoring functions (0ff0c3e and e8e78f05) on these same files."""

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from vtscale import cli
from vtscale.eval import uncertainty
from vtscale.eval.metrics.mcq import infer_option
from vtscale.eval.prompts import build_prompt
from vtscale.eval.rules import LATEST, PINNED, RULE_SETS
from vtscale.eval.benchmark import Benchmark, Row
from vtscale.eval.tsv import read_benchmark
from vtscale.eval.vlmevalkit import flatten_result


def write_tsv(path, rows):
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    return path


def score_file(path, type_, tmp_path, rules):
    out = tmp_path / f"{path.stem}.scores.json"
    assert cli.main(["score", str(path), "--type", type_, "--out", str(out), "--rules", rules]) == 0
    return json.loads(out.read_text())


# ------------------------------------------------------------------ 1. scores per split
CHART_ROWS = [  # ChartQA_TEST's columns: a split beside the category
    {"index": 0, "question": "Value of A?", "answer": "12", "split": "test_human", "category": "bar", "prediction": "12"},
    {"index": 1, "question": "Value of B?", "answer": "40", "split": "test_human", "category": "bar", "prediction": "7"},
    {"index": 2, "question": "Value of C?", "answer": "3", "split": "test_augmented", "category": "line", "prediction": "3"},
    {"index": 3, "question": "Value of D?", "answer": "8", "split": "test_augmented", "category": "line", "prediction": "8"},
]


@pytest.mark.parametrize("rules", RULE_SETS)
def test_vqa_reports_each_split_beside_overall_and_no_category(tmp_path, rules):
    path = write_tsv(tmp_path / "ChartQA_TEST.tsv", CHART_ROWS)
    metrics = score_file(path, "chartqa", tmp_path, rules)["metrics"]
    assert metrics == {"Overall": 75.0, "test_augmented": 100.0, "test_human": 50.0}


@pytest.mark.parametrize("rules", RULE_SETS)
def test_vqa_without_a_split_column_reports_per_category(tmp_path, rules):
    rows = [{k: v for k, v in r.items() if k != "split"} for r in CHART_ROWS]
    metrics = score_file(write_tsv(tmp_path / "Chart.tsv", rows), "chartqa", tmp_path, rules)["metrics"]
    assert metrics == {"Overall": 75.0, "bar": 50.0, "line": 100.0}


SIGNS = {"A": "The stop sign.", "B": "The school zone sign."}
MCQ_SPLIT_ROWS = [
    {"index": 1, "question": "Which is closer?", "answer": "A", **SIGNS, "category": "depth",
     "l2-category": "spatial", "split": "dev", "prediction": "A"},
    {"index": 2, "question": "Which is red?", "answer": "A", **SIGNS, "category": "colour",
     "l2-category": "attribute", "split": "dev", "prediction": "B"},
    {"index": 3, "question": "Which is farther?", "answer": "B", **SIGNS, "category": "depth",
     "l2-category": "spatial", "split": "test", "prediction": "B"},
]


@pytest.mark.parametrize("rules", RULE_SETS)
def test_mcq_reports_one_row_per_split_named_as_the_backend_flattens_it(tmp_path, rules):
    metrics = score_file(write_tsv(tmp_path / "MCQ.tsv", MCQ_SPLIT_ROWS), "mcq", tmp_path, rules)["metrics"]
    assert metrics == {"Overall": pytest.approx(200 / 3),
                       "dev/Overall": 50.0, "dev/colour": 0.0, "dev/depth": 100.0,
                       "dev/attribute": 0.0, "dev/spatial": 100.0,
                       "test/Overall": 100.0, "test/depth": 100.0, "test/spatial": 100.0}
    # VLMEvalKit's report_acc table for these rows (NaN where a split lacks a category),
    # as the VLMEvalKit backend writes it: the same names
    table = pd.DataFrame({"split": ["dev", "test"], "Overall": [0.5, 1.0], "attribute": [0.0, math.nan],
                          "spatial": [1.0, 1.0], "colour": [0.0, math.nan], "depth": [1.0, 1.0]})
    assert set(flatten_result(table)) == set(metrics) - {"Overall"}


def test_rows_read_their_split_and_a_missing_split_cell_is_no_split(tmp_path):
    rows = [dict(CHART_ROWS[0]), {**CHART_ROWS[2], "split": ""}]
    bench = read_benchmark(write_tsv(tmp_path / "C.tsv", rows), "C", "chartqa", with_images=False)
    assert [r.split for r in bench.rows] == ["test_human", ""]
    unsplit = {k: v for k, v in CHART_ROWS[0].items() if k != "split"}
    no_column = read_benchmark(write_tsv(tmp_path / "D.tsv", [unsplit]), "D", "chartqa", with_images=False)
    assert no_column.rows[0].split is None


# ------------------------------------------------------------------ 2. missing values
TEXTVQA_ROWS = [
    {"index": 0, "question": "What is written?", "answer": json.dumps(["none"] * 7 + ["0"] * 3), "prediction": "None"},
    {"index": 1, "question": "What colour?", "answer": json.dumps(["red"] * 10), "prediction": "red"},
    {"index": 2, "question": "How many?", "answer": json.dumps(["2"] * 10), "prediction": "two"},
]
MISSING_OPTION_ROWS = [
    {"index": 0, "question": "Which?", "A": "Red", "B": "Blue", "C": "Green", "D": "None", "answer": "D", "prediction": "D"},
    {"index": 1, "question": "Which?", "A": "Red", "B": "Blue", "C": "Green", "D": "Pink", "answer": "A", "prediction": "A"},
]
COCO_ROWS = [
    {"index": 0, "answer": json.dumps(["a red circle on a white page", "one red circle"]), "prediction": "a red circle on a page"},
    {"index": 1, "answer": json.dumps(["two blue squares side by side", "blue squares"]), "prediction": "two blue squares side by side"},
    {"index": 2, "answer": json.dumps(["a green triangle", "one green triangle in the middle"]), "prediction": ""},
]


@pytest.mark.parametrize("rules", RULE_SETS)
def test_textvqa_prediction_none_is_missing_so_scored_as_nan(tmp_path, rules):
    # read as text, "None" would normalise to "0" and match every reference: 100
    metrics = score_file(write_tsv(tmp_path / "TV.tsv", TEXTVQA_ROWS), "textvqa", tmp_path, rules)["metrics"]
    assert metrics["Overall"] == pytest.approx(200 / 3)


@pytest.mark.parametrize("rules", RULE_SETS)
def test_mcq_option_none_is_dropped_from_the_choices_and_the_row_scored_wrong(tmp_path, rules):
    path = write_tsv(tmp_path / "Opt.tsv", MISSING_OPTION_ROWS)
    scores = score_file(path, "mcq", tmp_path, rules)
    assert scores["metrics"]["Overall"] == 50.0                  # as text: 100
    assert scores["rows"]["scored"] == 2 and scores["rows"]["skipped"] == 0
    row = read_benchmark(path, "Opt", "mcq", with_images=False).rows[0]
    assert list(row.options) == ["A", "B", "C"]
    assert "D." not in build_prompt(row, "mcq", rules)           # the model is not shown it


@pytest.mark.parametrize("rules", RULE_SETS)
def test_coco_empty_prediction_is_scored_as_nan(tmp_path, rules):
    metrics = score_file(write_tsv(tmp_path / "Cap.tsv", COCO_ROWS), "caption", tmp_path, rules)["metrics"]
    # as an empty string: BLEU-1 71.65, BLEU-4 64.49
    assert metrics["Bleu_1"] == pytest.approx(73.2852, abs=1e-3)
    assert metrics["Bleu_4"] == pytest.approx(70.0414, abs=1e-3)


def test_missing_questions_answers_and_labels_read_as_vlmevalkit_reads_them(tmp_path):
    rows = [{"index": 0, "question": "NA", "answer": "N/A", "category": "null", "hint": "None", "prediction": "x"},
            {"index": 1, "question": "", "answer": "5", "category": "n", "prediction": "5"}]
    bench = read_benchmark(write_tsv(tmp_path / "O.tsv", rows), "O", "ocrvqa", with_images=False)
    row = bench.rows[0]
    assert (row.question, row.answers, row.category, row.hint) == ("nan", ["nan"], None, None)
    # an empty required field is still a skipped row, named
    assert [(s.index, s.field) for s in bench.skipped] == [("1", "question")]


# ------------------------------------------------------------------ 3. OCRBench
@pytest.mark.parametrize("rules", RULE_SETS)
def test_ocrbench_final_score_norm_is_the_final_score_over_ten(tmp_path, rules):
    rows = [{"index": i, "question": "What is written?", "answer": json.dumps([word]),
             "category": "Regular Text Recognition", "prediction": pred}
            for i, (word, pred) in enumerate([("stop", "STOP"), ("exit", "exit"), ("cafe", "bar")])]
    metrics = score_file(write_tsv(tmp_path / "OCRBench.tsv", rows), "ocrbench", tmp_path, rules)["metrics"]
    assert metrics["Overall"] == 2.0 and metrics["Final Score Norm"] == 0.2


# ------------------------------------------------------------------ 4. the environment
@pytest.mark.parametrize("verbose", [None, "1", "0"])
def test_letter_matching_does_not_read_verbose(monkeypatch, verbose):
    # VLMEvalKit with VERBOSE set (any value, "0" too) refuses a lone "A" among more than
    # three words ("A" might be an article) and falls back to the option text
    if verbose is None:
        monkeypatch.delenv("VERBOSE", raising=False)
    else:
        monkeypatch.setenv("VERBOSE", verbose)
    options = {"A": "cat", "B": "dog"}
    assert infer_option("I pick option A", options, PINNED) == "A"
    assert infer_option("I pick option A", options, LATEST) == "A"


# ------------------------------------------------------------------ 6. HallusionBench SE
def hallusion_bench(sets: int) -> Benchmark:
    """Each set one figure, one Yes and one No question: a constant answer scores every
    bootstrap draw the same."""
    rows = [Row(index=f"{s}_{q}", image_b64="", question="Is it?", answers=[answer],
                category="VD", l2_category="chart", image_key=f"img{s}",
                extra={"set_id": str(s), "figure_id": "0", "question_id": str(q)})
            for s in range(sets) for q, answer in enumerate(["Yes", "No"])]
    return Benchmark("Hallusion", "hallusionbench", Path("H.tsv"), rows, [])


def test_hallusion_standard_error_is_floored_where_every_answer_is_the_same():
    bench = hallusion_bench(20)
    se = uncertainty.standard_error(bench, ["Yes"] * 40, rules=PINNED)
    aacc = (20 + 1) / (40 + 2)                         # 20 of 40 right, smoothed
    assert se == pytest.approx(100 * math.sqrt(aacc * (1 - aacc) / 40) / 3) and se > 0


def test_hallusion_floor_leaves_a_larger_bootstrap_spread_alone(monkeypatch):
    bench = hallusion_bench(20)
    preds = ["Yes", "No"] * 10 + ["No", "Yes"] * 10
    monkeypatch.setattr(uncertainty, "hallusion_floored", lambda spread, *a: spread)
    spread = uncertainty.standard_error(bench, preds, rules=PINNED)
    monkeypatch.undo()
    assert spread > 5 and uncertainty.standard_error(bench, preds, rules=PINNED) == spread


def test_hallusion_standard_error_all_right_is_still_positive():
    bench = hallusion_bench(5)
    assert uncertainty.standard_error(bench, ["Yes", "No"] * 5, rules=PINNED) > 0
