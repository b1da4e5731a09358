import json

import pandas as pd

from vtscale.analysis import fit, fusion, report


def fake_results(root):
    rows = [{"variant": v, "benchmark": b, "metric": "Overall", "n": n, "m": min(2, n),
             "score": base * n ** 0.05 + shift}
            for v, shift in [("question", 2.0), ("no_question_ft", 1.0), ("no_question", 0.0)]
            for b, base in [("DemoPOPE", 60.0), ("DemoMME", 900.0)] for n in (1, 2, 4)]
    rows += [{"variant": "question", "benchmark": "DemoPOPE", "metric": "answers/most_common_share",
              "n": n, "m": min(2, n), "score": share} for n, share in [(1, 100.0), (2, 97.5), (4, 61.25)]]
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(root / "scores.csv", index=False)
    fit.main([str(root / "scores.csv"), "--out", str(root / "fits.csv"),
              "--figure", str(root / "figures" / "scaling.png")])
    fusion.main([str(root / "scores.csv"), "--out-dir", str(root),
                 "--cfg", '{"analysis": {"kmeans_k": 2}}'])
    (root / "theory" / "smollm2").mkdir(parents=True)
    (root / "theory" / "smollm2" / "summary.json").write_text(json.dumps(
        {"pairs_used": 4, "max_n": 16, "lambda": 12.5, "lambda_fit": {"r2": 0.99},
         "psi_aa_gt_ab_on_average": True, "seconds": 3.0}))
    (root / "cost").mkdir()
    (root / "cost" / "cost.csv").write_text("profile,n,m,tflops,prefill_ms\npaper,1,1,5.2,\ndemo,1,1,0.001,12.5\n")
    (root / "train_metrics" / "stage3").mkdir(parents=True)
    (root / "train_metrics" / "stage2.csv").write_text("step,epoch,loss\n1,0,3.0\n2,0,2.5\n")
    (root / "train_metrics" / "stage3" / "question_n1_m1.csv").write_text("step,epoch,loss\n1,0,2.0\n")
    pd.DataFrame([{"benchmark": "DemoPOPE", "metric": "Overall", "rows": 450, "majority": 66.7,
                   "question_alone": 58.0, "se": 1.5},
                  {"benchmark": "DemoMME", "metric": "Overall", "rows": 200, "majority": 500.0,
                   "question_alone": 700.0, "se": 20.0}]).to_csv(root / "baselines.csv", index=False)
    (root / "benchmarks" / "divergence").mkdir(parents=True)
    (root / "benchmarks" / "divergence" / "smollm2.tsv").write_text(
        "s\th:m:s\tmax_rss\n95.5\t0:01:35\t812.3\n")


def test_report_renders_every_section(tmp_path):
    results = tmp_path / "results"
    fake_results(results)
    out = results / "report" / "index.html"
    assert report.main(["--results", str(results), "--out", str(out), "--reading", "DemoOCRVQA"]) == 0
    page = out.read_text()
    assert "The paper&#x27;s findings on this run" in page or "The paper's findings on this run" in page
    assert page.count("does not hold") + page.count("holds.") + page.count("undecided") == 4
    # POPE at n = 4: 60 * 4^0.05 + 2 = 65.2, below the majority's 66.7; MME 1005 > 700 + 3 * 20
    assert "above on 1 of 2 benchmarks at n = 4" in page
    baselines = page.split("Score against image-blind baselines")[1].split("<h2>")[0]
    assert "66.7" in baselines and "700" in baselines
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for text in ["DemoPOPE", "alpha", "12.5", "smollm2", "divergence/smollm2", "95.5", "stage3",
                 "Inference cost"]:
        assert text in page, text
    # scaling + 3 fusion figures + training curves are present; theory figures are not
    assert page.count("data:image/png;base64,") == 5
    assert "theory_psi.png: not available" in page
    answers = page.split("Do the answers depend on the image?")[1].split("<h2>")[0]
    assert "97.5" in answers and "61.2" in answers


def test_report_of_empty_folder_marks_everything_missing(tmp_path):
    out = tmp_path / "index.html"
    assert report.main(["--results", str(tmp_path), "--out", str(out)]) == 0
    page = out.read_text()
    assert "scores.csv: not available" in page and "benchmarks/*.tsv: not available" in page
    assert page.count("undecided") == 4 and "baselines.csv: not available" in page
