"""Question fusion: score gains from fusing the question (paper Figs 12–13, 18–19).

ΔP_ft = P_question − P_no_question_ft and ΔP_noft = P_question − P_no_question per
(benchmark, metric, n), written to RESULTS/question_fusion/deltas.csv and drawn as bars
(green: the question helps, orange: it hurts). The headline-metric curves of every
(variant, benchmark) are min–max normalised and grouped with KMeans.
"""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402

from vtscale.analysis.config import AnalysisConfig  # noqa: E402
from vtscale.analysis.scores import main_metric_rows, read_scores  # noqa: E402
from vtscale.config import config_section, parse_json_arg  # noqa: E402
from vtscale.errors import InputError  # noqa: E402
from vtscale.io import atomic_path, write_csv  # noqa: E402
from vtscale.variants import EVAL_VARIANTS, NO_QUESTION, NO_QUESTION_FT, QUESTION  # noqa: E402

log = logging.getLogger(__name__)

DELTAS = {"delta_ft": NO_QUESTION_FT, "delta_noft": NO_QUESTION}
POSITIVE, NEGATIVE = "tab:green", "tab:orange"


def compute_deltas(scores: pd.DataFrame) -> pd.DataFrame:
    wide = scores.pivot_table(index=["benchmark", "metric", "n"], columns="variant", values="score",
                              aggfunc="mean")
    if QUESTION not in wide.columns:
        raise InputError("scores: no rows of variant 'question'; question-fusion deltas need it")
    for variant in EVAL_VARIANTS:
        if variant not in wide.columns:
            log.warning("no rows of variant %r: its deltas are empty", variant)
            wide[variant] = np.nan
    wide = wide[list(EVAL_VARIANTS)].reset_index()
    for column, baseline in DELTAS.items():
        wide[column] = wide[QUESTION] - wide[baseline]
    wide.columns.name = None
    return wide.sort_values(["benchmark", "metric", "n"], ignore_index=True)


def plot_delta_bars(deltas: pd.DataFrame, column: str, title: str, path: Path) -> None:
    shown = main_metric_rows(deltas).dropna(subset=[column])
    benches = list(dict.fromkeys(shown["benchmark"]))
    cols = min(3, max(1, len(benches)))
    rows = max(1, math.ceil(len(benches) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, bench in zip(axes.flat, benches):
        data = shown[shown["benchmark"] == bench]
        values = data[column].to_numpy()
        ax.bar([str(n) for n in data["n"]], values,
               color=[POSITIVE if v >= 0 else NEGATIVE for v in values])
        ax.axhline(0, color="k", lw=0.8)
        ax.set(title=f"{bench} ({data['metric'].iloc[0]})", xlabel="n", ylabel="ΔP")
        ax.tick_params(axis="x", labelsize=7)
    for ax in list(axes.flat)[len(benches):]:
        ax.axis("off")
    fig.suptitle(title)
    _save(fig, path)


def normalised_curves(scores: pd.DataFrame) -> pd.DataFrame:
    """Rows (variant, benchmark), columns n, values min–max scaled to [0, 1] per row."""
    wide = main_metric_rows(scores).pivot_table(index=["variant", "benchmark"], columns="n",
                                                values="score", aggfunc="mean")
    incomplete = wide.isna().any(axis=1)
    if incomplete.any():
        log.warning("curves missing some n, left out of clustering: %s",
                    [f"{v}/{b}" for v, b in wide.index[incomplete]])
    wide = wide[~incomplete]
    low, span = wide.min(axis=1), wide.max(axis=1) - wide.min(axis=1)
    return wide.sub(low, axis=0).div(span.where(span > 0, 1.0), axis=0)


def cluster_curves(curves: pd.DataFrame, k: int, seed: int) -> np.ndarray:
    k = min(k, len(np.unique(curves.to_numpy().round(12), axis=0)))   # KMeans needs k distinct points
    return KMeans(n_clusters=k, random_state=seed, n_init=10).fit_predict(curves.to_numpy())


def plot_clusters(curves: pd.DataFrame, labels: np.ndarray, path: Path) -> None:
    clusters = sorted(set(labels))
    fig, axes = plt.subplots(1, len(clusters), figsize=(4 * len(clusters), 3.3), squeeze=False)
    x = np.arange(len(curves.columns))
    for ax, cluster in zip(axes[0], clusters):
        members = curves[labels == cluster]
        for (variant, bench), row in members.iterrows():
            ax.plot(x, row.to_numpy(), lw=1, alpha=0.7, label=f"{bench} [{variant}]")
        ax.plot(x, members.mean().to_numpy(), "k-", lw=2.5, label="mean")
        ax.set_xticks(x, [str(n) for n in curves.columns], fontsize=7)
        ax.set(title=f"cluster {cluster} ({len(members)} curves)", xlabel="n",
               ylabel="normalised score")
        ax.legend(fontsize=6)
    _save(fig, path)


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vtscale question-fusion", description=__doc__.splitlines()[0])
    parser.add_argument("scores", help="tidy scores CSV")
    parser.add_argument("--out-dir", required=True, help="results folder (writes fusion/ and figures/)")
    parser.add_argument("--cfg", help="JSON with 'analysis' and 'seed'")
    args = parser.parse_args(argv)
    payload = parse_json_arg(args.cfg) if args.cfg else {}
    cfg, seed = config_section(AnalysisConfig, payload, "analysis"), int(payload.get("seed", 0))
    out, figures = Path(args.out_dir) / "question_fusion", Path(args.out_dir) / "figures"

    scores = read_scores(args.scores)
    deltas = compute_deltas(scores)
    write_csv(out / "deltas.csv", deltas, float_format="%.8g")
    plot_delta_bars(deltas, "delta_ft", "P(question) − P(no question, fine-tuned)",
                    figures / "delta_no_question_ft.png")
    plot_delta_bars(deltas, "delta_noft", "P(question) − P(no question, not fine-tuned)",
                    figures / "delta_no_question.png")

    curves = normalised_curves(scores)
    if curves.empty:
        raise InputError(f"{args.scores}: no (variant, benchmark) curve covers every n; nothing to cluster")
    labels = cluster_curves(curves, cfg.kmeans_k, seed)
    write_csv(out / "clusters.csv", curves.index.to_frame(index=False).assign(cluster=labels),
              float_format="%.8g")
    plot_clusters(curves, labels, figures / "clusters.png")
    print(deltas.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return 0
