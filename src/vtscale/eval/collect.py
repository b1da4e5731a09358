"""``vtscale collect-scores``: gather score JSONs into the tidy scores.csv
(variant, benchmark, metric, n, m, score, se; se, the score's standard error, is given
for each benchmark's headline metric and empty for the others) and, apart from the
scores, answers.csv: how varied each setting's answers are."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pandas as pd

from vtscale.errors import InputError
from vtscale.io import atomic_path

COLUMNS = ["variant", "benchmark", "metric", "n", "m", "score", "se"]
ANSWER_COLUMNS = ["variant", "benchmark", "n", "m", "most_common_share", "distinct_share"]


def read_scores_json(path: Path) -> dict:
    try:
        scores = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err.msg})") from None
    for key in ("variant", "benchmark", "n", "m", "metrics"):
        if key not in scores:
            raise InputError(f"{path}: missing key {key!r}")
    return scores


def tidy_rows(path: Path, scores: dict) -> list[dict]:
    standard_errors = scores.get("se", {})
    rows = []
    for metric, value in scores["metrics"].items():
        if not _is_number(value) or not math.isfinite(value):
            raise InputError(f"{path}: metrics.{metric} is not a finite number: {value!r}")
        se = standard_errors.get(metric)
        if se is not None and not _is_number(se):
            raise InputError(f"{path}: se.{metric} is not a number: {se!r}")
        rows.append({"variant": scores["variant"], "benchmark": scores["benchmark"],
                     "metric": metric, "n": int(scores["n"]), "m": int(scores["m"]),
                     "score": float(value), "se": math.nan if se is None else float(se)})
    return rows


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def answers_row(scores: dict) -> dict:
    setting = {k: scores[k] for k in ("variant", "benchmark", "n", "m")}
    return {**setting, **{k: scores.get("answers", {}).get(k, math.nan) for k in ANSWER_COLUMNS[4:]}}


def collect(paths: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(scores, answers), each sorted by setting."""
    documents = {path: read_scores_json(path) for path in paths}
    scores = pd.DataFrame([row for path, doc in documents.items() for row in tidy_rows(path, doc)],
                          columns=COLUMNS)
    answers = pd.DataFrame([answers_row(doc) for doc in documents.values()], columns=ANSWER_COLUMNS)
    return (scores.sort_values(["variant", "benchmark", "metric", "n", "m"], kind="stable", ignore_index=True),
            answers.sort_values(["variant", "benchmark", "n", "m"], kind="stable", ignore_index=True))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="vtscale collect-scores", description=__doc__)
    p.add_argument("scores", nargs="+", type=Path, help="<Bench>.scores.json files")
    p.add_argument("--out", required=True, type=Path, help="scores.csv")
    p.add_argument("--answers-out", type=Path, help="answers.csv (how varied the answers are)")
    args = p.parse_args(argv)
    scores, answers = collect(args.scores)
    with atomic_path(args.out) as tmp:
        scores.to_csv(tmp, index=False)
    if args.answers_out:
        with atomic_path(args.answers_out) as tmp:
            answers.to_csv(tmp, index=False)
    return 0
