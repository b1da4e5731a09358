"""``vtscale baselines``: what a benchmark scores without looking at the image.

Two image-blind answer sheets per benchmark, each scored by the benchmark's own scorer
and reported in its headline metric:

- majority: every row gets the benchmark's most frequent reference answer;
- question alone: every row gets the most frequent training answer to its question
  text (for multiple choice, the option whose text was most often the training answer
  to the same question stem); a question never seen in training gets the majority answer.

Beside them, ``se`` is the standard error of the question variant's score at the
largest n on the same rows: binomial for accuracy-type scores, else a bootstrap over
images (rows that share an image, or a HallusionBench set, are drawn together).
Only a model score well above the better baseline shows that the model uses the image.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from vtscale import prompts
from vtscale.analysis.scores import main_metric
from vtscale.config import parse_json_arg
from vtscale.data.conversations import read_records
from vtscale.errors import InputError
from vtscale.eval import metrics
from vtscale.eval.config import eval_config
from vtscale.eval.prompts import build_prompt
from vtscale.eval.tsv import Benchmark, Row, read_benchmark
from vtscale.io import atomic_path

log = logging.getLogger(__name__)

COLUMNS = ("benchmark", "metric", "rows", "majority", "question_alone", "se")
# Types whose headline metric is a plain percentage of right rows.
BINOMIAL_TYPES = ("mcq", "ocrvqa", "yorn", "textvqa", "chartqa", "docvqa")
BOOTSTRAP_DRAWS = 200
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


def headline(bench: Benchmark, predictions: list[str]) -> tuple[str, float]:
    scores = metrics.score(bench.type, bench.rows, predictions)
    name = main_metric(list(scores))
    return name, scores[name]


def standard_error(bench: Benchmark, predictions: list[str], seed: int = 0) -> float:
    name, value = headline(bench, predictions)
    if bench.type in BINOMIAL_TYPES:
        p = min(max(value / 100.0, 0.0), 1.0)
        return 100.0 * math.sqrt(p * (1 - p) / len(bench.rows))
    clusters = defaultdict(list)
    for i, row in enumerate(bench.rows):
        clusters[row.extra.get("set_id") or row.image_key or row.index].append(i)
    groups = list(clusters.values())
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(BOOTSTRAP_DRAWS):
        rows, preds = [], []
        for copy, g in enumerate(rng.integers(len(groups), size=len(groups))):
            for i in groups[g]:
                rows.append(_relabel(bench.rows[i], copy))
                preds.append(predictions[i])
        draws.append(metrics.score(bench.type, rows, preds).get(name, float("nan")))
    return float(np.nanstd(draws, ddof=1))


def _relabel(row: Row, copy: int) -> Row:
    """A drawn copy of a row: its own index, image and set, so scorers that group rows
    keep repeated draws apart."""
    extra = {**row.extra, "set_id": f"{row.extra['set_id']}#{copy}"} if "set_id" in row.extra else row.extra
    return dataclasses.replace(row, index=f"{row.index}#{copy}", image_key=f"{row.image_key}#{copy}", extra=extra)


def read_predictions(path: Path, bench: Benchmark) -> list[str]:
    if not path.is_file():
        raise InputError(f"{path}: predictions file not found")
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    for column in ("index", "prediction"):
        if column not in frame.columns:
            raise InputError(f"{path}: missing column {column!r}")
    by_index = dict(zip(frame["index"], frame["prediction"]))
    missing = [row.index for row in bench.rows if row.index not in by_index]
    if missing:
        raise InputError(f"{path}: no prediction for index {missing[0]} of {bench.path}")
    return [by_index[row.index] for row in bench.rows]


def baseline_row(bench: Benchmark, table: dict[str, Counter], model_preds: list[str]) -> dict:
    majority = majority_answer(bench.rows)
    alone = [question_alone_answer(build_prompt(row, bench.type), table, majority) for row in bench.rows]
    metric, majority_score = headline(bench, [majority] * len(bench.rows))
    return {"benchmark": bench.name, "metric": metric, "rows": len(bench.rows),
            "majority": majority_score, "question_alone": headline(bench, alone)[1],
            "se": standard_error(bench, model_preds)}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="vtscale baselines", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cfg", required=True, help="JSON of the eval config section")
    p.add_argument("--data-dir", required=True, type=Path, help="root of the benchmark TSV paths")
    p.add_argument("--train", required=True, type=Path, help="training conversations (LLaVA json)")
    p.add_argument("--preds-dir", required=True, type=Path,
                   help="the question variant's <Bench>.preds.tsv at the largest n")
    p.add_argument("--out", required=True, type=Path)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = eval_config(parse_json_arg(args.cfg))
    table = training_answers(args.train, args.data_dir)
    rows = []
    for name in cfg.benchmarks:
        spec = cfg.benchmark(name)
        bench = read_benchmark(args.data_dir / spec.tsv, name, spec.type, spec.limit)
        preds = read_predictions(args.preds_dir / f"{name}.preds.tsv", bench)
        rows.append(baseline_row(bench, table, preds))
        log.info("%s: %s", name, {k: v for k, v in rows[-1].items() if k != "benchmark"})
    with atomic_path(args.out) as tmp:
        pd.DataFrame(rows, columns=COLUMNS).to_csv(tmp, index=False, float_format="%.4f")
    return 0
