"""``vtscale collect-scores``: gather score JSONs into the tidy scores.csv
(variant, benchmark, metric, n, m, score)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pandas as pd

from vtscale.errors import InputError
from vtscale.io import atomic_path, write_json

COLUMNS = ["variant", "benchmark", "metric", "n", "m", "score"]


def tidy_rows(path: Path) -> list[dict]:
    try:
        scores = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err.msg})") from None
    for key in ("variant", "benchmark", "n", "m", "metrics"):
        if key not in scores:
            raise InputError(f"{path}: missing key {key!r}")
    rows = []
    for metric, value in scores["metrics"].items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise InputError(f"{path}: metrics.{metric} is not a finite number: {value!r}")
        rows.append({"variant": scores["variant"], "benchmark": scores["benchmark"],
                     "metric": metric, "n": int(scores["n"]), "m": int(scores["m"]),
                     "score": float(value)})
    return rows


def collect(paths: list[Path]) -> pd.DataFrame:
    rows = [row for path in paths for row in tidy_rows(path)]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values(["variant", "benchmark", "metric", "n", "m"], kind="stable",
                             ignore_index=True)


def nested_metrics(frame: pd.DataFrame) -> dict:
    """{variant: {benchmark: {"n<N>_m<M>": {metric: score}}}} for `dvc metrics show`."""
    nested: dict = {}
    for row in frame.itertuples(index=False):
        setting = nested.setdefault(row.variant, {}).setdefault(row.benchmark, {})
        setting.setdefault(f"n{row.n}_m{row.m}", {})[row.metric] = row.score
    return nested


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="vtscale collect-scores", description=__doc__)
    p.add_argument("scores", nargs="+", type=Path, help="<Bench>.scores.json files")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--metrics-json", type=Path, help="the same scores nested, for DVC metrics")
    args = p.parse_args(argv)
    frame = collect(args.scores)
    with atomic_path(args.out) as tmp:
        frame.to_csv(tmp, index=False)
    if args.metrics_json:
        write_json(args.metrics_json, nested_metrics(frame))
    return 0
