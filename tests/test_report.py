import html
import json
import re

import pandas as pd

from vtscale.analysis import fit, question_fusion, report

FLAT = 21.5   # DemoMCQ answers the same whatever n: a flat series


def fake_scores():
    rows = [{"variant": v, "benchmark": b, "metric": "Overall", "n": n, "m": min(2, n),
             "score": base * n ** 0.05 + shift, "se": 1.5}
            for v, shift in [("question", 2.0), ("no_question_ft", 1.0), ("no_question", 0.0)]
            for b, base in [("DemoPOPE", 60.0), ("DemoMME", 900.0)] for n in (1, 2, 4)]
    rows += [{"variant": v, "benchmark": "DemoMCQ", "metric": "Overall", "n": n, "m": min(2, n),
              "score": FLAT, "se": 2.0} for v in ("question", "no_question_ft", "no_question")
             for n in (1, 2, 4)]
    return pd.DataFrame(rows)


def fake_answers():
    return pd.DataFrame([{"variant": "question", "benchmark": "DemoPOPE", "n": n, "m": min(2, n),
                          "most_common_share": share, "distinct_share": 1.0}
                         for n, share in [(1, 100.0), (2, 97.5), (4, 61.25)]])


def fake_results(root):
    root.mkdir(parents=True, exist_ok=True)
    fake_scores().to_csv(root / "scores.csv", index=False)
    fake_answers().to_csv(root / "answers.csv", index=False)
    pd.DataFrame([{"benchmark": "DemoPOPE", "metric": "Overall", "rows": 450, "majority": 66.7,
                   "question_alone": 58.0, "se": 1.5},
                  {"benchmark": "DemoMME", "metric": "Overall", "rows": 200, "majority": 500.0,
                   "question_alone": 700.0, "se": 20.0}]).to_csv(root / "baselines.csv", index=False)
    fit.main([str(root / "scores.csv"), "--out", str(root / "fits.csv"),
              "--figure", str(root / "figures" / "scaling.png"), "--baselines", str(root / "baselines.csv")])
    question_fusion.main([str(root / "scores.csv"), "--out-dir", str(root),
                 "--cfg", '{"analysis": {"kmeans_k": 2}}'])
    (root / "theory" / "smollm2").mkdir(parents=True)
    (root / "theory" / "smollm2" / "summary.json").write_text(json.dumps(
        {"pairs_used": 4, "max_n": 16, "lambda": 12.5, "lambda_fit": {"r2": 0.99},
         "psi_aa_gt_ab_on_average": True, "seconds": 3.0}))
    (root / "cost").mkdir()
    (root / "cost" / "cost.csv").write_text("profile,n,m,tflops,prefill_ms\npaper,1,1,5.2,\ndemo,1,1,0.001,12.5\n")
    (root / "train_metrics" / "stage3").mkdir(parents=True)
    (root / "train_metrics" / "stage2.csv").write_text("step,epoch,loss\n1,0,3.0\n2,0,2.5\n")
    (root / "train_metrics" / "stage3" / "with_question_n1_m1.csv").write_text("step,epoch,loss\n1,0,2.0\n")
    (root / "benchmarks" / "divergence").mkdir(parents=True)
    (root / "benchmarks" / "divergence" / "smollm2.tsv").write_text(
        "s\th:m:s\tmax_rss\n95.5\t0:01:35\t812.3\n")
    (root / "benchmarks" / "train_stage2.tsv").write_text("s\th:m:s\tmax_rss\n120.2\t0:02:00\t900\n")


def score_documents(root, skipped):
    """What `vtscale eval` writes besides the scores: each benchmark's type and rows."""
    folder = root / "eval" / "question" / "n1_m1"
    folder.mkdir(parents=True)
    for bench, type_ in [("DemoPOPE", "pope"), ("DemoOCRVQA", "ocrvqa")]:
        count = skipped if bench == "DemoPOPE" else 0
        rows = {"read": 452, "scored": 452 - count, "skipped": count,
                "skip_reasons": {"undecodable image": count} if count else {}}
        (folder / f"{bench}.scores.json").write_text(json.dumps({"type": type_, "metrics": {}, "rows": rows}))


