"""``vtscale report``: one HTML page with every table and figure under RESULTS.

Figures are embedded as base64 PNGs so the page survives being copied alone.
Sections whose inputs are missing say so instead of failing, so the page also
renders from a partial run.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from vtscale.analysis.findings import check_all, image_use, versus_baselines  # noqa: E402
from vtscale.analysis.scores import main_metric_rows  # noqa: E402
from vtscale.eval.metrics import ANSWER_SPREAD  # noqa: E402
from vtscale.io import write_text  # noqa: E402

log = logging.getLogger(__name__)

STYLE = """body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f0f0f0}
img{max-width:100%;border:1px solid #ddd;margin:.3em 0}.missing{color:#a00}"""

FUSION_FIGURES = [("delta_no_question_ft.png", "P(question) − P(no question, fine-tuned) (Fig 12)"),
                  ("delta_no_question.png", "P(question) − P(no question, not fine-tuned) (Fig 13)"),
                  ("clusters.png", "Normalised score curves, KMeans clusters (Figs 18–19)")]
THEORY_FIGURES = [("theory_psi.png", "ψ curves per LLM (Figs 3–4)"),
                  ("theory_divergence.png", "E[D(n)] ± σ and λ√Υ(n) (Fig 5)"),
                  ("theory_psi_aa_ab.png", "ψ_cross^AA vs ψ_cross^AB (Fig 14)"),
                  ("theory_cosine_hist.png", "Cosine similarity histograms (Fig 15)"),
                  ("theory_alpha.png", "α(n) for several balance points (Fig 2)")]


def _missing(what: str) -> str:
    return f'<p class="missing">{html.escape(what)}: not available.</p>'


def _table(frame: pd.DataFrame, digits: int = 4) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.{digits}g}", na_rep="–",
                         border=0, escape=True)


def _img_bytes(data: bytes, caption: str) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{encoded}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _figure(path: Path, caption: str) -> str:
    return _img_bytes(path.read_bytes(), caption) if path.is_file() else _missing(f"{path.name}")


def _csv(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError):
        log.warning("%s: unreadable CSV, left out of the report", path)
        return None


def findings_section(results: Path, reading: list[str]) -> str:
    findings = [image_use(_csv(results / "scores.csv"), _csv(results / "baselines.csv"))]
    findings += check_all(_csv(results / "fits.csv"), _csv(results / "fusion" / "deltas.csv"), reading)
    verdict = {True: "holds", False: "does not hold", None: "undecided"}
    items = "".join(f"<li><b>{html.escape(f.claim)}: {verdict[f.holds]}.</b> "
                    f"{html.escape(f.evidence)}</li>" for f in findings)
    return "<h2>The paper's findings on this run</h2><ul>" + items + "</ul>"


def _by_n(scores: pd.DataFrame, index: list[str]) -> pd.DataFrame:
    """Scores with one column per n (mean over repeated rows), for display."""
    grid = scores.pivot_table(index=index, columns="n", values="score", aggfunc="mean").reset_index()
    grid.columns = [str(c) if not isinstance(c, str) else c for c in grid.columns]
    return grid


def scores_section(results: Path) -> str:
    scores = _csv(results / "scores.csv")
    if scores is None or scores.empty:
        return "<h2>Scores</h2>" + _missing("scores.csv")
    grid = _by_n(main_metric_rows(scores), ["benchmark", "metric", "variant"])
    return ("<h2>Scores (headline metric per benchmark)</h2>" + _table(grid) +
            "<details><summary>all metrics</summary>" + _table(scores) + "</details>")


def baselines_section(results: Path) -> str:
    scores, baselines = _csv(results / "scores.csv"), _csv(results / "baselines.csv")
    if scores is None or baselines is None:
        return "<h2>Score against image-blind baselines</h2>" + _missing("baselines.csv")
    return ("<h2>Score against image-blind baselines</h2><p>The question variant at the largest "
            "n beside two answer sheets that never see the image, each scored by the benchmark's "
            "own scorer: every row given the most frequent answer (majority), and every row given "
            "the most frequent training answer to its question (question alone). se: standard "
            "error of the model's score; margin: its lead over the better baseline in se.</p>"
            + _table(versus_baselines(scores, baselines)))


def answers_section(results: Path) -> str:
    """Share of rows given the most common answer: near 100 % at every n means the model
    answers without looking at the image, and a flat curve then says nothing about n."""
    scores = _csv(results / "scores.csv")
    if scores is None or "metric" not in scores:
        return ""
    spread = scores[scores["metric"] == f"{ANSWER_SPREAD}most_common_share"]
    if spread.empty:
        return ""
    grid = _by_n(spread, ["benchmark", "variant"])
    return ("<h2>Do the answers depend on the image?</h2><p>Share of rows (%) given the "
            "benchmark's most common answer. Near 100 % at every n: the model gives one answer "
            "whatever the image, so its scores cannot move with n.</p>" + _table(grid, digits=3))


def fits_section(results: Path) -> str:
    fits = _csv(results / "fits.csv")
    body = _table(fits) if fits is not None else _missing("fits.csv")
    return ("<h2>Scaling fits P(n) = C·n<sup>−α</sup></h2><p>Negative α: the score grows with n. "
            "R² is computed in log space.</p>" + body +
            _figure(results / "figures" / "scaling.png", "Scores and fitted power laws (Figs 9–11)"))


