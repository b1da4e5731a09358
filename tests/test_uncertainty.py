"""Standard errors of a benchmark's headline score: binomial, per-image CIDEr, bootstrap."""

import math
from pathlib import Path

import numpy as np
import pytest

from vtscale.eval import uncertainty
from vtscale.eval.metrics import headline_metric
from vtscale.eval.metrics.caption import caption_scores, cider_per_image
from vtscale.eval.rules import LATEST, RULE_SETS
from vtscale.eval.scoring import score
from vtscale.eval.benchmark import Benchmark, Row


def bench(type_: str, answers: list, share_images: bool = True) -> Benchmark:
    rows = [Row(index=str(i), image_b64="", question="q?", answers=a if isinstance(a, list) else [a],
                image_key=f"img{i // 2 if share_images else i}") for i, a in enumerate(answers)]
    return Benchmark("B", type_, Path("B.tsv"), rows, [])


def test_headline_metric_prefers_the_reported_one():
    assert headline_metric(["Bleu_1", "CIDEr", "ROUGE_L"]) == "CIDEr"
    assert headline_metric(["acc", "Overall"]) == "Overall"
    assert headline_metric(["custom", "other"]) == "custom"


def test_binomial_standard_error_for_accuracy_scores():
    b = bench("ocrvqa", ["cat"] * 100)
    se = uncertainty.standard_error(b, ["cat"] * 80 + ["dog"] * 20)
    assert se == pytest.approx(100 * math.sqrt(0.8 * 0.2 / 100))


def test_bootstrap_standard_error_for_other_scores():
    b = bench("pope", ["Yes", "No"] * 50)
    perfect = uncertainty.standard_error(b, ["Yes", "No"] * 50)
    noisy = uncertainty.standard_error(b, ["Yes", "Yes", "No", "No"] * 25)
    assert perfect == pytest.approx(0.0, abs=1e-9) and 2.0 < noisy < 15.0


def test_caption_standard_error_is_that_of_the_mean_per_image_cider():
    refs = [["a red circle left of a blue square", "a red circle and a blue square"],
            ["two green stars", "a pair of green stars"],
            ["a yellow triangle", "one yellow triangle"],
            ["the word cat in black", "black text reading cat"]] * 3
    preds = ["a red circle and a blue square", "green stars", "a blue circle", "the word cat"] * 3
    b = bench("caption", refs, share_images=False)
    per_image = 100 * np.array(cider_per_image(b.rows, preds))
    assert per_image.mean() == pytest.approx(caption_scores(b.rows, preds)["CIDEr"])
    se = uncertainty.standard_error(b, preds)
    assert se == pytest.approx(per_image.std(ddof=1) / math.sqrt(len(per_image))) and se > 0


def test_empty_benchmark_has_no_standard_error():
    assert math.isnan(uncertainty.standard_error(bench("pope", []), []))


CATEGORIES = {"pope": ["random", "popular", "adversarial", "random,popular", None],
              "mme": ["existence", "count", "color", "OCR", "code_reasoning"],
              "hallusionbench": ["VD", "VS", None, "VD", "VS"]}


def yes_no_bench(type_: str, rows: int, seed: int = 0) -> tuple[Benchmark, list[str]]:
    """Rows on shared images (HallusionBench: in sets of figures and questions), POPE rows
    in one or several comma-separated categories, and varied predictions (yes, no, neither)."""
    rng = np.random.default_rng(seed)
    answers = ["Yes, there is.", "No.", "yes", "I cannot tell", "no no", "Yes and no"]
    rows_ = [Row(index=str(i), image_b64="", question="Is there a cat?",
                 answers=[str(rng.choice(["Yes", "No"]))], category=CATEGORIES[type_][rng.integers(5)],
                 image_key=f"img{rng.integers(max(rows // 3, 1))}") for i in range(rows)]
    if type_ == "hallusionbench":
        for i, row in enumerate(rows_):
            row.extra.update(set_id=f"s{i // 6}", figure_id=str(i % 2), question_id=str(i % 3))
    preds = [answers[k] for k in rng.integers(len(answers), size=rows)]
    return Benchmark("B", type_, Path("B.tsv"), rows_, []), preds


def rescored_standard_error(b: Benchmark, preds: list[str], seed: int, rules: str) -> float:
    """The bootstrap as it was before per-row hits: every draw's rows relabelled and
    scored again by the benchmark's scorer."""
    clusters = {}
    for i, row in enumerate(b.rows):
        clusters.setdefault(row.extra.get("set_id") or row.image_key or row.index, []).append(i)
    groups = list(clusters.values())
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(uncertainty.BOOTSTRAP_DRAWS):
        picked = [(copy, i) for copy, g in enumerate(rng.integers(len(groups), size=len(groups)))
                  for i in groups[g]]
        rows = [uncertainty._relabel(b.rows[i], copy) for copy, i in picked]
        draws.append(score(b.type, rows, [preds[i] for _, i in picked], rules)["Overall"])
    return float(np.nanstd(draws, ddof=1))


@pytest.mark.parametrize("rules", RULE_SETS)
@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("type_", ["pope", "mme", "hallusionbench"])
def test_bootstrap_from_answers_read_once_equals_rescoring_each_draw(type_, rules, seed):
    """The standard error from answers read once (POPE: from per-cluster counts) is exactly
    the one of rescoring each resampled benchmark with its scorer, as it was computed before."""
    b, preds = yes_no_bench(type_, 90, seed)
    expected = rescored_standard_error(b, preds, seed, rules)
    assert uncertainty.standard_error(b, preds, seed=seed, rules=rules) == expected
    assert expected > 0


@pytest.mark.parametrize("type_", ["pope", "mme", "hallusionbench"])
def test_bootstrap_reads_each_answer_once(type_, monkeypatch):
    from vtscale.eval.metrics import yorn

    calls = []
    original = yorn.extract_yes_no
    monkeypatch.setattr(yorn, "extract_yes_no", lambda p, rules=LATEST: calls.append(p) or original(p, rules))
    b, preds = yes_no_bench(type_, 60)
    uncertainty._bootstrap(b, preds, 0, LATEST, "Overall")
    assert len(calls) <= len(b.rows)
