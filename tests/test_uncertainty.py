"""Standard errors of a benchmark's headline score: binomial, per-image CIDEr, bootstrap."""

import math
from pathlib import Path

import numpy as np
import pytest

from vtscale.eval import uncertainty
from vtscale.eval.metrics import headline_metric
from vtscale.eval.metrics.caption import caption_scores, cider_per_image
from vtscale.eval.tsv import Benchmark, Row


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
