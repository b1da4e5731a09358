"""``vtscale collect-scores``: gather score JSONs into the tidy scores.csv
(variant, benchmark, metric, n, m, score, se; se, the score's standard error, is given
for each benchmark's headline metric and empty for the others) and, apart from the
scores, answers.csv: how varied each setting's answers are.

Each file must sit where ``vtscale eval`` writes it, ``.../<variant>/n<N>_m<M>/<Bench>.scores.json``,
and say the same variant, n, m and benchmark; each metric must lie in its scorer's range
(the one its dataset type names, ``vtscale.eval.metrics.ranges``) and each standard error
be null or a non-negative number. Anything else is one error line naming the file."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pandas as pd

from vtscale.errors import InputError
from vtscale.eval.dataset_types import DATASET_TYPES
from vtscale.io import atomic_path
from vtscale.model.setting import Setting

COLUMNS = ["variant", "benchmark", "metric", "n", "m", "score", "se"]
ANSWER_COLUMNS = ["variant", "benchmark", "n", "m", "most_common_share", "distinct_share"]
SUFFIX = ".scores.json"


def read_scores_json(path: Path) -> dict:
    try:
        scores = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err.msg})") from None
    for key in ("variant", "benchmark", "n", "m", "metrics"):
        if key not in scores:
            raise InputError(f"{path}: missing key {key!r}")
    check_setting(path, scores)
    return scores


def check_setting(path: Path, scores: dict) -> None:
    """benchmark, variant, n and m as the file's path has them."""
    for key in ("n", "m"):
        if not _is_number(scores[key]) or scores[key] != int(scores[key]) or scores[key] < 1:
            raise InputError(f"{path}: {key} {scores[key]!r} is not a positive integer")
    said = {"benchmark": scores["benchmark"], "variant": scores["variant"],
            "n": int(scores["n"]), "m": int(scores["m"])}
    from_path = path_setting(path)
    wrong = [key for key in said if said[key] != from_path[key]]
    if wrong:
        fields = ", ".join(f"{key} {said[key]!r}" for key in wrong)
        raise InputError(f"{path}: {fields} disagree with the path "
                         f"(<variant>/n<N>_m<M>/<Bench>{SUFFIX})")


def path_setting(path: Path) -> dict:
    """benchmark, variant, n and m of a path <variant>/n<N>_m<M>/<Bench>.scores.json (n and m
    None when the folder is not named so)."""
    setting = Setting.from_tag(path.parent.name)
    return {"benchmark": path.name.removesuffix(SUFFIX), "variant": path.parent.parent.name,
            "n": setting.n if setting else None, "m": setting.m if setting else None}


def tidy_rows(path: Path, scores: dict) -> list[dict]:
    standard_errors = scores.get("se", {})
    rows = []
    for metric, value in scores["metrics"].items():
        check_metric(path, scores, metric, value)
        se = standard_error(path, metric, standard_errors.get(metric))
        rows.append({"variant": scores["variant"], "benchmark": scores["benchmark"],
                     "metric": metric, "n": int(scores["n"]), "m": int(scores["m"]),
                     "score": float(value), "se": se})
    return rows


def check_metric(path: Path, scores: dict, metric: str, value) -> None:
    """A finite number within its scorer's range (when the type has a known one)."""
    if not _is_number(value) or not math.isfinite(value):
        raise InputError(f"{path}: metrics.{metric} is not a finite number: {value!r}")
    type_ = scores.get("type", "")
    bounds = metric_range(type_, metric, scores["metrics"], scores.get("rows", {}).get("scored"))
    if bounds and not bounds[0] <= value <= bounds[1]:
        raise InputError(f"{path}: metrics.{metric} = {float(value)!r} is outside "
                         f"[{bounds[0]:g}, {bounds[1]:g}] (type {type_})")


def metric_range(type_: str, name: str, metrics: dict[str, float],
                 scored_rows: int | None = None) -> tuple[float, float] | None:
    """(low, high) of metric ``name`` among ``metrics`` of a benchmark of ``type_``; None
    when unknown (a type none of ours, as a VLMEvalKit backend's ``Y/N``)."""
    kind = DATASET_TYPES.get(type_)
    return kind.metric_range(name, metrics, scored_rows) if kind and kind.metric_range else None


def standard_error(path: Path, metric: str, se) -> float:
    """The se of a metric, NaN where none is given (null; NaN in files written before
    score JSON became strict)."""
    if se is None:
        return math.nan
    if not _is_number(se):
        raise InputError(f"{path}: se.{metric} is not a number: {se!r}")
    if se < 0:
        raise InputError(f"{path}: se.{metric} = {float(se)!r} is negative")
    return float(se)


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
