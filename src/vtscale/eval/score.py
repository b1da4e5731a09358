"""``vtscale score``: score a VLMEvalKit-format predictions TSV, no model needed.

PREDICTIONS.tsv holds the benchmark's columns (index, question, answer, A-D where present,
category, l2-category; the image column optional) plus ``prediction``. SCORES.json has the
scores keys ``vtscale eval`` writes (``metrics``, ``answers``, ``se``, ``rows``, ``skipped``)
with ``benchmark`` (the file's stem), ``type`` and ``rules``; --rows writes each scored row's
``index``, ``score`` (hit 0/1 or fractional score; with --circular still each row's own
hit) and ``extracted`` answer. A bad row is skipped and counted as in ``vtscale eval``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from vtscale.errors import InputError
from vtscale.eval.benchmark import Benchmark
from vtscale.eval.dataset_types import DATASET_TYPES
from vtscale.eval.metrics.per_row import RowScore
from vtscale.eval.predictions import predictions_in_row_order
from vtscale.eval.rules import LATEST, RULE_SETS
from vtscale.eval.scoring import row_scores, score_benchmark, write_scores
from vtscale.eval.tsv import read_benchmark, read_frame
from vtscale.io import write_csv

PREDICTION = "prediction"
ROW_COLUMNS = ("index", "score", "extracted")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="vtscale score", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("predictions", type=Path, help="VLMEvalKit-format TSV with a prediction column")
    p.add_argument("--type", required=True, help=f"benchmark type: {', '.join(DATASET_TYPES)}")
    p.add_argument("--out", required=True, type=Path, help="scores JSON to write")
    p.add_argument("--rows", type=Path, help="per-row TSV to write: index, score, extracted")
    p.add_argument("--rules", choices=RULE_SETS, default=LATEST, help=f"scoring rule set (default {LATEST})")
    p.add_argument("--circular", action="store_true",
                   help="MCQ with option shifts (MMBench): a question is right only if all its shifts are")
    return p.parse_args(argv)


def read_scored(path: Path, type_: str, circular: bool = False) -> tuple[Benchmark, list[str]]:
    """The benchmark rows of the file and their predictions, in row order."""
    bench = read_benchmark(path, path.stem, type_, with_images=False, circular=circular)
    frame = read_frame(path)
    if PREDICTION not in frame.columns:
        raise InputError(f"{path}: missing required column {PREDICTION!r}")
    if frame.empty:
        raise InputError(f"{path}: no rows under the header")
    return bench, predictions_in_row_order(path, list(frame["index"]), list(frame[PREDICTION]), bench)


def format_score(value: float) -> str:
    """A hit as 0 or 1, a fractional score in full."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def write_rows(path: Path, scores: list[RowScore]) -> None:
    frame = pd.DataFrame([(s.index, format_score(s.score), s.extracted) for s in scores], columns=ROW_COLUMNS)
    write_csv(path, frame, sep="\t")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench, preds = read_scored(args.predictions, args.type, args.circular)
    scores = {"benchmark": bench.name, "type": bench.type, "rules": args.rules,
              **score_benchmark(bench, preds, args.rules)}
    write_scores(args.out, scores)
    if args.rows:
        write_rows(args.rows, row_scores(bench.type, bench.rows, preds, args.rules))
    return 0
