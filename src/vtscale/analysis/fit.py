"""Scaling fit P(n) = C·n^(−α) per (variant, benchmark, metric) (paper eq. 37–38).

The fit minimises mean_i (log P_i − (log C − α log n_i))² with BFGS from (0, 0), as the
paper does; negative α means the score grows with the number of vision tokens n.
``r2`` is the coefficient of determination of that regression in log space.

Every series gets the plain fit over all its n. Where ``analysis.exclude`` leaves some
n of a benchmark out (the paper's Fig. 11 drops RealWorldQA's two anomalous n), a
second fit without them sits beside it in the ``*_excl`` columns.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from vtscale.analysis.config import AnalysisConfig
from vtscale.analysis.scores import main_metric_rows, read_scores
from vtscale.config import config_section, parse_json_arg
from vtscale.errors import ConfigError
from vtscale.io import atomic_path, write_csv

log = logging.getLogger(__name__)

FIT_COLUMNS = ["variant", "benchmark", "metric", "C", "alpha", "r2", "n_points",
               "excluded_n", "C_excl", "alpha_excl", "r2_excl", "n_points_excl"]
# A flat series fits α of about 1e-14 of either sign from float noise: that is no slope.
FLAT_ALPHA = 1e-9


def is_flat(alpha: float) -> bool:
    return math.isfinite(alpha) and abs(alpha) < FLAT_ALPHA


@dataclasses.dataclass
class PowerLawFit:
    C: float
    alpha: float
    r2: float          # in log space
    n_points: int

    def predict(self, n: np.ndarray) -> np.ndarray:
        return self.C * np.power(n, -self.alpha, dtype=float)


def fit_power_law(n: np.ndarray, score: np.ndarray) -> PowerLawFit:
    """Least squares in log space: x = (log C, α). Scores must be positive."""
    log_n = np.log(np.asarray(n, dtype=float))
    log_p = np.log(np.asarray(score, dtype=float))

    def loss(x: np.ndarray) -> float:
        residual = log_p - (x[0] - x[1] * log_n)
        return float(np.mean(residual**2))

    def grad(x: np.ndarray) -> np.ndarray:
        residual = log_p - (x[0] - x[1] * log_n)
        return np.array([-2 * residual.mean(), 2 * (residual * log_n).mean()])

    result = minimize(loss, x0=np.zeros(2), jac=grad, method="BFGS", options={"gtol": 1e-12})
    log_c, alpha = result.x
    ss_res = loss(result.x) * len(log_p)
    ss_tot = float(((log_p - log_p.mean()) ** 2).sum())
    # A flat series (equal scores up to float noise) has no variance to explain: r2 is undefined.
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 1e-12 * len(log_p) else math.nan
    return PowerLawFit(C=float(np.exp(log_c)), alpha=float(alpha), r2=r2, n_points=len(log_p))


def fit_series(points: pd.DataFrame, name: str) -> PowerLawFit | None:
    """The fit of one series' (n, score) points; None (with a warning) if unusable."""
    if (points["score"] <= 0).any():
        log.warning("skipping %s: non-positive scores at n=%s", name,
                    points.loc[points["score"] <= 0, "n"].tolist())
        return None
    if len(points) < 2:
        log.warning("skipping %s: needs at least 2 values of n, has %d", name, len(points))
        return None
    return fit_power_law(points["n"].to_numpy(), points["score"].to_numpy())


def excluded_fit(points: pd.DataFrame, left_out: list[int], name: str) -> dict:
    """The ``*_excl`` columns: the fit without the ``left_out`` n (NaN where none applies)."""
    dropped = sorted(set(points["n"]) & set(left_out))
    fit = fit_series(points[~points["n"].isin(dropped)], f"{name} without n={dropped}") if dropped else None
    if fit is None:
        return {"excluded_n": "", "C_excl": math.nan, "alpha_excl": math.nan,
                "r2_excl": math.nan, "n_points_excl": math.nan}
    return {"excluded_n": ",".join(map(str, dropped)), "C_excl": fit.C, "alpha_excl": fit.alpha,
            "r2_excl": fit.r2, "n_points_excl": fit.n_points}


def fit_all(frame: pd.DataFrame, exclude: dict | None = None) -> pd.DataFrame:
    """One fit per (variant, benchmark, metric), plus the fit without the n that
    ``exclude`` ({benchmark: [n, ...]}) leaves out; unusable groups are skipped with a
    warning."""
    exclude = exclude or {}
    rows = []
    for (variant, bench, metric), group in frame.groupby(["variant", "benchmark", "metric"], sort=True):
        name = f"{variant}/{bench}/{metric}"
        points = group.groupby("n", as_index=False)["score"].mean()   # repeated n: one point each
        fit = fit_series(points, name)
        if fit is None:
            continue
        rows.append({"variant": variant, "benchmark": bench, "metric": metric,
                     **dataclasses.asdict(fit), **excluded_fit(points, exclude.get(bench, []), name)})
    return pd.DataFrame(rows, columns=FIT_COLUMNS)