def fusion_section(results: Path) -> str:
    parts = ["<h2>Question fusion</h2>"]
    parts += [_figure(results / "figures" / name, caption) for name, caption in FUSION_FIGURES]
    deltas = _csv(results / "fusion" / "deltas.csv")
    if deltas is not None:
        parts.append("<details><summary>deltas.csv</summary>" + _table(deltas) + "</details>")
    return "".join(parts)


def theory_section(results: Path) -> str:
    rows = []
    for summary in sorted((results / "theory").glob("*/summary.json")):
        data = json.loads(summary.read_text())
        rows.append({"LLM": summary.parent.name, "pairs": data.get("pairs_used"),
                     "max n": data.get("max_n"), "λ": data.get("lambda"),
                     "λ fit R²": (data.get("lambda_fit") or {}).get("r2"),
                     "mean ψ_eq": data.get("mean_psi_eq"), "mean ψ_AB": data.get("mean_psi_cross_ab"),
                     "mean ψ_AA": data.get("mean_psi_cross_aa"),
                     "ψ_AA > ψ_AB on average": data.get("psi_aa_gt_ab_on_average"),
                     "seconds": data.get("seconds")})
    table = _table(pd.DataFrame(rows)) if rows else _missing("theory/*/summary.json")
    figures = "".join(_figure(results / "figures" / n, c) for n, c in THEORY_FIGURES)
    return "<h2>Divergence theory (paper §3)</h2>" + table + figures


def cost_section(results: Path) -> str:
    table = _csv(results / "cost" / "cost.csv")
    if table is None:
        return "<h2>Inference cost</h2>" + _missing("cost/cost.csv")
    parts = ["<h2>Inference cost</h2>"]
    for profile, group in table.groupby("profile", sort=False):
        parts.append(f"<h3>{html.escape(str(profile))}</h3>" + _table(group.dropna(axis=1, how="all")))
    notes = results / "cost" / "cost.md"
    if notes.is_file():
        comparison = [line for line in notes.read_text().splitlines() if line.startswith("Compared")]
        parts += [f"<p>{html.escape(line)}</p>" for line in comparison]
    return "".join(parts)


def training_section(results: Path) -> str:
    files = sorted((results / "train_metrics").rglob("*.csv"))
    curves = {}
    for path in files:
        frame = _csv(path)
        if frame is not None and {"step", "loss"} <= set(frame.columns) and not frame.empty:
            curves[str(path.relative_to(results / "train_metrics").with_suffix(""))] = frame
    if not curves:
        return "<h2>Training curves</h2>" + _missing("train_metrics/*.csv")
    stages = sorted({name.split("/")[0] for name in curves})
    fig, axes = plt.subplots(1, len(stages), figsize=(4.5 * len(stages), 3.3), squeeze=False)
    for ax, stage in zip(axes[0], stages):
        for name, frame in curves.items():
            if name.split("/")[0] == stage:
                ax.plot(frame["step"], frame["loss"], lw=1, label=name.split("/")[-1])
        ax.set(title=stage, xlabel="step", ylabel="loss")
        if sum(n.split("/")[0] == stage for n in curves) > 1:
            ax.legend(fontsize=6)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    runs = ", ".join(f"{name} ({len(frame)} steps, final loss {frame['loss'].iloc[-1]:.4g})"
                     for name, frame in curves.items())
    return ("<h2>Training curves</h2>" + _img_bytes(buffer.getvalue(), "training loss per step")
            + f"<p>{html.escape(runs)}</p>")


def runtimes_section(results: Path) -> str:
    rows = []
    for path in sorted((results / "benchmarks").rglob("*.tsv")):
        try:
            frame = pd.read_csv(path, sep="\t")
        except (pd.errors.ParserError, pd.errors.EmptyDataError):
            continue
        if "s" in frame.columns and not frame.empty:
            rows.append({"job": str(path.relative_to(results / "benchmarks").with_suffix("")),
                         "seconds": float(frame["s"].iloc[-1]),
                         "max RSS MB": float(frame["max_rss"].iloc[-1]) if "max_rss" in frame else None})
    if not rows:
        return "<h2>Run times</h2>" + _missing("benchmarks/*.tsv")
    frame = pd.DataFrame(rows)
    return ("<h2>Run times (Snakemake benchmark files)</h2>"
            f"<p>Total: {frame['seconds'].sum() / 60:.1f} min over {len(frame)} jobs.</p>" + _table(frame))


def render(results: Path, reading: list[str] | None = None) -> str:
    sections = [findings_section(results, reading or []), baselines_section(results),
                answers_section(results),
                scores_section(results),
                fits_section(results), fusion_section(results), theory_section(results),
                cost_section(results), training_section(results), runtimes_section(results)]
    title = "vtscale: scaling capability in token space"
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{STYLE}</style></head><body><h1>{title}</h1>"
            f"<p>Results folder: <code>{html.escape(str(results))}</code></p>"
            + "\n".join(sections) + "</body></html>\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vtscale report", description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True, help="results folder")
    parser.add_argument("--out", required=True, help="HTML file to write")
    parser.add_argument("--reading", action="append", default=[], metavar="BENCHMARK",
                        help="a text-reading benchmark (for the steepest-α check); repeatable")
    args = parser.parse_args(argv)
    results = Path(args.results)
    if not results.is_dir():
        raise FileNotFoundError(f"{results}: results folder not found")
    write_text(args.out, render(results, args.reading))
    log.info("report -> %s", args.out)
    return 0
