"""``vtscale collect-scores`` checks each score file against its path
(``eval/<variant>/n<N>_m<M>/<Bench>.scores.json``) and each metric against its range."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from vtscale import cli
from vtscale.errors import InputError
from vtscale.eval import collect


def write_scores(root, **fields):
    """eval/question/n1_m1/DemoMCQ.scores.json under ``root``; ``fields`` override the document."""
    path = root / "eval" / "question" / "n1_m1" / "DemoMCQ.scores.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"variant": "question", "benchmark": "DemoMCQ", "type": "mcq", "n": 1, "m": 1,
           "metrics": {"Overall": 21.5, "count": 30.0}, "se": {"Overall": 2.9},
           "rows": {"read": 200, "scored": 200, "skipped": 0, "skip_reasons": {}}, **fields}
    path.write_text(json.dumps(doc))
    return path


def run_collect(paths, tmp_path):
    out = tmp_path / "scores.csv"
    collect.main([str(p) for p in paths] + ["--out", str(out)])
    return pd.read_csv(out)


def test_a_file_that_contradicts_its_path_is_rejected_naming_it(tmp_path, capsys):
    path = write_scores(tmp_path, benchmark="DemoPOPE", n=999, metrics={"Overall": 987654})
    assert cli.main(["collect-scores", str(path), "--out", str(tmp_path / "scores.csv")]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert "DemoMCQ.scores.json: benchmark 'DemoPOPE', n 999 disagree with the path" in lines[0]
    assert not (tmp_path / "scores.csv").exists()


@pytest.mark.parametrize("field, value, message", [
    ("variant", "no_question", r"variant 'no_question' disagree"),
    ("m", 2, r"m 2 disagree"),
    ("n", "1", r"n '1' is not a positive integer"),
])
def test_each_setting_field_is_checked(tmp_path, field, value, message):
    path = write_scores(tmp_path, **{field: value})
    with pytest.raises(InputError, match=rf"n1_m1/DemoMCQ.scores.json: {message}"):
        run_collect([path], tmp_path)


def test_a_file_outside_the_eval_layout_is_rejected(tmp_path):
    path = write_scores(tmp_path).rename(tmp_path / "DemoMCQ.scores.json")
    with pytest.raises(InputError, match=r"DemoMCQ.scores.json: .*disagree with the path"):
        run_collect([path], tmp_path)


def test_a_percentage_beyond_100_is_rejected(tmp_path):
    path = write_scores(tmp_path, metrics={"Overall": 987654.0})
    with pytest.raises(InputError, match=r"DemoMCQ.scores.json: metrics.Overall = 987654.0 is outside "
                                         r"\[0, 100\] \(type mcq\)"):
        run_collect([path], tmp_path)


MME = {"existence/acc": 100.0, "existence/acc+": 100.0, "existence": 200.0,
       "count/acc": 50.0, "count/acc+": 0.0, "count": 50.0,
       "perception": 250.0, "cognition": 0.0, "Overall": 250.0}


@pytest.mark.parametrize("type_, metrics, bad", [
    ("mme", MME, None),
    ("mme", {**MME, "count": 201.0}, "metrics.count = 201.0 is outside [0, 200]"),
    ("mme", {**MME, "count/acc+": 101.0}, "metrics.count/acc+ = 101.0 is outside [0, 100]"),
    ("mme", {**MME, "Overall": 401.0}, "metrics.Overall = 401.0 is outside [0, 400]"),
    ("caption", {"Bleu_1": 60.0, "ROUGE_L": 50.0, "CIDEr": 250.0}, None),
    ("caption", {"Bleu_4": 100.5, "CIDEr": 250.0}, "metrics.Bleu_4 = 100.5 is outside [0, 100]"),
    ("caption", {"CIDEr": 1000.5}, "metrics.CIDEr = 1000.5 is outside [0, 1000]"),
    ("ocrbench", {"Overall": 200.0, "Doc-oriented VQA": 12.0}, None),
    ("ocrbench", {"Overall": 201.0}, "metrics.Overall = 201.0 is outside [0, 200]"),
    ("pope", {"Overall": -0.5}, "metrics.Overall = -0.5 is outside [0, 100]"),
    ("VQA", {"Overall": 12345.0}, None),    # a VLMEvalKit backend type: finite is all we know
])
def test_metric_ranges_by_type(tmp_path, type_, metrics, bad):
    path = write_scores(tmp_path, type=type_, metrics=metrics, se={})
    if bad is None:
        assert len(run_collect([path], tmp_path)) == len(metrics)
        return
    with pytest.raises(InputError) as err:
        run_collect([path], tmp_path)
    assert str(err.value) == f"{path}: {bad} (type {type_})"


def test_a_negative_standard_error_is_rejected(tmp_path):
    path = write_scores(tmp_path, se={"Overall": -1.0})
    with pytest.raises(InputError, match=r"DemoMCQ.scores.json: se.Overall = -1.0 is negative"):
        run_collect([path], tmp_path)


def test_a_null_standard_error_reads_as_none_given(tmp_path):
    path = write_scores(tmp_path, type="caption", metrics={"CIDEr": 30.0}, se={"CIDEr": None})
    frame = run_collect([path], tmp_path)
    assert frame["se"].isna().all() and frame["score"].tolist() == [30.0]
