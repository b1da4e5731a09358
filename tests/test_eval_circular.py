"""MMBench's circular scoring as VLMEvalKit scores it (rule-based, no judge LLM): rows
with index >= 1e6 are option shifts of question index % 1e6, and a question counts only
if every shift of it is answered right."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from vtscale import cli
from vtscale.config import config_section
from vtscale.errors import ConfigError, InputError
from vtscale.eval.config import EvalConfig
from vtscale.eval.rules import PINNED
from vtscale.eval.scoring import score_benchmark
from vtscale.eval.tsv import read_benchmark

SHIFTS = 4
OPTIONS = ["cat", "dog", "bird", "fish"]
TINY_PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")  # 1x1 PNG


def shifted(question: int, right: int, shift: int, category: str) -> dict:
    """Question ``question`` with its options rotated by ``shift``; the image field of a
    shift names the question's row, as VLMEvalKit's MMBench TSVs do."""
    options = OPTIONS[shift:] + OPTIONS[:shift]
    answer = "ABCD"[options.index(OPTIONS[right])]
    return {"index": shift * 1_000_000 + question,
            "image": TINY_PNG if shift == 0 else str(question),
            "question": f"Which animal? ({question})", **dict(zip("ABCD", options)),
            "answer": answer, "category": category, "l2-category": "perception"}


@pytest.fixture
def mmbench(tmp_path):
    """Two questions, four shifts each (shifts written after all questions)."""
    rows = [shifted(q, right=q, shift=s, category=["count", "color"][q]) for s in range(SHIFTS) for q in (0, 1)]
    path = tmp_path / "MMBench_DEV_EN.tsv"
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    return path


def answers(bench, wrong: set[str] = frozenset()) -> list[str]:
    """Every row answered with its right letter, except the rows in ``wrong``."""
    other = {"A": "B", "B": "C", "C": "D", "D": "A"}
    return [other[r.answer] if r.index in wrong else r.answer for r in bench.rows]


def test_right_in_three_of_four_shifts_scores_zero(mmbench):
    bench = read_benchmark(mmbench, "MMBench_DEV_EN", "mcq", strict=True, circular=True)
    assert len(bench.rows) == 8
    out = score_benchmark(bench, answers(bench, wrong={"2000000"}), PINNED)
    assert out["metrics"]["Overall"] == pytest.approx(50.0)        # question 1 right, question 0 not
    assert out["metrics"]["count"] == 0.0 and out["metrics"]["color"] == 100.0
    per_row = read_benchmark(mmbench, "MMBench_DEV_EN", "mcq")     # the same answers row by row
    assert score_benchmark(per_row, answers(per_row, wrong={"2000000"}), PINNED)["metrics"]["Overall"] == 87.5


def test_all_shifts_right_scores_every_question(mmbench):
    bench = read_benchmark(mmbench, "MMBench_DEV_EN", "mcq", circular=True)
    out = score_benchmark(bench, answers(bench), PINNED)
    assert out["metrics"]["Overall"] == 100.0
    assert out["se"]["Overall"] == 0.0


def test_standard_error_counts_questions_not_rows(mmbench):
    bench = read_benchmark(mmbench, "MMBench_DEV_EN", "mcq", circular=True)
    out = score_benchmark(bench, answers(bench, wrong={"1000001"}), PINNED)
    assert out["se"]["Overall"] == pytest.approx(100 * math.sqrt(0.5 * 0.5 / 2))


def test_unanswerable_shift_counts_as_wrong(mmbench):
    bench = read_benchmark(mmbench, "MMBench_DEV_EN", "mcq", circular=True)
    preds = answers(bench)
    preds[[r.index for r in bench.rows].index("3000001")] = "I cannot tell."
    assert score_benchmark(bench, preds, PINNED)["metrics"]["Overall"] == 50.0


def test_circular_needs_integer_indices(tmp_path):
    row = shifted(0, 0, 0, "count") | {"index": "q0"}
    path = tmp_path / "M.tsv"
    pd.DataFrame([row]).to_csv(path, sep="\t", index=False)
    with pytest.raises(InputError, match=r"M\.tsv: row index 'q0': field 'index'"):
        read_benchmark(path, "M", "mcq", circular=True)


def test_circular_is_a_config_field_of_mcq_benchmarks(mmbench):
    cfg = config_section(EvalConfig, {"eval": {"benchmarks": {
        "MMBench_DEV_EN": {"tsv": mmbench.name, "type": "mcq", "circular": True}}}}, "eval")
    assert cfg.read("MMBench_DEV_EN", mmbench.parent).circular
    with pytest.raises(ConfigError, match="eval.benchmarks.POPE.circular: needs type mcq"):
        config_section(EvalConfig, {"eval": {"benchmarks": {
            "POPE": {"tsv": "POPE.tsv", "type": "pope", "circular": True}}}}, "eval")


def test_score_command_scores_circular_predictions(mmbench, tmp_path):
    frame = pd.read_csv(mmbench, sep="\t", dtype=str, keep_default_na=False).drop(columns="image")
    bench = read_benchmark(mmbench, "MMBench_DEV_EN", "mcq")
    frame["prediction"] = answers(bench, wrong={"2000000"})
    path = tmp_path / "preds.tsv"
    frame.to_csv(path, sep="\t", index=False)
    out = tmp_path / "scores.json"
    assert cli.main(["score", str(path), "--type", "mcq", "--circular", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["metrics"]["Overall"] == 50.0
