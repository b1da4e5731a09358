"""``vtscale headline``: the few numbers a run is judged by, for the report and for DVC.

Per variant and benchmark (its headline metric): the fitted C, α and R², and the score
with its standard error at the smallest and the largest n; per LLM of the divergence
theory: λ and the balance point n_b. They are written as

- ``METRICS_DIR/<variant>/<benchmark>.json`` and ``METRICS_DIR/theory.json``: one small
  file each, so ``dvc metrics show`` prints one row per (variant, benchmark) instead of
  one row with every number of the run (the full table stays in scores.csv);
- ``PLOTS_DIR/scaling/<benchmark>.csv`` (n and one column per variant) and
  ``PLOTS_DIR/theory_divergence|theory_psi/<llm>.csv``, which ``dvc plots show`` draws.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from pathlib import Path

import pandas as pd

from vtscale.analysis.fit import is_flat, read_fits
from vtscale.analysis.scores import main_metric_rows, read_scores
from vtscale.errors import InputError
from vtscale.io import atomic_path, write_json

log = logging.getLogger(__name__)

COLUMNS = ["variant", "benchmark", "metric", "C", "alpha", "r2", "n_min", "score_n_min",
           "se_n_min", "n_max", "score_n_max", "se_n_max", "excluded_n", "alpha_excl", "r2_excl"]
DIVERGENCE_CURVES = ["D_mean", "lambda_sqrt_upsilon"]
PSI_CURVES = ["psi_eq", "psi_cross_ab", "psi_cross_aa"]


def _score_at(group: pd.DataFrame, n: int) -> tuple[float, float]:
    at_n = group[group["n"] == n]
    return float(at_n["score"].mean()), float(at_n["se"].mean())


def headline_table(scores: pd.DataFrame, fits: pd.DataFrame) -> pd.DataFrame:
    """One row per (variant, benchmark): fit and end-point scores of the headline metric."""
    fit_index = {(f.variant, f.benchmark, f.metric): f for f in fits.itertuples()}
    rows = []
    shown = main_metric_rows(scores)
    for (variant, bench, metric), group in shown.groupby(["variant", "benchmark", "metric"]):
        fit = fit_index.get((variant, bench, metric))
        n_min, n_max = int(group["n"].min()), int(group["n"].max())
        score_min, se_min = _score_at(group, n_min)
        score_max, se_max = _score_at(group, n_max)
        rows.append({"variant": variant, "benchmark": bench, "metric": metric, **_fit_values(fit),
                     "n_min": n_min, "score_n_min": score_min, "se_n_min": se_min,
                     "n_max": n_max, "score_n_max": score_max, "se_n_max": se_max})
    return pd.DataFrame(rows, columns=COLUMNS)


def _fit_values(fit) -> dict:
    """C, α (0 for a flat series), R², and the fit without excluded n where there is one."""
    if fit is None:
        return {"C": math.nan, "alpha": math.nan, "r2": math.nan, "excluded_n": "",
                "alpha_excl": math.nan, "r2_excl": math.nan}
    excluded = fit.excluded_n      # "" without a second fit (fit_all, read_fits)
    return {"C": fit.C, "alpha": 0.0 if is_flat(fit.alpha) else fit.alpha, "r2": fit.r2,
            "excluded_n": excluded, "alpha_excl": fit.alpha_excl if excluded else math.nan,
            "r2_excl": fit.r2_excl if excluded else math.nan}


def theory_headline(theory_dir: Path, llms: list[str]) -> dict[str, dict]:
    """{llm: {"lambda": λ, "n_b": median balance point}} from each LLM's summary.json."""
    out = {}
    for llm in llms:
        path = theory_dir / llm / "summary.json"
        if not path.is_file():
            raise InputError(f"{path}: theory summary not found")
        summary = json.loads(path.read_text(encoding="utf-8"))
        out[llm] = {"lambda": summary.get("lambda"), "n_b": summary.get("n_b_median")}
    return out


def _finite_or_none(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def write_metrics(table: pd.DataFrame, theory: dict, metrics_dir: Path) -> None:
    for row in table.itertuples():
        values = {"metric": row.metric, "alpha": _finite_or_none(row.alpha),
                  "r2": _finite_or_none(row.r2), "score_n_min": _finite_or_none(row.score_n_min),
                  "score_n_max": _finite_or_none(row.score_n_max)}
        if row.excluded_n:
            values.update({"alpha_excl": _finite_or_none(row.alpha_excl), "r2_excl": _finite_or_none(row.r2_excl)})
        write_json(metrics_dir / row.variant / f"{row.benchmark}.json", values)
    write_json(metrics_dir / "theory.json",
               {llm: {k: _finite_or_none(v) for k, v in values.items()} for llm, values in theory.items()})


def write_plot_data(scores: pd.DataFrame, theory_dir: Path, llms: list[str], plots_dir: Path) -> None:
    shown = main_metric_rows(scores)
    for bench, group in shown.groupby("benchmark"):
        wide = group.pivot_table(index="n", columns="variant", values="score", aggfunc="mean")
        with atomic_path(plots_dir / "scaling" / f"{bench}.csv") as tmp:
            wide.reset_index().to_csv(tmp, index=False, float_format="%.6g")
    for llm in llms:
        curves = pd.read_csv(theory_dir / llm / "curves.csv")
        for folder, columns in (("theory_divergence", DIVERGENCE_CURVES), ("theory_psi", PSI_CURVES)):
            with atomic_path(plots_dir / folder / f"{llm}.csv") as tmp:
                curves[["n", *columns]].to_csv(tmp, index=False, float_format="%.6g")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="vtscale headline", description=__doc__.splitlines()[0])
    p.add_argument("scores", type=Path, help="tidy scores.csv")
    p.add_argument("--fits", required=True, type=Path, help="fits.csv of `vtscale fit`")
    p.add_argument("--theory-dir", required=True, type=Path, help="folder of <llm>/summary.json")
    p.add_argument("--llms", nargs="*", default=[], help="theory LLM names")
    p.add_argument("--metrics-dir", required=True, type=Path,
                   help="folder of the small JSONs `dvc metrics` reads")
    p.add_argument("--plots-dir", required=True, type=Path, help="folder of the CSVs `dvc plots` draws")
    args = p.parse_args(argv)
    scores = read_scores(args.scores)
    table = headline_table(scores, read_fits(args.fits))
    write_metrics(table, theory_headline(args.theory_dir, args.llms), args.metrics_dir)
    write_plot_data(scores, args.theory_dir, args.llms, args.plots_dir)
    log.info("%d headline rows -> %s, plot data -> %s", len(table), args.metrics_dir, args.plots_dir)
    return 0