def render(tmp_path, skipped=0):
    results = tmp_path / "results"
    fake_results(results)
    score_documents(results, skipped)
    out = results / "report" / "index.html"
    assert report.main(["--results", str(results), "--out", str(out),
                        "--profile", "demo", "--config-hash", "0123abcd"]) == 0
    return out.read_text()


def section(page, heading):
    return page.split(heading, 1)[1].split("<h2>", 1)[0]


def table_rows(fragment):
    """The first HTML table of a fragment as a list of rows of cell texts (header first)."""
    table = fragment.split("<table", 1)[1].split("</table>", 1)[0]
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
             for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)]


def records(fragment):
    header, *rows = table_rows(fragment)
    return [dict(zip(header, row)) for row in rows]


def test_report_puts_the_answer_first(tmp_path):
    page = render(tmp_path)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    order = ["<th>commit</th>", "findings on this run", "Scaling with the number",
             "Headline numbers", "Rows scored", "Divergence theory", "Question fusion",
             "Inference cost", "Training curves", "Full tables"]
    positions = [page.find(text) for text in order]
    assert -1 not in positions and positions == sorted(positions), dict(zip(order, positions))
    header = page.split("<h2>", 1)[0]
    for text in ["demo", "0123abcd", "cores", "UTC", "train_stage2 120 s", "divergence 96 s"]:
        assert text in header, text


def test_findings_give_verdicts_with_numbers(tmp_path):
    findings = section(render(tmp_path), "findings on this run")
    assert findings.count("does not hold") + findings.count("holds.") + findings.count("undecided") == 4
    # POPE at n = 4: 60 * 4^0.05 + 2 = 65.2, below the majority's 66.7; MME 1005 > 700 + 3 * 20
    assert "above on 1 of 3 benchmarks at n = 4" not in findings
    assert "above on 1 of 2 benchmarks at n = 4" in findings
    assert "DemoMCQ flat" in findings
    assert "reading benchmarks: DemoOCRVQA" in findings          # its type, from its scores JSON


def test_headline_table_has_one_row_per_benchmark_and_variant(tmp_path):
    fragment = section(render(tmp_path), "Headline numbers")
    assert table_rows(fragment)[0] == ["benchmark", "metric", "variant", "C", "α", "R²",
                                       "score at smallest n", "score at largest n"]
    table = records(fragment)
    assert len(table) == 9
    pope = next(r for r in table if r["benchmark"] == "DemoPOPE" and r["variant"] == "question")
    assert pope["C"] == "62" and pope["α"] == "-0.0484"   # 60·n^0.05 + 2 at n = 1, 2, 4
    assert pope["score at smallest n"] == "n=1: 62 ± 1.5"
    assert pope["score at largest n"] == "n=4: 66.31 ± 1.5"
    assert report._with_se(16.67, 3.6e-15) == "16.67 ± 0"
    flat = [r for r in table if r["benchmark"] == "DemoMCQ"]
    assert len(flat) == 3 and all(r["α"] == "flat" and r["R²"] == "–" for r in flat)


def test_scaling_figure_is_embedded_and_the_page_is_self_contained(tmp_path):
    page = render(tmp_path)
    scaling = section(page, "Scaling with the number")
    assert scaling.count("data:image/png;base64,") == 1
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", page)
    assert "<script" not in page and "<link" not in page


def test_full_tables_are_collapsed(tmp_path):
    tables = section(render(tmp_path), "Full tables")
    for summary in ["Score against image-blind baselines", "Every metric (scores.csv)",
                    "Every fit (fits.csv)", "Scores per n (headline metric)", "Do the answers depend",
                    "Run time of every job"]:
        assert f"<summary>{summary}" in tables, summary
    assert tables.count("<details>") == 6
    answers = tables.split("Do the answers depend")[1].split("</details>")[0]
    assert "97.5" in answers and "61.2" in answers


