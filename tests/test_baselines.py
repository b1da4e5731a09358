"""Image-blind baselines: prompt keys, the question-alone answer sheet, standard errors,
and `vtscale baselines` on the tiny world's real benchmark files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml

from vtscale import prompts
from vtscale.analysis import baselines
from vtscale.data import synth
from vtscale.errors import InputError
from vtscale.eval.predictions import predictions_path, read_predictions, write_predictions
from vtscale.eval.tsv import read_benchmark

ROOT = Path(__file__).resolve().parents[1]
TINY = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world")
    assert synth.main(["--cfg", json.dumps({"seed": 0, "world": TINY["world"]}), "--out", str(out)]) == 0
    return out


def test_prompt_keys_drop_answer_form_and_options():
    assert baselines.split_prompt(prompts.yes_no("Is there  a Red circle?")) == ("is there a red circle?", {})
    assert baselines.split_prompt(prompts.short_answer("What word?"))[0] == "what word?"
    key, options = baselines.split_prompt(prompts.multiple_choice("What color?", {"A": "red", "B": "blue"}))
    assert key == "what color?" and options == {"A": "red", "B": "blue"}


def test_question_alone_takes_the_most_frequent_training_answer():
    table = {"is there a red circle in the image?": Counter({"No": 3, "Yes": 1}),
             "what color is the star?": Counter({"red": 5, "blue": 2})}
    pope = "Is there a red circle in the image?"
    assert baselines.question_alone_answer(prompts.yes_no(pope), table, "Yes") == "No"
    mcq = prompts.multiple_choice("What color is the star?", {"A": "green", "B": "blue", "C": "red"})
    assert baselines.question_alone_answer(mcq, table, "A") == "C"
    unseen = prompts.multiple_choice("What color is the star?", {"A": "green", "B": "pink"})
    assert baselines.question_alone_answer(unseen, table, "A") == "A"        # no option seen
    assert baselines.question_alone_answer("Never asked?", table, "Yes") == "Yes"


def test_baselines_on_the_tiny_world(world, tmp_path):
    preds = tmp_path / "preds"
    preds.mkdir()
    bench_cfg = TINY["eval"]["benchmarks"]
    for name, spec in bench_cfg.items():
        bench = read_benchmark(world / spec["tsv"], name, spec["type"])
        write_predictions(predictions_path(preds, name), [r.index for r in bench.rows],
                          [r.answers[0] for r in bench.rows])
    out = tmp_path / "baselines.csv"
    assert baselines.main(["--cfg", json.dumps({"eval": TINY["eval"]}), "--data-dir", str(world),
                           "--train", str(world / "conversations.json"), "--preds-dir", str(preds),
                           "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == list(baselines.COLUMNS)
    assert list(table["benchmark"]) == list(bench_cfg)
    pope = table.set_index("benchmark").loc["DemoPOPE"]
    assert pope["metric"] == "Overall" and pope["rows"] == 3 * TINY["world"]["bench"]["pope"]
    assert (table["se"] >= 0).all() and table[["majority", "question_alone"]].notna().all().all()


def test_predictions_that_miss_a_row_name_the_file(world, tmp_path):
    spec = TINY["eval"]["benchmarks"]["DemoMCQ"]
    bench = read_benchmark(world / spec["tsv"], "DemoMCQ", spec["type"])
    path = tmp_path / "DemoMCQ.preds.tsv"
    pd.DataFrame({"index": ["0"], "prediction": ["A"]}).to_csv(path, sep="\t", index=False)
    first_missing = next(row.index for row in bench.rows if row.index != "0")
    with pytest.raises(InputError, match=f"DemoMCQ.preds.tsv: no prediction for index {first_missing} of"):
        read_predictions(path, bench)


def test_predictions_for_a_row_the_benchmark_lacks_name_the_file(world, tmp_path):
    spec = TINY["eval"]["benchmarks"]["DemoMCQ"]
    bench = read_benchmark(world / spec["tsv"], "DemoMCQ", spec["type"])
    path = tmp_path / "DemoMCQ.preds.tsv"
    indices = [row.index for row in bench.rows] + ["no_such_row"]
    pd.DataFrame({"index": indices, "prediction": "A"}).to_csv(path, sep="\t", index=False)
    with pytest.raises(InputError, match=r"DemoMCQ\.preds\.tsv: prediction for index no_such_row, "
                                         r"which is not a row of .*DemoMCQ\.tsv"):
        read_predictions(path, bench)
