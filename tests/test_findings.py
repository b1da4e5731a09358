"""The report's check of the paper's three findings, on fits and deltas built by hand."""

from __future__ import annotations

import math

import pandas as pd

from vtscale.analysis.findings import check_all, image_use, reading_benchmarks

BENCHES = ["POPE", "MME", "MCQ", "OCR", "Caption"]


def fits(alphas: dict[str, float], r2: dict[str, float]) -> pd.DataFrame:
    rows = [{"variant": "question", "benchmark": b, "metric": "Overall", "alpha": a, "r2": r2[b]}
            for b, a in alphas.items()]
    rows.append({"variant": "question", "benchmark": "POPE", "metric": "recall", "alpha": -9.0,
                 "r2": 1.0})                                   # not the headline metric
    rows.append({"variant": "no_question", "benchmark": "OCR", "metric": "Overall", "alpha": -5.0,
                 "r2": 1.0})                                   # other variant
    return pd.DataFrame(rows)


def deltas(by_bench: dict[str, float]) -> pd.DataFrame:
    rows = [{"benchmark": b, "metric": "Overall", "n": n, "delta_ft": d if n == 1 else -d}
            for b, d in by_bench.items() for n in (1, 8)]
    return pd.DataFrame(rows)


def test_all_three_hold_on_a_paper_like_run():
    alphas = {"POPE": -0.02, "MME": -0.03, "MCQ": -0.01, "OCR": -0.2, "Caption": 0.01}
    r2 = {"POPE": 0.9, "MME": 0.85, "MCQ": 0.5, "OCR": 0.95, "Caption": 0.1}
    found = check_all(fits(alphas, r2), deltas({"POPE": 2, "MME": 5, "MCQ": 1, "OCR": -1,
                                                "Caption": 0.5}), ["OCR"])
    assert [f.holds for f in found] == [True, True, True]
    assert "α < 0 on 4 of 5 benchmarks, R² ≥ 0.8 on 3 of 5" in found[0].evidence
    assert "on 4 of 5 benchmarks" in found[2].evidence


def test_flat_chance_level_run_holds_nothing():
    alphas = {b: -1e-15 for b in BENCHES}
    r2 = {b: math.nan for b in BENCHES}
    found = check_all(fits(alphas, r2), deltas({b: 0.0 for b in BENCHES}), ["OCR"])
    assert [f.holds for f in found] == [False, False, False]
    assert "α < 0 on 0 of 5" in found[0].evidence


def test_steepest_must_be_a_reading_benchmark_with_a_real_fit():
    r2 = {b: 0.9 for b in BENCHES}
    steep_mcq = {"POPE": -0.02, "MME": -0.03, "MCQ": -0.5, "OCR": -0.2, "Caption": -0.01}
    assert not check_all(fits(steep_mcq, r2), None, ["OCR"])[1].holds
    noisy_ocr = {**steep_mcq, "MCQ": -0.01}
    assert check_all(fits(noisy_ocr, {**r2, "OCR": 0.1}), None, ["OCR"])[1].holds is False


def test_missing_inputs_are_undecided():
    assert [f.holds for f in check_all(None, None, [])] == [None, None, None]


def test_reading_benchmarks_come_from_dataset_types():
    assert reading_benchmarks({"A": "ocrvqa", "B": "pope", "C": "textvqa"}) == ["A", "C"]


def _scores_and_baselines(model: dict[str, float]):
    scores = pd.DataFrame([{"variant": v, "benchmark": b, "metric": "acc", "n": n,
                            "score": s if (v, n) == ("question", 16) else 0.0}
                           for b, s in model.items() for v in ("question", "no_question_ft")
                           for n in (1, 16)])
    baselines = pd.DataFrame([{"benchmark": b, "metric": "acc", "rows": 200, "majority": 50.0,
                               "question_alone": 60.0, "se": 3.0} for b in model])
    return scores, baselines


def test_image_use_needs_three_standard_errors_over_the_better_baseline():
    # better baseline 60 (question alone), se 3: more than 69 is needed
    scores, baselines = _scores_and_baselines({"A": 70.0, "B": 68.9, "C": 75.0})
    found = image_use(scores, baselines)
    assert found.holds is True and "above on 2 of 3 benchmarks at n = 16" in found.evidence
    assert "B 68.9 vs 60 (+3.0 SE)" in found.evidence
    scores, baselines = _scores_and_baselines({"A": 70.0, "B": 60.0, "C": 62.0})
    assert image_use(scores, baselines).holds is False
    assert image_use(None, baselines).holds is None
