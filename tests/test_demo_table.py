"""benchmarks/demo_table.py: the README's demo table, generated from a run's files with
the report's own numbers and formatting (issue 22 item 11)."""

import importlib.util
import json
from pathlib import Path

import pandas as pd
from test_report import fake_results, records, section

from vtscale.analysis import fit, report

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "demo_table.py"
TYPES = {"DemoPOPE": "pope", "DemoMME": "mme", "DemoMCQ": "mcq", "DemoOCRVQA": "ocrvqa"}


def demo_table():
    spec = importlib.util.spec_from_file_location("demo_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def results_with_a_zero_score(root: Path) -> Path:
    """test_report's fake run, plus MME's four categories, an OCR benchmark whose first
    score is 0 (no fit) and the score files that name each benchmark's type."""
    fake_results(root)
    scores = pd.read_csv(root / "scores.csv")
    extra = [{"variant": "question", "benchmark": "DemoMME", "metric": f"{cat}/acc", "n": n,
              "m": min(2, n), "score": 50.0, "se": 1.0}
             for cat in ("color", "count", "position", "existence") for n in (1, 2, 4)]
    extra += [{"variant": v, "benchmark": "DemoOCRVQA", "metric": "Overall", "n": n, "m": min(2, n),
               "score": score, "se": se}
              for v in ("question", "no_question_ft", "no_question")
              for n, score, se in [(1, 0.0, 0.0), (2, 2.0, 1.0), (4, 6.0, 1.7)]]
    pd.concat([scores, pd.DataFrame(extra)]).to_csv(root / "scores.csv", index=False)
    fit.main([str(root / "scores.csv"), "--out", str(root / "fits.csv"),
              "--baselines", str(root / "baselines.csv")])
    folder = root / "eval" / "question" / "n1_m1"
    folder.mkdir(parents=True)
    for bench, type_ in TYPES.items():
        (folder / f"{bench}.scores.json").write_text(json.dumps({"type": type_, "metrics": {}}))
    return root


def test_the_table_is_the_reports_numbers_in_the_readmes_columns(tmp_path, capsys):
    results = results_with_a_zero_score(tmp_path / "results")
    capsys.readouterr()                     # what `vtscale fit` printed
    out = tmp_path / "table.json"
    assert demo_table().main(["--results", str(results), "--out", str(out),
                              "--config", str(SCRIPT.parents[1] / "config/demo.yaml")]) == 0   # its order
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[:2] == ["| benchmark | metric | n = 1 | n = 4 | α (R²) | majority | question alone |",
                         "|---|---|---|---|---|---|---|"]
    assert lines[2:] == [
        "| DemoPOPE | F1 | 62 ± 1.5 | 66.31 ± 1.5 | -0.0484 (1) | 66.7 | 58 |",
        "| DemoMME | acc + acc+ (of 800) | 902 ± 1.5 | 966.6 ± 1.5 | -0.0499 (1) | 500 | 700 |",
        "| DemoMCQ | accuracy | 21.5 ± 2 | 21.5 ± 2 | flat | – | – |",
        "| DemoOCRVQA | exact match | 0 ± 0 | 6 ± 1.7 | no fit (a zero score) | – | – |",
    ]
    written = json.loads(out.read_text())
    assert (written["n_min"], written["n_max"]) == (1, 4)
    assert [r["benchmark"] for r in written["rows"]] == ["DemoPOPE", "DemoMME", "DemoMCQ", "DemoOCRVQA"]
    assert written["rows"][0]["score_n_max"] == "66.31 ± 1.5" and written["rows"][0]["majority"] == "66.7"

    # the same cells as the report's headline table of the same run
    page = tmp_path / "index.html"
    assert report.main(["--results", str(results), "--out", str(page)]) == 0
    shown = {r["benchmark"]: r for r in records(section(page.read_text(), "Headline numbers"))
             if r["variant"] == "question"}
    for row in written["rows"]:
        reported = shown[row["benchmark"]]
        assert reported["score at smallest n"] == f"n=1: {row['score_n_min']}"
        assert reported["score at largest n"] == f"n=4: {row['score_n_max']}"
        if row["alpha_r2"] not in ("flat", "no fit (a zero score)"):
            assert row["alpha_r2"] == f"{reported['α']} ({reported['R²']})"
