"""``vtscale baselines``: what a benchmark scores without looking at the image.

Two image-blind answer sheets per benchmark, each scored by the benchmark's own scorer
and reported in its headline metric:

- majority: every row gets the benchmark's most frequent reference answer;
- question alone: every row gets the most frequent training answer to its question
  text (for multiple choice, the option whose text was most often the training answer
  to the same question stem); a question never seen in training gets the majority answer.

Beside them, ``se`` is the standard error of the question variant's score at the
largest n on the same rows (vtscale.eval.uncertainty).
Only a model score well above the better baseline shows that the model uses the image.
"""

from __future__ import annotations

import argparse
import logging
import re
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd

from vtscale import prompts
from vtscale.config import config_section, parse_json_arg
from vtscale.data.conversations import read_records
from vtscale.eval.benchmark import Benchmark, Row
from vtscale.eval.config import EvalConfig
from vtscale.eval.predictions import predictions_path, read_predictions
from vtscale.eval.prompts import build_prompt
from vtscale.eval.rules import LATEST
from vtscale.eval.uncertainty import headline_score, standard_error
from vtscale.io import atomic_path

log = logging.getLogger(__name__)

COLUMNS = ("benchmark", "metric", "rows", "majority", "question_alone", "se")
_MCQ = re.compile(r"Question: (?P<stem>.*?)\nOptions:\n(?P<options>(?:[A-Z]\. [^\n]*\n)+)", re.S)
_SUFFIXES = (prompts.YES_NO_SUFFIX, prompts.SHORT_ANSWER_SUFFIX)


def split_prompt(prompt: str) -> tuple[str, dict[str, str]]:
    """(question key, options by letter): the key is the question without the answer-form
    suffix, lower-cased, whitespace collapsed; the options only for multiple choice."""
    options: dict[str, str] = {}
    match = _MCQ.search(prompt)
    if match:
        prompt = match["stem"]
        for line in match["options"].splitlines():
            letter, _, text = line.partition(". ")
            options[letter] = text.strip()
    for suffix in _SUFFIXES:
        prompt = prompt.replace(suffix.strip(), "")
    return " ".join(prompt.lower().split()), options


def training_answers(conversations: Path, image_root: Path) -> dict[str, Counter]:
    """Question key -> Counter of answer texts over every turn of the training data
    (multiple-choice letters resolved to their option text)."""
    answers: dict[str, Counter] = defaultdict(Counter)
    for record in read_records(conversations, image_root):
        for turn in record.turns:
            key, options = split_prompt(turn.question)
            answers[key][options.get(turn.answer, turn.answer).strip()] += 1
    return answers


def majority_answer(rows: list[Row]) -> str:
    return Counter(answer for row in rows for answer in row.answers).most_common(1)[0][0]


def question_alone_answer(prompt: str, table: dict[str, Counter], fallback: str) -> str:
    key, options = split_prompt(prompt)
    seen = table.get(key)
    if not seen:
        return fallback
    if options:
        ranked = sorted(options, key=lambda letter: -seen[options[letter]])
        return ranked[0] if seen[options[ranked[0]]] else fallback
    return seen.most_common(1)[0][0]


def baseline_row(bench: Benchmark, table: dict[str, Counter], model_preds: list[str],
                 rules: str = LATEST) -> dict:
    majority = majority_answer(bench.rows)
    alone = [question_alone_answer(build_prompt(row, bench.type, rules), table, majority)
             for row in bench.rows]
    metric, majority_score = headline_score(bench, [majority] * len(bench.rows), rules)
    return {"benchmark": bench.name, "metric": metric, "rows": len(bench.rows),
            "majority": majority_score, "question_alone": headline_score(bench, alone, rules)[1],
            "se": standard_error(bench, model_preds, rules=rules)}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="vtscale baselines", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cfg", required=True, help="JSON of the eval config section")
    p.add_argument("--data-dir", required=True, type=Path, help="root of the benchmark TSV paths")
    p.add_argument("--train", required=True, type=Path, help="training conversations (LLaVA json)")
    p.add_argument("--preds-dir", required=True, type=Path,
                   help="the question variant's <Bench>.preds.tsv at the largest n")
    p.add_argument("--out", required=True, type=Path, help="baselines.csv to write")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = config_section(EvalConfig, parse_json_arg(args.cfg), "eval")
    table = training_answers(args.train, args.data_dir)
    rows = []
    for name in cfg.benchmarks:
        bench = cfg.read(name, args.data_dir)
        preds = read_predictions(predictions_path(args.preds_dir, name), bench)
        rows.append(baseline_row(bench, table, preds, cfg.rules))
        log.info("%s: %s", name, {k: v for k, v in rows[-1].items() if k != "benchmark"})
    with atomic_path(args.out) as tmp:
        pd.DataFrame(rows, columns=COLUMNS).to_csv(tmp, index=False, float_format="%.4f")
    return 0
