"""The README's "What the demo shows" table, generated from a run's own files.

    python benchmarks/demo_table.py --results results/demo [--config config/demo.yaml]
        [--out results/demo/benchmarks/demo_table.json]

One row per benchmark (in the config's order), the question variant's headline
metric: the score ± one standard error at the smallest and the largest n, the fitted α
with its R², and the two image-blind baselines on the same rows. Numbers come from
scores.csv, fits.csv and baselines.csv and are formatted as the report formats them
(vtscale.analysis.report), so the README and the report of a run cannot differ. Prints
the Markdown table and writes the same rows as JSON (default:
RESULTS/benchmarks/demo_table.json, beside rule_times.json).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd

from vtscale.analysis.fit import read_fits
from vtscale.analysis.headline import headline_table
from vtscale.analysis.report import _score_documents, _with_se, format_fit_values
from vtscale.analysis.scores import read_scores
from vtscale.config import load
from vtscale.eval.collect import metric_range
from vtscale.eval.dataset_types import DATASET_TYPES
from vtscale.io import write_json
from vtscale.variants import QUESTION

BASELINE_DIGITS = 4             # the report's tables (report._table): 4 significant digits
BASELINES = (("majority", "majority"), ("question_alone", "question alone"))


def metric_text(type_: str | None, metric: str, metric_names: list[str]) -> str:
    """The headline metric in words (its name in scores.csv for a type without words);
    MME's, a sum over its categories, with the most it can score."""
    kind = DATASET_TYPES.get(type_ or "")
    text = kind.headline_text if kind and kind.headline_text else metric
    if type_ == "mme":
        high = metric_range(type_, metric, dict.fromkeys(metric_names, 0.0))[1]
        if 0 < high < math.inf:
            text += f" (of {high:g})"
    return text


def fit_text(alpha: str, r2: str, scores: list[float]) -> str:
    """α and R² as the report writes them: 'flat', '+0.0031 (0.15)', or why there is no fit."""
    if alpha == "flat":
        return "flat"
    if alpha == "–":
        return "no fit (a zero score)" if any(s <= 0 for s in scores) else "no fit"
    return f"{alpha} ({r2})"


def baseline_text(value: float) -> str:
    return f"{value:.{BASELINE_DIGITS}g}" if math.isfinite(value) else "–"


def demo_rows(results: Path, order: list[str] | None = None) -> tuple[list[dict], int, int]:
    """(rows, smallest n, largest n) of the question variant's headline metrics, the
    benchmarks in ``order`` first, then the others as scores.csv lists them."""
    scores = read_scores(results / "scores.csv")
    fits = read_fits(results / "fits.csv")
    baselines = pd.read_csv(results / "baselines.csv")
    types = {doc["benchmark"]: doc.get("type") for doc in _score_documents(results)}
    table = headline_table(scores, fits)
    table = table[table["variant"] == QUESTION]
    shown = format_fit_values(table)
    order = list(dict.fromkeys([*(order or []), *scores["benchmark"]]))
    rows = []
    for i in sorted(table.index, key=lambda i: order.index(table.at[i, "benchmark"])):
        row = table.loc[i]
        bench, metric = row["benchmark"], row["metric"]
        series = scores[(scores["variant"] == QUESTION) & (scores["benchmark"] == bench)
                        & (scores["metric"] == metric)]
        base = baselines[(baselines["benchmark"] == bench) & (baselines["metric"] == metric)]
        names = list(dict.fromkeys(scores.loc[scores["benchmark"] == bench, "metric"]))
        out = {"benchmark": bench, "metric": metric_text(types.get(bench), metric, names),
               "n_min": int(row["n_min"]), "score_n_min": _with_se(row["score_n_min"], row["se_n_min"]),
               "n_max": int(row["n_max"]), "score_n_max": _with_se(row["score_n_max"], row["se_n_max"]),
               "alpha_r2": fit_text(shown.at[i, "α"], shown.at[i, "R²"], list(series["score"]))}
        for column, _ in BASELINES:
            out[column] = baseline_text(float(base[column].iloc[0]) if len(base) else math.nan)
        rows.append(out)
    if not rows:
        raise SystemExit(f"{results}: no {QUESTION}-variant scores in scores.csv")
    return rows, min(r["n_min"] for r in rows), max(r["n_max"] for r in rows)


def markdown(rows: list[dict], n_min: int, n_max: int) -> str:
    header = ["benchmark", "metric", f"n = {n_min}", f"n = {n_max}", "α (R²)",
              *(title for _, title in BASELINES)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [r["benchmark"], r["metric"], r["score_n_min"], r["score_n_max"], r["alpha_r2"],
                 *(r[column] for column, _ in BASELINES)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=Path("results/demo"), help="a run's results folder")
    parser.add_argument("--config", type=Path, default=Path("config/demo.yaml"),
                        help="the run's config: its eval.benchmarks give the row order")
    parser.add_argument("--out", type=Path, help="JSON to write (default: RESULTS/benchmarks/demo_table.json)")
    args = parser.parse_args(argv)
    order = list(load(args.config)["eval"]["benchmarks"]) if args.config.is_file() else None
    rows, n_min, n_max = demo_rows(args.results, order)
    write_json(args.out or args.results / "benchmarks" / "demo_table.json", {"n_min": n_min, "n_max": n_max, "rows": rows})
    print(markdown(rows, n_min, n_max))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