def plot_scaling(scores: pd.DataFrame, fits: pd.DataFrame, path: str | Path,
                 baselines: pd.DataFrame | None = None) -> None:
    """Paper Figs 9–11: one panel per benchmark (headline metric), each variant's scores
    with ±1 standard error bars and its fitted curve, and the image-blind baselines."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = main_metric_rows(scores)
    benches = list(dict.fromkeys(shown["benchmark"]))
    cols = min(3, max(1, len(benches)))
    rows = max(1, math.ceil(len(benches) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    fit_index = {(r.variant, r.benchmark, r.metric): r for r in fits.itertuples()}
    for ax, bench in zip(axes.flat, benches):
        data = shown[shown["benchmark"] == bench]
        metric = data["metric"].iloc[0]
        for i, (variant, group) in enumerate(data.groupby("variant", sort=True)):
            _plot_variant(ax, group, fit_index.get((variant, bench, metric)), variant, f"C{i}")
        _plot_baselines(ax, baselines, bench, metric)
        ax.set_xscale("log", base=2)
        ax.set(title=f"{bench} ({metric})", xlabel="vision tokens n")
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(benches):]:
        ax.axis("off")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def _plot_variant(ax, group: pd.DataFrame, fit, variant: str, color: str) -> None:
    points = group.groupby("n", as_index=False)[["score", "se"]].mean()
    ax.errorbar(points["n"], points["score"], yerr=points["se"].fillna(0.0), fmt="o", ms=4,
                capsize=2, color=color, label=variant)
    if fit is None:
        return
    grid = np.geomspace(points["n"].min(), points["n"].max(), 100)
    label = "flat" if is_flat(fit.alpha) else f"α={fit.alpha:.3g}"
    ax.plot(grid, fit.C * grid ** (-fit.alpha), "-", color=color, lw=1, label=label)
    if fit.excluded_n:
        ax.plot(grid, fit.C_excl * grid ** (-fit.alpha_excl), "--", color=color, lw=1,
                label=f"α={fit.alpha_excl:.3g} without n={fit.excluded_n}")


def _plot_baselines(ax, baselines: pd.DataFrame | None, bench: str, metric: str) -> None:
    if baselines is None:
        return
    row = baselines[(baselines["benchmark"] == bench) & (baselines["metric"] == metric)]
    if row.empty:
        return
    for column, style in (("majority", ":"), ("question_alone", "--")):
        ax.axhline(float(row[column].iloc[0]), color="grey", ls=style, lw=1, label=column.replace("_", " "))


def parse_exclude(items: list[str]) -> dict[str, list[int]]:
    """``BENCH:1,8`` command-line items -> {"BENCH": [1, 8]}."""
    out: dict[str, list[int]] = {}
    for item in items:
        bench, sep, ns = item.partition(":")
        try:
            values = [int(v) for v in ns.split(",") if v.strip()]
        except ValueError:
            values = []
        if not sep or not bench or not values:
            raise ConfigError(f"--exclude {item!r}: expected BENCHMARK:n1,n2")
        out.setdefault(bench, []).extend(values)
    return out


def write_fits(fits: pd.DataFrame, path: str | Path) -> None:
    write_csv(path, fits, float_format="%.10g")


def read_fits(path: str | Path) -> pd.DataFrame:
    """fits.csv as ``write_fits`` wrote it (``excluded_n`` stays text, "" where none)."""
    fits = pd.read_csv(path, dtype={"excluded_n": str})
    fits["excluded_n"] = fits["excluded_n"].fillna("")
    return fits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vtscale fit", description=__doc__.splitlines()[0])
    parser.add_argument("scores", help="tidy scores CSV (variant, benchmark, metric, n, [m,] score)")
    parser.add_argument("--out", required=True, help="fits CSV")
    parser.add_argument("--figure", help="scaling figure (PNG)")
    parser.add_argument("--baselines", help="baselines.csv, drawn in the figure")
    parser.add_argument("--cfg", help="JSON with an 'analysis' section")
    parser.add_argument("--exclude", nargs="*", default=[], metavar="BENCH:n1,n2",
                        help="fit a benchmark again without these n (adds to analysis.exclude)")
    args = parser.parse_args(argv)

    cfg = config_section(AnalysisConfig, parse_json_arg(args.cfg) if args.cfg else None, "analysis")
    exclude = {k: list(v) for k, v in cfg.exclude.items()}
    for bench, ns in parse_exclude(args.exclude).items():
        exclude.setdefault(bench, []).extend(ns)

    scores = read_scores(args.scores)
    fits = fit_all(scores, exclude)
    write_fits(fits, args.out)
    if args.figure:
        baselines = pd.read_csv(args.baselines) if args.baselines else None
        plot_scaling(scores, fits, args.figure, baselines)
    with pd.option_context("display.width", 160, "display.max_rows", None):
        print("P(n) = C * n^-alpha  (r2 in log space)")
        print(fits.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    log.info("%d fits -> %s", len(fits), args.out)
    return 0
