"""``vtscale report``: one self-contained HTML page of a run, the answer first.

Top to bottom: what ran (commit, profile, config hash, date, machine, per-stage wall
times); the paper's findings checked on this run; the scaling figure; one headline row
per benchmark and variant; rows the evaluation could not score; then the theory, fusion
and cost sections. Every full table sits in a collapsed ``<details>`` element. Figures
are embedded as base64 PNGs so the page opens offline and survives being copied alone;
sections whose inputs are missing say so, so a partial run renders too.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import html
import io
import json
import logging
import math
import os
import platform
import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from vtscale.analysis.findings import (check_all, image_use, reading_benchmarks,  # noqa: E402
                                       versus_baselines)
from vtscale.analysis.fit import is_flat, read_fits  # noqa: E402
from vtscale.analysis.headline import headline_table  # noqa: E402
from vtscale.analysis.rule_times import job_times, rule_times  # noqa: E402
from vtscale.analysis.scores import main_metric_rows, read_scores  # noqa: E402
from vtscale.errors import InputError  # noqa: E402
from vtscale.io import write_text  # noqa: E402

log = logging.getLogger(__name__)

STYLE = """body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f0f0f0}
table.meta td,table.meta th{text-align:left}
img{max-width:100%;border:1px solid #ddd;margin:.3em 0}.missing{color:#a00}
details{margin:.4em 0}summary{cursor:pointer;color:#225}"""

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


def _details(summary: str, body: str) -> str:
    return f"<details><summary>{html.escape(summary)}</summary>{body}</details>"


def _scores(results: Path) -> pd.DataFrame | None:
    if not (results / "scores.csv").is_file():
        return None
    try:
        return read_scores(results / "scores.csv")
    except InputError as err:
        log.warning("%s; left out of the report", err)
        return None


def _score_documents(results: Path) -> list[dict]:
    """Every <Bench>.scores.json that `vtscale eval` wrote under RESULTS/eval."""
    docs = []
    for path in sorted((results / "eval").glob("*/*/*.scores.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        docs.append({"benchmark": path.name.removesuffix(".scores.json"), **doc})
    return docs


# -- what ran ---------------------------------------------------------------------------

def _git_commit() -> str:
    if shutil.which("git") is None:
        return "unknown (git not found)"
    proc = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else "unknown (not a git checkout)"


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        models = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                  if line.startswith("model name")]
        cpu = models[0] if models else cpu
    gpus = "no GPU"
    if shutil.which("nvidia-smi"):
        proc = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                              capture_output=True, text=True)
        names = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
        gpus = ", ".join(names) if proc.returncode == 0 and names else gpus
    return f"{cpu}, {os.cpu_count()} cores, {gpus}"


def header_section(results: Path, profile: str, config_hash: str) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    facts = [("commit", _git_commit()), ("profile", profile or "not given"),
             ("config hash", config_hash or "not given"), ("date", now), ("machine", _machine()),
             ("results", str(results))]
    rows = "".join(f"<tr><th>{k}</th><td>{html.escape(v)}</td></tr>" for k, v in facts)
    times = rule_times(results / "benchmarks") if (results / "benchmarks").is_dir() else {}
    if times:
        total = sum(t["seconds"] for t in times.values())
        stages = ", ".join(f"{rule} {t['seconds']:.0f} s" + (f" ({t['jobs']} jobs)" if t["jobs"] > 1 else "")
                           for rule, t in times.items())
        rows += (f"<tr><th>wall time per stage</th><td>{total / 60:.1f} min summed over "
                 f"{sum(t['jobs'] for t in times.values())} jobs: {html.escape(stages)}</td></tr>")
    else:
        rows += "<tr><th>wall time per stage</th><td class='missing'>benchmarks/*.tsv: not available</td></tr>"
    return f"<table class='meta'>{rows}</table>"


# -- the backbones ----------------------------------------------------------------------

GATE_TITLES = {"llm": "The LLM reads its context (bootstrap LM)",
               "vit": "The ViT's patch tokens say what is where (bootstrap CLIP)",
               "stage2": "Stage 2 teaches every question kind (held-out images)"}
SIDE_FIGURES = ("_blind", "_description")


def gate_table(gate: dict) -> pd.DataFrame:
    figures = gate["figures"]
    rows = []
    for name, figure in figures.items():
        if name.endswith(SIDE_FIGURES):
            continue
        row = {"figure": name, "value": figure["value"], "target": figure.get("target"),
               "meets target": {True: "yes", False: "NO", None: "–"}[figure.get("passed")]}
        for suffix in SIDE_FIGURES:
            if name + suffix in figures:
                row[suffix.strip("_")] = figures[name + suffix]["value"]
        rows.append(row)
    return pd.DataFrame(rows)


def gate_curve_png(gate: dict) -> bytes | None:
    curve = pd.DataFrame(gate.get("curve") or [])
    if curve.empty or "step" not in curve:
        return None
    main = [c for c in curve.columns if c != "step" and not c.endswith(SIDE_FIGURES)]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for column in main:
        ax.plot(curve["step"], curve[column], marker="o", ms=3, label=column)
    ax.set_xlabel("training step")
    ax.set_ylabel("held-out accuracy")
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def backbones_section(results: Path) -> str:
    """Each stand-in's gate figures against their targets, with its learning curve."""
    path = results / "gates.json"
    if not path.is_file():
        return "<h2>Backbones</h2>" + _missing("gates.json")
    parts = ["<h2>Backbones</h2><p>Whether each stand-in does its backbone's job, measured "
             "(targets are goals; a figure below its target is also a WARNING in the log).</p>"]
    for gate in json.loads(path.read_text()):
        below = [n for n, f in gate["figures"].items() if f.get("passed") is False]
        verdict = f"below target: {', '.join(below)}" if below else "every gated figure meets its target"
        parts.append(f"<h3>{html.escape(GATE_TITLES.get(gate['gate'], gate['gate']))}: "
                     f"{html.escape(verdict)}</h3><p>{html.escape(gate.get('note', ''))}</p>")
        parts.append(_table(gate_table(gate), 3))
        png = gate_curve_png(gate)
        if png:
            parts.append(_img_bytes(png, f"{gate['gate']} gate: learning curve"))
    return "".join(parts)


# -- the answer --------------------------------------------------------------------------

def findings_section(results: Path) -> str:
    reading = reading_benchmarks({doc["benchmark"]: doc.get("type") for doc in _score_documents(results)})
    scores = _scores(results)
    findings = [image_use(scores, _csv(results / "baselines.csv"))]
    findings += check_all(_fits(results), _csv(results / "question_fusion" / "deltas.csv"), reading)
    verdict = {True: "holds", False: "does not hold", None: "undecided"}
    items = "".join(f"<li><b>{html.escape(f.claim)}: {verdict[f.holds]}.</b> "
                    f"{html.escape(f.evidence)}</li>" for f in findings)
    return "<h2>The paper's findings on this run</h2><ul>" + items + "</ul>"


def scaling_section(results: Path) -> str:
    return ("<h2>Scaling with the number of vision tokens</h2><p>Each benchmark's headline metric "
            "per variant, ±1 standard error, with its fitted P(n) = C·n<sup>−α</sup> (negative α: "
            "the score grows with n) and, in grey, the image-blind baselines.</p>"
            + _figure(results / "figures" / "scaling.png", "Scores and fitted power laws (Figs 9–11)"))


def _with_se(score: float, se: float) -> str:
    if not math.isfinite(se):
        return f"{score:.4g}"
    return f"{score:.4g} ± {0.0 if abs(se) < 1e-9 else se:.2g}"   # a bootstrap of equal draws: ~1e-15


def format_fit_values(frame: pd.DataFrame) -> pd.DataFrame:
    """C, α, R² as text: 4 significant digits, a flat series as 'flat', no fit as '–'."""
    out = frame.copy()
    out["C"] = [f"{c:.4g}" if math.isfinite(c) else "–" for c in frame["C"]]
    out["alpha"] = ["–" if not math.isfinite(a) else "flat" if is_flat(a) else f"{a:+.3g}"
                    for a in frame["alpha"]]
    out["r2"] = [f"{r:.3g}" if math.isfinite(r) else "–" for r in frame["r2"]]
    return out.rename(columns={"alpha": "α", "r2": "R²"})


def headline_section(results: Path) -> str:
    scores, fits = _scores(results), _fits(results)
    if scores is None or fits is None:
        return "<h2>Headline numbers</h2>" + _missing("scores.csv or fits.csv")
    table = headline_table(scores, fits)
    shown = format_fit_values(table)
    shown["score at smallest n"] = [f"n={r.n_min}: {_with_se(r.score_n_min, r.se_n_min)}" for r in table.itertuples()]
    shown["score at largest n"] = [f"n={r.n_max}: {_with_se(r.score_n_max, r.se_n_max)}" for r in table.itertuples()]
    columns = ["benchmark", "metric", "variant", "C", "α", "R²", "score at smallest n", "score at largest n"]
    if table["excluded_n"].astype(bool).any():
        shown["α, R² without excluded n"] = [_excluded_fit_text(r) for r in table.itertuples()]
        columns.append("α, R² without excluded n")
    return ("<h2>Headline numbers</h2><p>Per benchmark and variant: the fit of its headline metric "
            "(R² in log space; a flat series has no slope and no R²) and the score ± one standard "
            "error at the ends of the grid.</p>" + _table(shown[columns].sort_values(["benchmark", "variant"])))


def _excluded_fit_text(row) -> str:
    """The second fit of a series some n are left out of (analysis.exclude), or ''."""
    if not row.excluded_n:
        return ""
    return f"{row.alpha_excl:+.3g}, {row.r2_excl:.3g} (without n={row.excluded_n})"


def _fits(results: Path) -> pd.DataFrame | None:
    path = results / "fits.csv"
    try:
        return read_fits(path) if path.is_file() else None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, KeyError):
        log.warning("%s: unreadable CSV, left out of the report", path)
        return None


def _rows_records(results: Path) -> list[dict]:
    records = []
    for doc in _score_documents(results):
        rows = doc.get("rows")
        if rows and rows.get("skipped"):
            reasons = ", ".join(f"{k}: {v}" for k, v in rows.get("skip_reasons", {}).items())
            records.append({"benchmark": doc["benchmark"], "read": rows["read"],
                            "scored": rows["scored"], "skipped": rows["skipped"], "reasons": reasons})
    return records


def skipped_rows_section(results: Path) -> str:
    records = _rows_records(results)
    if not records:
        return "<h2>Rows scored</h2><p>Every benchmark row read was scored.</p>"
    frame = pd.DataFrame(records).drop_duplicates()
    return ("<h2>Rows scored</h2><p class='missing'>Some benchmark rows could not be scored and were "
            "left out of the scores (eval.strict off); their scores are not comparable with a run "
            "that scores every row.</p>" + _table(frame))


# -- the details ------------------------------------------------------------------------

def baselines_details(results: Path) -> str:
    scores, baselines = _scores(results), _csv(results / "baselines.csv")
    if scores is None or baselines is None:
        return _missing("baselines.csv")
    return _details("Score against image-blind baselines", (
        "<p>The question variant at the largest n beside two answer sheets that never see the "
        "image, each scored by the benchmark's own scorer: every row given the most frequent "
        "answer (majority), and every row given the most frequent training answer to its "
        "question (question alone). se: standard error of the model's score; margin: its lead "
        "over the better baseline in se.</p>" + _table(versus_baselines(scores, baselines))))


def _by_n(scores: pd.DataFrame, index: list[str]) -> pd.DataFrame:
    """Scores with one column per n (mean over repeated rows), for display."""
    grid = scores.pivot_table(index=index, columns="n", values="score", aggfunc="mean").reset_index()
    grid.columns = [str(c) if not isinstance(c, str) else c for c in grid.columns]
    return grid


def answers_details(results: Path) -> str:
    """Share of rows given the most common answer: near 100 % at every n means the model
    answers without looking at the image, and a flat curve then says nothing about n."""
    answers = _csv(results / "answers.csv")
    if answers is None or answers.empty:
        return _missing("answers.csv")
    spread = answers.rename(columns={"most_common_share": "score"})
    return _details("Do the answers depend on the image? (share of rows given the most common answer)",
                    "<p>Near 100 % at every n: the model gives one answer whatever the image, so its "
                    "scores cannot move with n.</p>" + _table(_by_n(spread, ["benchmark", "variant"]), digits=3))


def tables_details(results: Path) -> str:
    scores, fits = _scores(results), _fits(results)
    parts = [baselines_details(results)]
    if scores is None:
        return "<h2>Full tables</h2>" + "".join(parts) + _missing("scores.csv")
    parts += [answers_details(results),
              _details("Scores per n (headline metric)",
                       _table(_by_n(main_metric_rows(scores), ["benchmark", "metric", "variant"]))),
              _details("Every metric (scores.csv)", _table(scores))]
    if fits is not None:
        if not fits["excluded_n"].astype(bool).any():   # no analysis.exclude: no second fit
            fits = fits.drop(columns=[c for c in fits.columns if c == "excluded_n" or c.endswith("_excl")])
        parts.append(_details("Every fit (fits.csv)", _table(format_fit_values(fits))))
    return "<h2>Full tables</h2>" + "".join(parts)


def fusion_section(results: Path) -> str:
    parts = ["<h2>Question fusion</h2>"]
    parts += [_figure(results / "figures" / name, caption) for name, caption in FUSION_FIGURES]
    deltas = _csv(results / "question_fusion" / "deltas.csv")
    if deltas is not None:
        parts.append(_details("deltas.csv", _table(deltas)))
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
        # cost_report.py's notes: the paper comparison, thop vs analytic, missing GPU columns
        comparison = [line for line in notes.read_text().splitlines()
                      if line.startswith(("Compared", "Counting", "GPU"))]
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
    return ("<h2>Training curves</h2>" + _details(
        "training loss per step", _img_bytes(buffer.getvalue(), "training loss per step")
        + f"<p>{html.escape(runs)}</p>"))


def runtimes_details(results: Path) -> str:
    rows = job_times(results / "benchmarks")
    if not rows:
        return _missing("benchmarks/*.tsv")
    return _details(f"Run time of every job ({len(rows)} jobs, Snakemake benchmark files)",
                    _table(pd.DataFrame(rows)))


def render(results: Path, profile: str = "", config_hash: str = "") -> str:
    sections = [header_section(results, profile, config_hash), backbones_section(results),
                findings_section(results),
                scaling_section(results), headline_section(results), skipped_rows_section(results),
                theory_section(results), fusion_section(results), cost_section(results),
                training_section(results), tables_details(results), runtimes_details(results)]
    title = "vtscale: scaling capability in token space"
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{STYLE}</style></head><body><h1>{title}</h1>"
            + "\n".join(sections) + "</body></html>\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vtscale report", description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True, help="results folder")
    parser.add_argument("--out", required=True, help="HTML file to write")
    parser.add_argument("--profile", default="", help="config profile, shown in the header")
    parser.add_argument("--config-hash", default="", help="hash of the run's config, shown in the header")
    args = parser.parse_args(argv)
    results = Path(args.results)
    if not results.is_dir():
        raise FileNotFoundError(f"{results}: results folder not found")
    write_text(args.out, render(results, args.profile, args.config_hash))
    log.info("report -> %s", args.out)
    return 0
