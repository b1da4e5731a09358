"""Combined theory figures over several LLMs (paper Figs 2–5, 14, 15)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from vtscale.errors import InputError  # noqa: E402
from vtscale.io import atomic_path, read_json  # noqa: E402
from vtscale.theory.stats import alpha_of_n  # noqa: E402

FIGURES = {
    "psi": "theory_psi.png",
    "divergence": "theory_divergence.png",
    "psi_scatter": "theory_psi_aa_ab.png",
    "histogram": "theory_cosine_hist.png",
    "alpha": "theory_alpha.png",
}
BALANCE_POINTS = (1.0, 10.0, 100.0, 1000.0, np.inf)


def load_llm_results(theory_dir: str | Path, llms: list[str]) -> dict[str, dict]:
    results = {}
    for name in llms:
        folder = Path(theory_dir) / name
        for file in ("curves.csv", "summary.json", "cosines.npz"):
            if not (folder / file).is_file():
                raise InputError(f"{folder / file}: missing divergence output for LLM {name!r}")
        with np.load(folder / "cosines.npz") as cos:
            cosines = {k: cos[k] for k in cos.files}
        results[name] = {"curves": pd.read_csv(folder / "curves.csv"),
                         "summary": read_json(folder / "summary.json"), "cosines": cosines}
    return results


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def plot_psi(results: dict, path: Path) -> Path:
    """Figs 3–4: ψ_eq^AB, ψ_cross^AB and ψ_cross^AA against n, one panel per LLM."""
    fig, axes = plt.subplots(1, len(results), figsize=(4.5 * len(results), 3.4), squeeze=False)
    for ax, (name, res) in zip(axes[0], results.items()):
        c = res["curves"]
        for column, label in [("psi_eq", "ψ_eq^AB"), ("psi_cross_ab", "ψ_cross^AB"),
                              ("psi_cross_aa", "ψ_cross^AA")]:
            ax.plot(c["n"], c[column], label=label)
        ax.set(title=name, xlabel="n (branch tokens)", ylabel="mean positive cosine")
        ax.legend(fontsize=8)
    return _save(fig, path)


def plot_divergence(results: dict, path: Path) -> Path:
    """Fig 5: E[D(n)] ± σ with the fitted λ√Υ(n)."""
    fig, axes = plt.subplots(1, len(results), figsize=(4.5 * len(results), 3.4), squeeze=False)
    for ax, (name, res) in zip(axes[0], results.items()):
        c, lam = res["curves"], res["summary"]["lambda"]
        ax.plot(c["n"], c["D_mean"], label="E[D(n)]")
        ax.fill_between(c["n"], c["D_mean"] - c["D_std"], c["D_mean"] + c["D_std"], alpha=0.25)
        ax.plot(c["n"], c["lambda_sqrt_upsilon"], "--", label=f"λ√Υ(n), λ={lam:.3g}")
        ax.set(title=name, xlabel="n (branch tokens)", ylabel="D(n)")
        ax.legend(fontsize=8)
    return _save(fig, path)


def plot_psi_scatter(results: dict, path: Path) -> Path:
    """Fig 14: ψ_cross^AA against ψ_cross^AB (points above the diagonal: ψ_AA > ψ_AB)."""
    fig, ax = plt.subplots(figsize=(4.5, 4.2))
    for name, res in results.items():
        c = res["curves"].dropna(subset=["psi_cross_ab", "psi_cross_aa"])
        ax.scatter(c["psi_cross_ab"], c["psi_cross_aa"], s=10, label=name)
    lo, hi = ax.get_xlim()
    ax.plot([lo, hi], [lo, hi], "k:", lw=1)
    ax.set(xlabel="ψ_cross^AB", ylabel="ψ_cross^AA", title="ψ_AA vs ψ_AB over n")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_cosine_histograms(results: dict, path: Path) -> Path:
    """Fig 15: distribution of raw cosines per kind, one panel per LLM."""
    fig, axes = plt.subplots(1, len(results), figsize=(4.5 * len(results), 3.4), squeeze=False)
    for ax, (name, res) in zip(axes[0], results.items()):
        for kind, values in res["cosines"].items():
            ax.hist(values, bins=50, range=(-1, 1), density=True, histtype="step", label=kind)
        ax.set(title=name, xlabel="cosine similarity", ylabel="density")
        ax.legend(fontsize=8)
    return _save(fig, path)


def plot_alpha(results: dict, beta: float, path: Path) -> Path:
    """Fig 2: α(n) for several balance points n_b, and each LLM's measured α(n)."""
    n = np.arange(2, 1025, dtype=float)
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for n_b in BALANCE_POINTS:
        label = "n_b = ∞" if np.isinf(n_b) else f"n_b = {n_b:g}"
        ax.plot(n, alpha_of_n(n, n_b, beta), label=label)
    for name, res in results.items():
        c = res["curves"]
        ax.plot(c["n"], c["alpha"], "k--", lw=1, label=f"{name} (measured n_b(n))")
    ax.set_xscale("log", base=2)
    ax.set(xlabel="n", ylabel="α(n)", title=f"α(n), β = {beta:g}")
    ax.legend(fontsize=7)
    return _save(fig, path)


def write_theory_figures(theory_dir: str | Path, llms: list[str], figure_dir: str | Path,
                         beta: float) -> list[Path]:
    results = load_llm_results(theory_dir, llms)
    out = Path(figure_dir)
    return [
        plot_psi(results, out / FIGURES["psi"]),
        plot_divergence(results, out / FIGURES["divergence"]),
        plot_psi_scatter(results, out / FIGURES["psi_scatter"]),
        plot_cosine_histograms(results, out / FIGURES["histogram"]),
        plot_alpha(results, beta, out / FIGURES["alpha"]),
    ]