def test_every_row_scored_or_the_skipped_ones_shown(tmp_path):
    assert "Every benchmark row read was scored" in section(render(tmp_path), "Rows scored")
    shown = section(render(tmp_path / "again", skipped=3), "Rows scored")
    assert records(shown) == [{"benchmark": "DemoPOPE", "read": "452", "scored": "449",
                               "skipped": "3", "reasons": "undecodable image: 3"}]


def test_theory_and_cost_sections(tmp_path):
    page = render(tmp_path)
    assert "12.5" in section(page, "Divergence theory") and "smollm2" in section(page, "Divergence theory")
    assert "theory_psi.png: not available" in page
    assert "<h3>demo</h3>" in section(page, "Inference cost")


def test_report_of_empty_folder_marks_everything_missing(tmp_path):
    out = tmp_path / "index.html"
    assert report.main(["--results", str(tmp_path), "--out", str(out)]) == 0
    page = out.read_text()
    assert "scores.csv: not available" in page and "benchmarks/*.tsv: not available" in page
    assert page.count("undecided") == 4 and "baselines.csv: not available" in page


def test_a_second_fit_without_excluded_n_gets_its_own_column(tmp_path):
    results = tmp_path / "results"
    fake_results(results)
    fit.main([str(results / "scores.csv"), "--out", str(results / "fits.csv"), "--exclude", "DemoPOPE:4"])
    out = results / "report" / "index.html"
    assert report.main(["--results", str(results), "--out", str(out), "--profile", "paper"]) == 0
    table = records(section(out.read_text(), "Headline numbers"))
    pope = next(r for r in table if r["benchmark"] == "DemoPOPE" and r["variant"] == "question")
    mcq = next(r for r in table if r["benchmark"] == "DemoMCQ")
    assert pope["α, R² without excluded n"].endswith("(without n=4)")
    assert mcq["α, R² without excluded n"] == ""


def test_without_exclusions_the_fit_table_has_no_second_fit_columns(tmp_path):
    page = render(tmp_path)
    assert "α, R² without" not in page and "alpha_excl" not in page


def test_backbones_come_first_with_each_gate_against_its_target(tmp_path):
    from vtscale.analysis import gates as collect_gates
    from vtscale.train.gates import Figure, Gate, write_gate
    results = tmp_path / "results"
    fake_results(results)
    score_documents(results, 0)
    lm = Gate("llm", {"existence": Figure(0.95, 0.9), "existence_blind": Figure(0.5),
                      "word": Figure(0.4, 0.8), "word_blind": Figure(0.1)},
              curve=[{"step": 250, "existence": 0.6, "word": 0.2},
                     {"step": 500, "existence": 0.95, "word": 0.4}], note="held-out scenes")
    write_gate(tmp_path / "lm_gates.json", lm)
    assert collect_gates.main([str(tmp_path / "lm_gates.json"), "--metrics",
                               str(results / "metrics" / "gates.json"),
                               "--out", str(results / "gates.json")]) == 0
    metrics = json.loads((results / "metrics" / "gates.json").read_text())
    assert metrics == {"llm": {"existence": 0.95, "existence_target": 0.9, "existence_blind": 0.5,
                               "word": 0.4, "word_target": 0.8, "word_blind": 0.1}}
    out = results / "report" / "index.html"
    assert report.main(["--results", str(results), "--out", str(out)]) == 0
    page = out.read_text()
    assert page.find("<h2>Backbones") < page.find("findings on this run")
    fragment = section(page, "<h2>Backbones")
    assert "below target: word" in fragment and "learning curve" in fragment
    rows = {r["figure"]: r for r in records(fragment)}
    assert rows["word"]["meets target"] == "NO" and rows["existence"]["meets target"] == "yes"
    assert rows["word"]["blind"] == "0.1"
