import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from vtscale.analysis import fit, headline
from vtscale.errors import InputError

REPO = Path(__file__).resolve().parents[1]
DEMO = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
VARIANTS = ["question", "no_question_ft", "no_question"]
GRID = sorted({n for n in DEMO["grid"]["n"]})


def scores_table(benchmarks, grid=GRID, slope=0.05):
    rows = []
    for b, bench in enumerate(benchmarks):
        for v, variant in enumerate(VARIANTS):
            for n in grid:
                score = 21.5 if bench.endswith("MCQ") else (40.0 + 3 * b + v) * n ** slope
                rows.append({"variant": variant, "benchmark": bench, "metric": "Overall", "n": n,
                             "m": min(n, 4), "score": score, "se": 1.25 + 0.001 * n})
    return pd.DataFrame(rows)


def write_inputs(root, benchmarks, slope=0.05, exclude=None):
    root.mkdir(parents=True, exist_ok=True)
    scores = scores_table(benchmarks, slope=slope)
    scores.to_csv(root / "scores.csv", index=False)
    fit.write_fits(fit.fit_all(scores, exclude), root / "fits.csv")
    theory = root / "theory" / "smollm2"
    theory.mkdir(parents=True, exist_ok=True)
    (theory / "summary.json").write_text(json.dumps({"lambda": 61.78381927, "n_b_median": 14.0351}))
    n = np.arange(1, 6)
    pd.DataFrame({"n": n, "D_mean": 10.0 * n, "lambda_sqrt_upsilon": 9.5 * n, "psi_eq": 0.5,
                  "psi_cross_ab": 0.4, "psi_cross_aa": 0.6, "n_b": 3.0}).to_csv(theory / "curves.csv", index=False)


def run_headline(root):
    assert headline.main([str(root / "scores.csv"), "--fits", str(root / "fits.csv"),
                          "--theory-dir", str(root / "theory"), "--llms", "smollm2",
                          "--metrics-dir", str(root / "metrics"), "--plots-dir", str(root / "plots")]) == 0


def test_headline_table_takes_fit_and_end_points_of_the_headline_metric():
    scores = scores_table(["DemoPOPE", "DemoMCQ"])
    table = headline.headline_table(scores, fit.fit_all(scores))
    assert len(table) == 6 and set(table["metric"]) == {"Overall"}
    pope = table[(table["benchmark"] == "DemoPOPE") & (table["variant"] == "question")].iloc[0]
    assert pope["alpha"] == pytest.approx(-0.05) and pope["r2"] == pytest.approx(1.0)
    assert (pope["n_min"], pope["n_max"]) == (GRID[0], GRID[-1])
    assert pope["score_n_max"] == pytest.approx(40.0 * GRID[-1] ** 0.05)
    assert pope["se_n_max"] == pytest.approx(1.25 + 0.001 * GRID[-1])
    mcq = table[table["benchmark"] == "DemoMCQ"]
    assert (mcq["alpha"] == 0.0).all() and mcq["r2"].isna().all()   # flat: no slope, no R²


def test_a_benchmark_fitted_again_without_some_n_reports_both_fits(tmp_path):
    write_inputs(tmp_path, ["DemoPOPE", "DemoMCQ"], exclude={"DemoPOPE": [GRID[-1]]})
    run_headline(tmp_path)
    pope = json.loads((tmp_path / "metrics" / "question" / "DemoPOPE.json").read_text())
    assert pope["alpha"] == pytest.approx(-0.05) and pope["alpha_excl"] == pytest.approx(-0.05)
    assert "alpha_excl" not in json.loads((tmp_path / "metrics" / "question" / "DemoMCQ.json").read_text())


def test_cli_writes_one_metrics_file_per_variant_and_benchmark_and_the_plot_data(tmp_path):
    write_inputs(tmp_path, ["DemoPOPE", "DemoMCQ"])
    run_headline(tmp_path)
    metrics = json.loads((tmp_path / "metrics" / "question" / "DemoPOPE.json").read_text())
    assert set(metrics) == {"metric", "alpha", "r2", "score_n_min", "score_n_max"}
    assert metrics["alpha"] == pytest.approx(-0.05) and metrics["metric"] == "Overall"
    assert json.loads((tmp_path / "metrics" / "no_question" / "DemoMCQ.json").read_text())["r2"] is None
    assert json.loads((tmp_path / "metrics" / "theory.json").read_text()) == {
        "smollm2": {"lambda": pytest.approx(61.78381927), "n_b": pytest.approx(14.0351)}}
    scaling = pd.read_csv(tmp_path / "plots" / "scaling" / "DemoPOPE.csv")
    assert list(scaling.columns) == ["n", "no_question", "no_question_ft", "question"]
    assert scaling["n"].tolist() == GRID
    psi = pd.read_csv(tmp_path / "plots" / "theory_psi" / "smollm2.csv")
    assert list(psi.columns) == ["n", "psi_eq", "psi_cross_ab", "psi_cross_aa"]
    assert list(pd.read_csv(tmp_path / "plots" / "theory_divergence" / "smollm2.csv").columns) == [
        "n", "D_mean", "lambda_sqrt_upsilon"]


def test_missing_theory_summary_names_the_file(tmp_path):
    with pytest.raises(InputError, match=r"nope/summary.json: theory summary not found"):
        headline.theory_headline(tmp_path, ["nope"])


def dvc(args, cwd, env):
    proc = subprocess.run(["dvc", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="git is required")
def test_dvc_metrics_fit_a_terminal_and_diff_shows_what_moved(tmp_path, venv_env):
    """The demo's benchmarks and variants: `dvc metrics show` stays within 200 columns, and
    `dvc metrics diff` after a rerun with other scores names the moved numbers."""
    repo = tmp_path / "repo"
    write_inputs(repo / "results" / "demo", list(DEMO["eval"]["benchmarks"]))
    run_headline(repo / "results" / "demo")
    shutil.copy(REPO / "dvc.yaml", repo / "dvc.yaml")
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    subprocess.run(git + ["init", "-q"], cwd=repo, check=True)
    dvc(["init", "-q"], repo, venv_env)
    dvc(["add", "-q", "results/demo"], repo, venv_env)
    subprocess.run(git + ["add", "-A"], cwd=repo, check=True)
    subprocess.run(git + ["commit", "-qm", "run 1"], cwd=repo, check=True)

    shown = dvc(["metrics", "show"], repo, venv_env)
    widths = [len(line) for line in shown.splitlines()]
    assert len(widths) == 1 + 3 * len(DEMO["eval"]["benchmarks"]) + 1   # header, rows, theory
    assert max(widths) <= 200, shown

    write_inputs(repo / "results" / "demo", list(DEMO["eval"]["benchmarks"]), slope=0.1)
    run_headline(repo / "results" / "demo")
    dvc(["add", "-q", "results/demo"], repo, venv_env)
    diff = dvc(["metrics", "diff"], repo, venv_env)
    assert "results/demo/metrics/question/DemoPOPE.json" in diff and "alpha" in diff
    assert "-0.05" in diff and "-0.1" in diff
    assert "results/demo/metrics/question/DemoMCQ.json" not in diff    # flat in both runs
